#!/usr/bin/env python3
"""The two commands of README.md, needing nothing but Python 3.11.

    python3 dev.py run     set up, load the demo city, start web + Celery worker + beat
    python3 dev.py test    set up and run the whole test suite (extra args go to pytest)

Both create ./.venv and install the pinned requirements on first use (again only when a
requirements file changes). Environment variables (DATABASE_URL, CELERY_BROKER_URL, ...)
are passed through, so the same commands run against PostgreSQL and Redis.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("XLX_VENV", ROOT / ".venv"))
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"

DEMO_LOGINS = [
    ("operator", "operator / 坐席"),
    ("dispatcher", "dispatcher / 分办员"),
    ("dept_staff", "department staff / 承办人 (市住建局)"),
    ("dept_leader", "department leader / 部门负责人 (市住建局)"),
    ("city_leader", "city leader / 市领导"),
    ("visitor", "return-visit agent / 回访员"),
    ("inspector", "inspector / 督查"),
    ("sysadmin", "system admin / 系统管理员"),
    ("secadmin", "security admin / 安全管理员"),
    ("auditadmin", "audit admin / 审计管理员"),
]
DEMO_PASSWORD = "Demo@12345"
# Logins whose role needs a second factor (apps.organization.second_factor); the demo loader
# gives them a TOTP device with one published key (README).
DEMO_SECOND_FACTOR = ["dept_leader", "city_leader", "inspector", "sysadmin", "auditadmin"]
DEMO_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
# What `run` loads after migrating (tests/conftest.py's demo_city loads the same).
DEMO_SETUP = [
    ("import_holidays",),
    ("load_demo_city", "--password", DEMO_PASSWORD),
    ("load_catalog",),
    ("load_demo_appeals",),
]


def sh(*args, **kwargs) -> None:
    subprocess.run([str(a) for a in args], cwd=ROOT, check=True, **kwargs)


def ensure_venv(requirements: str) -> None:
    if not PY.exists():
        print(f"Creating virtual environment in {VENV} ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    files = [ROOT / "requirements.txt", ROOT / requirements]
    digest = hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()
    stamp = VENV / f".installed-{requirements}"
    if stamp.exists() and stamp.read_text() == digest:
        return
    print(f"Installing {requirements} ...", flush=True)
    sh(PY, "-m", "pip", "install", "--disable-pip-version-check", "-q", "-r", ROOT / requirements)
    stamp.write_text(digest)


def manage(*args) -> None:
    sh(PY, "manage.py", *args)


def run() -> int:
    ensure_venv("requirements.txt")
    # As in production: DEBUG off, so a missing page or an error shows the product's own
    # page (not Django's technical one), and WhiteNoise serves the collected static files.
    # DEBUG=1 python3 dev.py run brings Django's technical pages back.
    os.environ.setdefault("DEBUG", "0")
    (ROOT / "var").mkdir(exist_ok=True)
    manage("migrate", "--no-input")
    manage("collectstatic", "--no-input", "--verbosity", "0")
    for command in DEMO_SETUP:
        manage(*command)
    host = os.environ.get("XLX_HOST", "127.0.0.1")
    port = os.environ.get("XLX_PORT", "8000")
    procs = [
        subprocess.Popen([str(PY), "manage.py", "runserver", f"{host}:{port}", "--noreload"], cwd=ROOT),
        subprocess.Popen(
            [
                str(BIN / "celery"),
                "-A",
                "backoffice",
                "worker",
                "-B",
                "--loglevel=INFO",
                "--concurrency=2",
                "--schedule",
                str(ROOT / "var" / "celerybeat-schedule"),
            ],
            cwd=ROOT,
        ),
    ]
    time.sleep(3)
    print("\n" + "=" * 72)
    print(f"  心连心 back office: http://{host}:{port}/admin/")
    print(f"  Demo logins (password for all: {DEMO_PASSWORD}):")
    for username, role in DEMO_LOGINS:
        print(f"    {username:<12} {role}{'  (+ code)' if username in DEMO_SECOND_FACTOR else ''}")
    print("  (+ code): after the password, a TOTP code. Current code:")
    print(f"    {PY} manage.py demo_totp <username>")
    print(f"  or add the demo key {DEMO_TOTP_SECRET} to an authenticator app.")
    print("  Web, Celery worker and beat are running. Ctrl-C stops them all.")
    print("=" * 72 + "\n", flush=True)

    def stop(*_):
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()

    signal.signal(signal.SIGTERM, lambda *a: (stop(), sys.exit(0)))
    try:
        while all(p.poll() is None for p in procs):
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    stop()
    return 0


def test(args: list[str]) -> int:
    ensure_venv("requirements-dev.txt")
    # Two processes by default (the machines have two cores; the browser walks and the
    # crawl are long): pass -n 0 (or -n 4) to choose.
    parallel = [] if any(a == "-n" or a.startswith(("-n", "--numprocesses")) for a in args) else ["-n", "2"]
    return subprocess.run([str(PY), "-m", "pytest", *parallel, *args], cwd=ROOT).returncode


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in {"run", "test"}:
        print(__doc__)
        return 2
    if sys.argv[1] == "run":
        return run()
    return test(sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
