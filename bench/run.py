#!/usr/bin/env python
"""The benchmark suite: one command, against the configured database (PostgreSQL with a
generated city, see docs/performance.md). Prints a table and writes JSON.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/xlx_bench .venv/bin/python bench/run.py
    .venv/bin/python bench/run.py --smoke        # tiny run: the tools still work (CI)

Options: --repeat N (page samples, default 30), --intake N (default 300), --json PATH,
--helpdesk (also run bench/helpdesk/measure.py and print the ratios), --no-memory,
--pages-only (the pages people wait for, no periodic jobs or intake: a few minutes).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bench.measures import Figure

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")
os.environ.setdefault("DEBUG", "0")  # no query log in memory, as in production
os.environ.setdefault("OUTBOX_PUBLISH_ON_COMMIT", "0")  # the relay would publish to a broker


def machine() -> dict:
    import django

    info = {
        "python": platform.python_version(),
        "django": django.get_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
    }
    try:
        meminfo = Path("/proc/meminfo").read_text().split("\n")[0]
        info["memory"] = meminfo.split(":")[1].strip()
    except OSError:
        pass
    from django.db import connection

    info["database"] = connection.vendor
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            info["postgresql"] = cursor.fetchone()[0]
    from apps.appeals.models import Appeal
    from apps.organization.models import Department, User
    from apps.tasks.models import Task

    info["city"] = {
        "appeals": Appeal.objects.count(),
        "work_orders": Task.objects.count(),
        "departments": Department.objects.count(),
        "staff": User.objects.count(),
    }
    return info


def memory_after_requests(people, requests: int) -> Figure:
    """RSS of one gunicorn worker after `requests` admin page views (urllib, logged in)."""
    import http.cookiejar
    import re
    import socket
    import urllib.parse
    import urllib.request

    from bench.measures import Figure

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "DEBUG": "0"}
    gunicorn = Path(sys.executable).parent / "gunicorn"
    proc = subprocess.Popen(
        [str(gunicorn), "backoffice.wsgi", "-w", "1", "-b", f"127.0.0.1:{port}", "--log-level", "warning"],
        cwd=ROOT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/admin/login/", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        user = people["dept_staff"]
        from django.db import transaction

        from apps.organization.services import staff_set_password

        password = "Bench#2026memory"
        with transaction.atomic():
            staff_set_password(actor=people["system"], user=user, password=password, reason="benchmark login")
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        login_page = opener.open(f"{base}/admin/login/").read().decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login_page).group(1)
        data = urllib.parse.urlencode(
            {"csrfmiddlewaretoken": token, "username": user.username, "password": password, "next": "/admin/"}
        ).encode()
        opener.open(
            urllib.request.Request(f"{base}/admin/login/", data=data, headers={"Referer": f"{base}/admin/login/"})
        )
        task = people["task"]
        urls = [
            "/admin/",
            "/admin/tasks/task/",
            f"/admin/tasks/task/{task.pk}/change/",
            "/admin/tasks/task/?status__exact=in_progress",
            f"/admin/tasks/task/{task.pk}/history/",
        ]
        for i in range(requests):
            opener.open(base + urls[i % len(urls)]).read()
        worker = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
        pid = worker[0] if worker else str(proc.pid)
        rss_kb = next(
            int(line.split()[1])
            for line in Path(f"/proc/{pid}/status").read_text().splitlines()
            if line.startswith("VmRSS")
        )
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    return Figure(
        "7 memory of one web process after requests",
        value=round(rss_kb / 1024, 1),
        unit="MB",
        target="≤ 250 MB",
        samples=requests,
        note="gunicorn, 1 sync worker, department staff pages",
    )


def helpdesk_figures(saved: str | None = None) -> dict | None:
    """django-helpdesk's figures: from a saved measure.py JSON, or by running it now."""
    if saved:
        return json.loads(Path(saved).read_text())
    venv_python = ROOT / "bench" / ".venv-helpdesk" / "bin" / "python"
    script = ROOT / "bench" / "helpdesk" / "measure.py"
    if not venv_python.exists() or not script.exists():
        print("django-helpdesk not set up (bench/helpdesk/setup.sh): skipping the side-by-side run.")
        return None
    # Its own settings module, not ours (this process set DJANGO_SETTINGS_MODULE).
    env = {k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE", "DATABASE_URL"}}
    out = subprocess.run([str(venv_python), str(script)], capture_output=True, text=True, cwd=script.parent, env=env)
    if out.returncode != 0:
        print(out.stderr[-2000:])
        return None
    return json.loads(out.stdout)  # measure.py prints one (indented) JSON document


def print_table(figures) -> None:
    print(f"\n{'measure':<58} {'median':>9} {'p95':>9} {'queries':>8}  {'other':>16}  target")
    print("-" * 120)
    for f in figures:
        other = ""
        if f.rate_per_s is not None:
            other = f"{f.rate_per_s} {f.unit}"
        elif f.value is not None:
            other = f"{f.value} {f.unit}"
        med = f"{f.median_ms}" if f.median_ms is not None else ""
        p95 = f"{f.p95_ms}" if f.p95_ms is not None else ""
        q = f"{f.queries}" if f.queries is not None else ""
        print(f"{f.name:<58} {med:>9} {p95:>9} {q:>8}  {other:>16}  {f.target}")
        if f.note:
            print(f"{'':<60}{f.note}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--intake", type=int, default=300)
    parser.add_argument("--memory-requests", type=int, default=1000)
    parser.add_argument("--json", default=None)
    parser.add_argument("--helpdesk", action="store_true", help="run bench/helpdesk/measure.py (about 5 minutes)")
    parser.add_argument("--helpdesk-json", default=None, help="use a saved bench/helpdesk/measure.py result")
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--smoke", action="store_true", help="few samples, no memory run (CI)")
    parser.add_argument(
        "--pages-only",
        action="store_true",
        help="only the pages people wait for (lists, work-order and appeal pages, searches), no jobs",
    )
    args = parser.parse_args(argv)
    if args.smoke:
        args.repeat, args.intake, args.no_memory = 3, 10, True

    import django

    django.setup()
    from bench import measures

    with measures.keep_query_log():
        return _run(args, measures)


def _run(args, measures) -> int:

    info = machine()
    print(f"Benchmark on {info['database']} {info.get('postgresql', '')}, city: {info['city']}")
    people = measures.pick_people()
    figures = []
    figures += measures.department_list(people, args.repeat)
    floor = measures.department_list_floor(people, args.repeat)
    figures.append(floor)
    figures += measures.dispatcher_lists(people, args.repeat)
    figures += measures.task_pages(people, args.repeat)
    figures += measures.searches(people, args.repeat)
    if args.pages_only:
        return _report(args, info, figures, floor)
    figures.append(measures.visit_queue(people, args.repeat))
    figures += measures.history_queries(people, args.repeat)
    figures += measures.oversight_pages(people, args.repeat)
    figures += measures.periodic_jobs(people)
    figures += measures.privacy_jobs(people)
    figures.append(measures.intake(people, args.intake))
    figures.append(measures.sla_sweep(people, 0.01))
    figures.append(measures.sla_sweep(people, 0.10))
    if not args.no_memory:
        figures.append(memory_after_requests(people, args.memory_requests))
    return _report(args, info, figures, floor)


def _report(args, info, figures, floor) -> int:
    ratios = {"department list ÷ raw-SQL floor (p95)": round(figures[0].p95_ms / max(floor.p95_ms, 0.01), 1)}
    empty = next((f for f in figures if f.name.startswith("1d")), None)
    if empty is not None:
        rows_cost = max(figures[0].median_ms - empty.median_ms, 0.0)
        ratios["department list's rows (1a − 1d, median) ÷ raw-SQL floor (median)"] = round(
            rows_cost / max(floor.median_ms, 0.01), 1
        )
    wanted = (args.helpdesk or args.helpdesk_json) and not args.pages_only
    helpdesk = helpdesk_figures(args.helpdesk_json) if wanted else None
    if helpdesk:
        measured = helpdesk["measurements"]
        # helpdesk's list is a page plus its JSON rows: both, as a user waits for both.
        hd_list = measured["queue_list_total"]
        hd_create = measured["ticket_create"]["tickets_per_second"]
        intake = next(f for f in figures if f.name.startswith("5 "))
        ratios["helpdesk queue list ÷ our department list (median)"] = round(
            hd_list["median_ms"] / figures[0].median_ms, 1
        )
        ratios["helpdesk queue list ÷ our department list (p95)"] = round(hd_list["p95_ms"] / figures[0].p95_ms, 1)
        ratios["our intake ÷ helpdesk ticket creation (rate)"] = round(intake.rate_per_s / hd_create, 1)
    print_table(figures)
    print("\nRatios:")
    for name, value in ratios.items():
        print(f"  {name}: {value}×")

    result = {
        "machine": info,
        "figures": [f.as_dict() for f in figures],
        "ratios": ratios,
        "helpdesk": helpdesk,
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    path = Path(args.json) if args.json else ROOT / "bench" / "results" / f"bench-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, ensure_ascii=False, indent=2, default=str))
    print(f"\nJSON: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
