#!/usr/bin/env python
"""Measure django-helpdesk 2.6.1 on the loaded database; print ONE JSON object.

Run with bench/.venv-helpdesk/bin/python after load.py. Uses Django's test Client
in-process against the real (loaded) PostgreSQL database named by
HELPDESK_DATABASE_URL -- no test runner, no test database. Progress goes to stderr.

Measurements (a logged-in staff user, is_staff, not superuser):

* queue_list       -- the staff ticket list page filtered to one queue's open
                      tickets: GET /tickets/?queue=<id>&status=1&status=2 (view
                      helpdesk.views.staff.ticket_list). This is the HTML shell: it
                      holds the filters and the mass-update "assign to" dropdown with
                      every active user (30,000 <option>s) and one checkbox per
                      user in the owner filter, and every queue in the queue filter.
                      The rows are NOT in it.
* queue_list_data  -- the DataTables JSON endpoint that page calls for its rows:
                      GET /datatables_ticket_list/<base64 query>?draw=1&start=0&length=25
                      (view staff.datatables_ticket_list; the base64 query is taken from
                      the page itself). First page, helpdesk's default order.
* queue_list_total -- page + JSON endpoint for the same sample, i.e. what one staff
                      member waits for server-side before seeing the rows.
* queue_list_data_all_statuses -- the JSON endpoint for ?queue=<id> with no status
                      filter (all tickets of the queue, ~95 % closed).
* ticket_create    -- POST /tickets/submit/ (staff CreateTicketView with TicketForm:
                      builds the form, incl. its owner choices from every user, saves
                      the ticket, its follow-up, renders and "sends" the notification
                      mails to the locmem backend) -> 302; tickets per second over
                      --creates creations in one process.
* ticket_create_form_save -- the same through TicketForm(...).is_valid()/.save(user)
                      directly (no request/response), for reference.
* ticket_create_form_page -- GET /tickets/submit/, the form a staff member opens
                      first (queue and owner <select>s), for reference.

Each timing: --warmup untimed calls, one untimed call under CaptureQueriesContext
to count SQL queries, then --repeat timed calls; median and p95 (nearest rank).
Tickets created by the run are deleted at the end unless --keep-created.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hdproject.settings")
os.environ.setdefault("HELPDESK_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/xlx_helpdesk")


def log(msg: str) -> None:
    print(f"[measure +{time.perf_counter() - T0:6.1f}s] {msg}", file=sys.stderr, flush=True)


T0 = time.perf_counter()


def p95(samples: list[float]) -> float:
    s = sorted(samples)
    return s[max(0, math.ceil(0.95 * len(s)) - 1)]


def summarize(samples_s: list[float], queries: int, cpu_s: list[float] | None = None, **extra) -> dict:
    ms = [x * 1000 for x in samples_s]
    out = {
        "median_ms": round(statistics.median(ms), 1),
        "p95_ms": round(p95(ms), 1),
        "min_ms": round(min(ms), 1),
        "max_ms": round(max(ms), 1),
        "n": len(ms),
        "queries": queries,
    }
    if cpu_s:
        # CPU time of this (Django) process only, PostgreSQL's excluded: a figure
        # that other load on the machine inflates much less than wall time.
        out["python_cpu_median_ms"] = round(statistics.median(cpu_s) * 1000, 1)
    out.update(extra)
    return out


def timed(fn, *, warmup: int, repeat: int, label: str):
    """Warm up, count queries once, then time `repeat` calls. fn() returns a response
    (or anything); the last one is returned."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(warmup):
        fn()
    with CaptureQueriesContext(connection) as ctx:
        result = fn()
    queries = len(ctx.captured_queries)
    samples, cpu = [], []
    for _i in range(repeat):
        c = time.process_time()
        t = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    log(
        f"{label}: median {statistics.median(samples) * 1000:.1f} ms, "
        f"p95 {p95(samples) * 1000:.1f} ms, {queries} queries "
        f"(python cpu median {statistics.median(cpu) * 1000:.1f} ms)"
    )
    return samples, queries, result, cpu


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=20, help="timed calls per page measurement")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--creates", type=int, default=50, help="tickets created per create measurement")
    ap.add_argument(
        "--queue", default="median", help="queue to list: 'median' (median ticket count, default), 'largest', or an id"
    )
    ap.add_argument("--user", default=None, help="username to log in as (default: the first staff user)")
    ap.add_argument("--keep-created", action="store_true", help="keep the tickets the run creates")
    ap.add_argument("--skip-create", action="store_true")
    args = ap.parse_args()

    import django

    django.setup()
    from importlib.metadata import version as pkg_version

    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.urls import reverse
    from helpdesk.forms import TicketForm
    from helpdesk.models import FollowUp, Queue, Ticket
    from helpdesk.views.staff import get_user_queues

    User = get_user_model()
    db = settings.DATABASES["default"]

    with connection.cursor() as cur:
        cur.execute("SHOW server_version")
        pg_version = cur.fetchone()[0]
        cur.execute("SELECT count(*) FROM helpdesk_ticket")
        n_tickets = cur.fetchone()[0]
        cur.execute("SELECT count(*) FROM helpdesk_followup")
        n_followups = cur.fetchone()[0]
        cur.execute(
            "SELECT queue_id, count(*) AS n, count(*) FILTER (WHERE status IN (1, 2))"
            " FROM helpdesk_ticket GROUP BY queue_id ORDER BY n, queue_id"
        )
        per_queue = cur.fetchall()
    n_queues = Queue.objects.count()
    n_users = User.objects.count()
    n_active = User.objects.filter(is_active=True).count()
    if not per_queue:
        log("no tickets loaded: run load.py first")
        return 2

    if args.queue == "median":
        qrow = per_queue[len(per_queue) // 2]
    elif args.queue == "largest":
        qrow = per_queue[-1]
    else:
        qrow = next((r for r in per_queue if r[0] == int(args.queue)), None)
        if qrow is None:
            log(f"queue {args.queue} has no tickets")
            return 2
    queue_id, queue_tickets, queue_open = qrow
    queue = Queue.objects.get(pk=queue_id)

    user = (
        User.objects.get(username=args.user)
        if args.user
        else User.objects.filter(is_staff=True, is_superuser=False, is_active=True).order_by("id").first()
    )
    log(
        f"db {db['NAME']}: {n_queues:,} queues, {n_users:,} users, {n_tickets:,} tickets, "
        f"{n_followups:,} follow-ups; queue {queue_id} has {queue_tickets:,} tickets "
        f"({queue_open:,} open); user {user.username}"
    )

    client = Client()
    client.force_login(user)

    result: dict = {
        "system": "django-helpdesk",
        "versions": {
            "python": platform.python_version(),
            "django": django.get_version(),
            "helpdesk": pkg_version("django-helpdesk"),
            "djangorestframework": pkg_version("djangorestframework"),
            "psycopg": pkg_version("psycopg"),
            "postgresql": pg_version,
        },
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "processor": _cpu_model(),
            "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
        },
        "database": db["NAME"],
        "data": {
            "queues": n_queues,
            "users": n_users,
            "active_users": n_active,
            "tickets": n_tickets,
            "followups": n_followups,
            "list_queue": {
                "id": queue_id,
                "title": queue.title,
                "pick": args.queue,
                "tickets": queue_tickets,
                "open_tickets": queue_open,
            },
        },
        "settings": {
            "warmup": args.warmup,
            "repeat": args.repeat,
            "creates": args.creates,
            "debug": settings.DEBUG,
            "client": "django.test.Client in-process",
            "p95": "nearest rank",
        },
        "measurements": {},
    }
    M = result["measurements"]

    # ---------------------------------------------------------------- queue list page
    page_url = f"{reverse('helpdesk:list')}?queue={queue_id}&status=1&status=2"

    def get_page():
        r = client.get(page_url)
        assert r.status_code == 200, (r.status_code, page_url)
        return r

    samples_page, q_page, resp, cpu_page = timed(
        get_page, warmup=args.warmup, repeat=args.repeat, label="queue_list page"
    )
    html = resp.content.decode()
    m = re.search(r"datatables_ticket_list/([A-Za-z0-9+/=]*)", html)
    assert m, "datatables URL not found in the ticket list page"
    b64 = m.group(1)
    M["queue_list"] = summarize(
        samples_page,
        q_page,
        cpu_page,
        url=page_url,
        view="helpdesk.views.staff.ticket_list",
        what=(
            "HTML shell of the staff ticket list (filters, mass-update assign dropdown); "
            "rows come from queue_list_data"
        ),
        bytes=len(resp.content),
        assign_options=html.count("value='assign_"),
        owner_filter_checkboxes=html.count('name="assigned_to"'),
        queue_filter_checkboxes=html.count('name="queue"'),
    )

    # ---------------------------------------------------------------- JSON endpoint
    def data_getter(b64query: str):
        url = reverse("helpdesk:datatables_ticket_list", args=[b64query])
        params = {"draw": "1", "start": "0", "length": "25", "search[value]": "", "search[regex]": "false"}

        def get_data():
            r = client.get(url, params)
            assert r.status_code == 200, (r.status_code, url)
            return r

        return url, get_data

    data_url, get_data = data_getter(b64)
    samples_data, q_data, resp, cpu_data = timed(
        get_data, warmup=args.warmup, repeat=args.repeat, label="queue_list_data (JSON)"
    )
    payload = resp.json()
    M["queue_list_data"] = summarize(
        samples_data,
        q_data,
        cpu_data,
        url=data_url + "?draw=1&start=0&length=25&search[value]=",
        view="helpdesk.views.staff.datatables_ticket_list",
        what="DataTables JSON rows for the page above (first 25, helpdesk default order)",
        bytes=len(resp.content),
        rows=len(payload["data"]),
        records_filtered=payload["recordsFiltered"],
        records_total=payload["recordsTotal"],
    )
    assert payload["recordsFiltered"] == queue_open, (payload["recordsFiltered"], queue_open)

    total = [a + b for a, b in zip(samples_page, samples_data, strict=False)]
    M["queue_list_total"] = summarize(
        total,
        q_page + q_data,
        [a + b for a, b in zip(cpu_page, cpu_data, strict=False)],
        what="queue_list + queue_list_data, sample by sample (server time before the rows are visible)",
    )

    # all statuses of the queue
    r = client.get(f"{reverse('helpdesk:list')}?queue={queue_id}")
    m = re.search(r"datatables_ticket_list/([A-Za-z0-9+/=]*)", r.content.decode())
    all_url, get_all = data_getter(m.group(1))
    samples_all, q_all, resp, cpu_all = timed(
        get_all, warmup=args.warmup, repeat=args.repeat, label="queue_list_data_all_statuses (JSON)"
    )
    payload = resp.json()
    M["queue_list_data_all_statuses"] = summarize(
        samples_all,
        q_all,
        cpu_all,
        url=all_url + "?draw=1&start=0&length=25&search[value]=",
        view="helpdesk.views.staff.datatables_ticket_list",
        what="JSON rows for ?queue=<id> without a status filter (all of the queue's tickets)",
        rows=len(payload["data"]),
        records_filtered=payload["recordsFiltered"],
    )

    # ---------------------------------------------------------------- ticket creation
    if not args.skip_create:
        max_id_before = Ticket.objects.order_by("-id").values_list("id", flat=True).first() or 0
        max_fu_before = FollowUp.objects.order_by("-id").values_list("id", flat=True).first() or 0
        assignees = list(
            User.objects.filter(is_staff=True, is_active=True).order_by("id").values_list("id", flat=True)[:997]
        )
        submit_url = reverse("helpdesk:submit")
        counter = {"i": 0}

        def form_data():
            counter["i"] += 1
            i = counter["i"]
            return {
                "queue": str(queue_id),
                "title": f"高新区肖家河街道幸福家园噪音扰民（基准测试 {i}）",
                "body": (
                    "市民来电反映：高新区肖家河街道幸福家园3栋附近夜间施工噪音很大，"
                    "严重影响居民休息，希望相关部门尽快处理。诉求人要求尽快处理并回复。"
                ),
                "priority": "3",
                "due_date": "",
                "submitter_email": f"1380000{i:04d}@citizen.example.cn",
                "assigned_to": str(assignees[i % len(assignees)]),
            }

        def post_create():
            r = client.post(submit_url, form_data())
            assert r.status_code == 302, (r.status_code, r.content[:2000])
            return r

        samples_c, q_c, _, cpu_c = timed(
            post_create, warmup=args.warmup, repeat=args.creates, label="ticket_create (POST /tickets/submit/)"
        )
        M["ticket_create"] = summarize(
            samples_c,
            q_c,
            cpu_c,
            url=submit_url,
            view="helpdesk.views.staff.CreateTicketView (TicketForm)",
            what="staff creates one ticket through the submit view; 302 to the new ticket",
            tickets_per_second=round(len(samples_c) / sum(samples_c), 2),
            mails_per_ticket=_mails_sent_per_call(post_create),
        )

        queue_choices = get_user_queues(user)

        def form_save():
            form = TicketForm(data=form_data(), queue_choices=queue_choices)
            assert form.is_valid(), form.errors
            return form.save(user=user)

        samples_f, q_f, _, cpu_f = timed(
            form_save, warmup=args.warmup, repeat=args.creates, label="ticket_create_form_save (TicketForm.save)"
        )
        M["ticket_create_form_save"] = summarize(
            samples_f,
            q_f,
            cpu_f,
            what="TicketForm(data).is_valid() + save(user) directly, no request",
            tickets_per_second=round(len(samples_f) / sum(samples_f), 2),
            note=(
                "queue choices built once outside the loop; "
                "owner choices (every user) built per form, as the form does"
            ),
        )

        def get_form():
            r = client.get(submit_url)
            assert r.status_code == 200, r.status_code
            return r

        samples_g, q_g, resp, cpu_g = timed(
            get_form, warmup=1, repeat=max(5, args.repeat // 2), label="ticket_create_form_page (GET /tickets/submit/)"
        )
        M["ticket_create_form_page"] = summarize(
            samples_g,
            q_g,
            cpu_g,
            url=submit_url,
            what="the empty create form a staff member opens",
            bytes=len(resp.content),
        )

        created = Ticket.objects.filter(id__gt=max_id_before).count()
        result["created_tickets"] = created
        if not args.keep_created:
            with connection.cursor() as cur:
                # what the run wrote: follow-ups (+ their ticket changes), CC rows, tickets
                cur.execute("DELETE FROM helpdesk_ticketchange WHERE followup_id > %s", [max_fu_before])
                cur.execute("DELETE FROM helpdesk_followup WHERE id > %s", [max_fu_before])
                cur.execute("DELETE FROM helpdesk_ticketcc WHERE ticket_id > %s", [max_id_before])
                cur.execute("DELETE FROM helpdesk_ticketcustomfieldvalue WHERE ticket_id > %s", [max_id_before])
                cur.execute("DELETE FROM helpdesk_ticket WHERE id > %s", [max_id_before])
            log(f"deleted the {created} tickets this run created")
        result["created_tickets_deleted"] = not args.keep_created

    # sessions created by force_login: leave the table as found
    client.logout()
    result["machine"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    result["elapsed_s"] = round(time.perf_counter() - T0, 1)
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


def _mails_sent_per_call(fn) -> int:
    from django.core import mail

    before = len(getattr(mail, "outbox", []))
    fn()
    return len(getattr(mail, "outbox", [])) - before


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


if __name__ == "__main__":
    sys.exit(main())
