"""What the benchmark measures. Each function returns a Figure; run.py prints and saves them.

Everything runs in this process against the configured database (the generated city),
through the same code paths users hit: Django's test Client for pages (full middleware,
admin, templates), the services for intake and the sweep.
"""

from __future__ import annotations

import contextlib
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext


@dataclass
class Figure:
    name: str
    median_ms: float | None = None
    p95_ms: float | None = None
    queries: int | None = None
    rate_per_s: float | None = None
    value: float | None = None
    unit: str = "ms"
    target: str = ""
    note: str = ""
    samples: int = 0
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


@contextlib.contextmanager
def keep_query_log():
    """Django empties the query log at the start of every request; keep it, so a page's
    query count can be read around a request."""
    from django.core.signals import request_started
    from django.db import reset_queries

    request_started.disconnect(reset_queries)
    try:
        yield
    finally:
        request_started.connect(reset_queries)


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def timed(
    name: str, fn: Callable[[], object], *, repeat: int, warmup: int = 2, target: str = "", note: str = ""
) -> Figure:
    for _ in range(warmup):
        fn()
    with CaptureQueriesContext(connection) as ctx:
        fn()
    queries = len(ctx.captured_queries)  # read now: later requests may reset the log
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return Figure(
        name,
        median_ms=round(statistics.median(samples), 2),
        p95_ms=round(_p95(samples), 2),
        queries=queries,
        target=target,
        note=note,
        samples=repeat,
    )


def page(client: Client, url: str, params: dict | None = None) -> Callable[[], object]:
    def get():
        response = client.get(url, params or {})
        if response.status_code != 200:
            raise AssertionError(f"GET {url} {params} → {response.status_code}")
        return response

    return get


def logged_in(user) -> Client:
    """A client signed in as `user`, past the second factor where the role needs one (as
    the person is after the code page: the session names their confirmed TOTP device)."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from apps.organization.second_factor import requires_second_factor

    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(user)
    if requires_second_factor(user):
        device, _ = TOTPDevice.objects.get_or_create(user=user, name="bench", defaults={"confirmed": True})
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    return client


# --- The people the pages are measured for ---------------------------------------------------


def pick_people():
    """A department-staff member of the busiest department, a dispatcher, an operator, the
    system account; an open task of that department; a phone and words that exist."""
    from django.db.models import Count

    from apps.appeals.models import Appeal
    from apps.organization.models import User
    from apps.organization.services import system_actor
    from apps.tasks.models import Task

    busiest = (
        Task.objects.filter(status__in=Task.OPEN_STATUSES)
        .values("department_id")
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()
    )
    if busiest is None:
        raise SystemExit("No open work orders: generate a city first (manage.py seed_city).")
    staff = User.objects.filter(department_id=busiest["department_id"], role="dept_staff", is_active=True).first()
    task = Task.objects.filter(department_id=busiest["department_id"], status__in=Task.OPEN_STATUSES).first()
    appeal = Appeal.objects.exclude(citizen_phone="").order_by("-id").first()
    return {
        "dept_staff": staff,
        "dept_open_tasks": busiest["n"],
        "dispatcher": User.objects.filter(role="dispatcher", is_active=True).first(),
        "operator": User.objects.filter(role="operator", is_active=True).first(),
        "system": system_actor(),
        "task": task,
        "appeal": appeal,
    }


# --- 1–4: pages ------------------------------------------------------------------------------


def department_list(people, repeat) -> list[Figure]:
    client = logged_in(people["dept_staff"])
    url = "/admin/tasks/task/"
    note = f"{people['dept_open_tasks']} open work orders in the department"
    return [
        timed(
            "1a department: open work orders, first page",
            page(client, url),
            repeat=repeat,
            target="≤ 100 ms p95, constant queries",
            note=note,
        ),
        timed(
            "1b department: filtered (in progress)",
            page(client, url, {"status__exact": "in_progress"}),
            repeat=repeat,
            target="≤ 100 ms p95",
        ),
        # The same page with no rows (a tracking number that cannot exist): what any admin
        # page costs before it shows data — session, user, permissions, template.
        timed(
            "1d department: the same page, no rows (fixed cost)",
            page(client, url, {"q": "19000101-000000"}),
            repeat=repeat,
            note="what the rows add is 1a minus this",
        ),
    ]


def department_list_floor(people, repeat) -> Figure:
    """The essential SELECT of the department list page, as raw SQL: the floor."""
    dept_id = people["dept_staff"].department_id
    sql = (
        "SELECT t.id, t.status, t.role, t.next_due_at, t.sign_due_at, t.contact_due_at, t.resolve_due_at, "
        "t.signed_at, t.contacted_at, t.dispatched_at, a.tracking_number, a.priority, c.name, d.name "
        "FROM tasks_task t JOIN appeals_appeal a ON a.id = t.appeal_id "
        "JOIN appeals_category c ON c.id = a.category_id JOIN organization_department d ON d.id = t.department_id "
        "WHERE t.department_id = %s AND t.status IN ('pending_sign','in_progress','return_requested','replied') "
        "ORDER BY t.next_due_at, t.id LIMIT 50"
    )

    def run():
        with connection.cursor() as cursor:
            cursor.execute(sql, [dept_id])
            cursor.fetchall()

    return timed("1c floor: the department list's SELECT as raw SQL", run, repeat=repeat)


def dispatcher_lists(people, repeat) -> list[Figure]:
    client = logged_in(people["dispatcher"])
    return [
        timed(
            "2a dispatcher: to dispatch",
            page(client, "/admin/appeals/appeal/", {"status__exact": "received"}),
            repeat=repeat,
            target="≤ 150 ms p95",
        ),
        timed(
            "2b dispatcher: return requests",
            page(client, "/admin/tasks/task/", {"status__exact": "return_requested"}),
            repeat=repeat,
            target="≤ 150 ms p95",
        ),
        timed(
            "2c dispatcher: replies to review",
            page(client, "/admin/tasks/task/", {"status__exact": "replied"}),
            repeat=repeat,
            target="≤ 150 ms p95",
        ),
        timed(
            "2d dispatcher: all appeals, first page",
            page(client, "/admin/appeals/appeal/"),
            repeat=repeat,
            target="≤ 150 ms p95",
        ),
    ]


def task_pages(people, repeat) -> list[Figure]:
    """The case desk: a work order's page (its panels and the running record of the case),
    the same for the case with the most work orders, the appeal's page as the dispatcher
    sees it, and the review page of a reply."""
    from django.db.models import Count

    from apps.organization.models import User
    from apps.tasks.models import Task

    client = logged_in(people["dept_staff"])
    task = people["task"]
    figures = [
        timed(
            "3a work order change page (case desk)",
            page(client, f"/admin/tasks/task/{task.pk}/change/"),
            repeat=repeat,
            target="≤ 150 ms p95",
        ),
        timed(
            "3b work order history page",
            page(client, f"/admin/tasks/task/{task.pk}/history/"),
            repeat=repeat,
            target="≤ 150 ms p95",
        ),
    ]
    # The longest case a department with staff holds (returns and co-handling make it long).
    staffed = User.objects.filter(role="dept_staff", is_active=True).values("department_id")
    busiest = (
        Task.objects.filter(department_id__in=staffed).values("appeal_id").annotate(n=Count("id"))
        .order_by("-n", "-appeal_id").first()
    )
    if busiest is not None:
        long_task = Task.objects.filter(appeal_id=busiest["appeal_id"], department_id__in=staffed).order_by("-id")[0]
        holder = User.objects.filter(department_id=long_task.department_id, role="dept_staff", is_active=True).first()
        if holder is not None:
            figures.append(timed(
                "3c work order page of the longest case (case desk)",
                page(logged_in(holder), f"/admin/tasks/task/{long_task.pk}/change/"),
                repeat=repeat,
                target="≤ 150 ms p95",
                note=f"{busiest['n']} work orders on the appeal",
            ))
        figures.append(timed(
            "3d appeal page of the longest case, dispatcher (case desk)",
            page(logged_in(people["dispatcher"]), f"/admin/appeals/appeal/{busiest['appeal_id']}/change/"),
            repeat=repeat,
            target="≤ 150 ms p95",
            note=f"{busiest['n']} work orders on the appeal",
        ))
    replied = Task.objects.filter(status=Task.Status.REPLIED).order_by("-id").first()
    if replied is not None:
        figures.append(timed(
            "3e review page of a reply, dispatcher",
            page(logged_in(people["dispatcher"]), f"/admin/tasks/task/{replied.pk}/do/review/"),
            repeat=repeat,
            target="≤ 150 ms p95",
        ))
    return figures


def searches(people, repeat) -> list[Figure]:
    client = logged_in(people["operator"])
    appeal = people["appeal"]
    from apps.appeals.search import query_tokens

    words = " ".join(query_tokens(appeal.content)[:1]) or "噪音"
    url = "/admin/appeals/appeal/"
    return [
        timed(
            "4a search: tracking number",
            page(client, url, {"q": appeal.tracking_number}),
            repeat=repeat,
            target="≤ 150 ms p95",
        ),
        timed("4b search: phone", page(client, url, {"q": appeal.citizen_phone}), repeat=repeat, target="≤ 150 ms p95"),
        timed(f"4c search: words ({words})", page(client, url, {"q": words}), repeat=repeat, target="≤ 150 ms p95"),
        timed(
            "4d search: two words (停水 小区)",
            page(client, url, {"q": "停水 小区"}),
            repeat=repeat,
            target="≤ 150 ms p95",
        ),
    ]


# --- 5: intake ---------------------------------------------------------------------------------


def visit_queue(people, repeat, *, queue_size: int = 2000) -> Figure:
    """The return-visit agent's queue: scheduled visits, due first, first page.

    seed_city writes no visits yet, so the queue is filled for the measure with scheduled
    visits for reviewed appeals (as the services would have made them), inside a
    transaction that is rolled back afterwards."""
    import datetime as dt

    from django.utils import timezone

    from apps.followups.models import Visit
    from apps.organization.models import User
    from apps.tasks.models import Task

    agent = User.objects.filter(role="visit_agent", is_active=True).first()
    client = logged_in(agent)

    class Rollback(Exception):
        pass

    figure = None
    try:
        with transaction.atomic():
            have = Visit.objects.filter(status=Visit.Status.SCHEDULED).count()
            leads = Task.objects.filter(
                role=Task.Role.LEAD, status=Task.Status.DONE, appeal__status="reviewed", appeal__visits__isnull=True
            ).values_list("id", "appeal_id", "department_id")[: max(0, queue_size - have)]
            now = timezone.now()
            rows = [
                Visit(
                    appeal_id=appeal_id,
                    task_id=task_id,
                    department_id=dept_id,
                    scheduled_at=now,
                    due_at=now + dt.timedelta(minutes=(i * 37) % (3 * 24 * 60) - 24 * 60),
                )
                for i, (task_id, appeal_id, dept_id) in enumerate(leads)
            ]
            Visit.objects.bulk_create(rows, batch_size=1000)
            queued = have + len(rows)
            figure = timed(
                "4e return-visit agent: visit queue, first page",
                page(client, "/admin/followups/visit/"),
                repeat=repeat,
                target="≤ 100 ms p95, constant queries",
                note=f"{queued} scheduled visits ({len(rows)} made for the measure, rolled back)",
            )
            raise Rollback
    except Rollback:
        pass
    return figure


def intake(people, count: int, *, commit: bool = True) -> Figure:
    """Record and dispatch `count` appeals through the services, as two requests would:
    registration in one transaction, dispatch in another, each committed (history, action
    log, outbox and guardian grants included). With commit=False (tests) everything runs
    inside one rolled-back transaction instead."""
    from apps.appeals.models import Area, Category
    from apps.appeals.selectors import dispatch_suggestion
    from apps.appeals.services import appeal_register
    from apps.tasks.services import appeal_dispatch

    operator, dispatcher = people["operator"], people["dispatcher"]
    categories = list(Category.objects.filter(is_leaf=True, is_active=True)[:50])
    areas = list(Area.objects.filter(kind="community")[:200])
    plans = []
    for i in range(count):
        category, area = categories[i % len(categories)], areas[i % len(areas)]
        plans.append((category, area, dispatch_suggestion(category=category, area=area)))

    def run():
        start = time.perf_counter()
        for i, (category, area, suggestion) in enumerate(plans):
            appeal = appeal_register(actor=operator, channel="phone", appeal_type="complaint", category=category,
                                     area=area, content=f"基准测试诉求 {i}：小区噪音扰民", citizen_name="测试",
                                     citizen_phone="13800000000")
            appeal_dispatch(actor=dispatcher, appeal=appeal, lead=suggestion.lead, co=suggestion.co)
        return time.perf_counter() - start

    if commit:
        elapsed = run()
        note = "register and dispatch each committed (as two requests); suggestion lookup outside the timer"
    else:
        class Rollback(Exception):
            pass

        elapsed = 0.0
        try:
            with transaction.atomic():
                elapsed = run()
                raise Rollback
        except Rollback:
            pass
        note = "inside one rolled-back transaction"
    return Figure("5 intake: record + dispatch through the services", rate_per_s=round(count / elapsed, 1),
                  unit="appeals/s", target="≥ 100 appeals/s", samples=count, note=note)


# --- 6: the SLA sweep ------------------------------------------------------------------------------


def sla_sweep(people, share: float) -> Figure:
    """Make `share` of the open tasks due for the sweep, run it once, roll everything back."""
    from django.utils import timezone

    from apps.tasks.models import Task
    from apps.tasks.services import sla_sweep as sweep

    now = timezone.now()
    open_ids = list(Task.objects.filter(status__in=Task.OPEN_STATUSES).order_by("id").values_list("id", flat=True))
    chosen = open_ids[:: max(int(round(1 / share)), 1)]

    class Rollback(Exception):
        pass

    result, elapsed = {}, 0.0
    try:
        with transaction.atomic():
            past = now - timezone.timedelta(days=3)
            with connection.cursor() as cursor:
                # Bench set-up only (rolled back): move the chosen tasks' limits into the past.
                for i in range(0, len(chosen), 500):
                    chunk = chosen[i : i + 500]
                    marks = ", ".join(["%s"] * len(chunk))
                    cursor.execute(
                        "UPDATE tasks_task SET sign_due_at = %s, contact_due_at = %s, resolve_due_at = %s, "
                        "sweep_due_at = %s, sign_overdue_at = NULL, contact_overdue_at = NULL, "
                        f"resolve_overdue_at = NULL WHERE id IN ({marks})",
                        [past] * 4 + chunk,
                    )
                    cursor.execute(f"DELETE FROM tasks_reminder WHERE task_id IN ({marks})", chunk)
            start = time.perf_counter()
            result = sweep(actor=people["system"], now=now)
            elapsed = time.perf_counter() - start
            raise Rollback
    except Rollback:
        pass
    return Figure(
        f"6 SLA sweep, {share:.0%} of open tasks overdue",
        value=round(elapsed * 1000, 1),
        target="≤ 2 s at 1 %",
        samples=1,
        note=f"{len(chosen)} of {len(open_ids)} open tasks; marked {result.get('marked')}, "
        f"reminders {result.get('reminders')}; rolled back",
    )


# --- 7: the inspectors' history queries (issue 7) -------------------------------------------------


def history_queries(people, repeat) -> list[Figure]:
    """One appeal's merged record (with the responsibility timeline), one person's actions
    over a month, one department's actions over a month: the inspectors' pages."""
    from datetime import timedelta

    from django.db.models import Count
    from django.utils import timezone

    from apps.organization.models import User
    from apps.tasks.models import Task

    inspector = User.objects.filter(role="inspector", is_active=True).first()
    if inspector is None:
        raise SystemExit("No inspector in this city: generate one with seed_city.")
    client = logged_in(inspector)
    # The appeal with the most work orders (returns and co-handling make the longest records).
    busiest = (
        Task.objects.values("appeal_id").annotate(n=Count("id")).order_by("-n", "-appeal_id").first()
    )
    staff = people["dept_staff"]
    until = timezone.localdate() + timedelta(days=1)
    since = until - timedelta(days=31)
    month = {"since": since.isoformat(), "until": until.isoformat()}
    query = "/admin/supervision/tracedappeal/query/"
    return [
        timed(
            "7a inspector: one appeal's merged record",
            page(client, f"/admin/supervision/tracedappeal/{busiest['appeal_id']}/change/"),
            repeat=repeat,
            target="≤ 200 ms p95",
            note=f"{busiest['n']} work orders on the appeal",
        ),
        timed(
            "7b inspector: one person's actions over a month",
            page(client, query, {"person": staff.pk, **month}),
            repeat=repeat,
            target="≤ 200 ms p95",
        ),
        timed(
            "7c inspector: one department's actions over a month",
            page(client, query, {"department": staff.department_id, **month}),
            repeat=repeat,
            target="≤ 200 ms p95",
        ),
    ]


# --- 8: oversight lists that grow with the city -------------------------------------------------


def oversight_pages(people, repeat) -> list[Figure]:
    """The inspectors' conduct flags (default period: the last 30 days, 16 GROUP BYs over
    the work orders), the audit admin's action log (millions of entries) and the reminder
    list, first pages."""
    from apps.organization.models import User

    inspector = User.objects.filter(role="inspector", is_active=True).first()
    auditor = User.objects.filter(role="audit_admin", is_active=True).first()
    if inspector is None or auditor is None:
        raise SystemExit("No inspector or audit admin in this city: generate one with seed_city.")
    return [
        timed(
            "8a inspector: conduct flags, last 30 days",
            page(logged_in(inspector), "/admin/supervision/tracedappeal/conduct/"),
            repeat=repeat,
            target="≤ 1 s p95 (a report page)",
        ),
        timed(
            "8b audit admin: action log, first page",
            page(logged_in(auditor), "/admin/audit/auditevent/"),
            repeat=repeat,
            target="≤ 150 ms p95",
        ),
        timed(
            "8c inspector: reminders (催办), newest first",
            page(logged_in(inspector), "/admin/tasks/reminder/"),
            repeat=repeat,
            target="≤ 150 ms p95",
        ),
    ]


# --- 9: periodic jobs added by issues 6 and 7 -----------------------------------------------------


def periodic_jobs(people, *, visits: int = 100_000) -> list[Figure]:
    """The hourly formality checks over their 90-day window, and the supervision ladder's
    sweep (first run over every reminder, then the steady state), each in a transaction
    that is rolled back.

    seed_city makes no return visits, so up to `visits` recorded ones are made for the
    measure for the reviewed appeals of the window (about what the window holds at a
    million appeals a year and a half), with attempts, grades and words as agents record
    them, a few of them formal on purpose."""
    import datetime as dt
    import random

    from django.utils import timezone

    from apps.followups.formality import formality_sweep
    from apps.followups.models import Visit, VisitAttempt
    from apps.organization.models import User
    from apps.supervision.services import supervision_sweep
    from apps.tasks.models import Reminder, Task

    rng = random.Random(7)
    now = timezone.now()
    agents = list(User.objects.filter(role="visit_agent", is_active=True).values_list("id", flat=True))
    grades = ["very_satisfied", "satisfied", "basically_satisfied", "unsatisfied", "very_unsatisfied"]
    # Mostly a few words (too short for the repeated-words check), sometimes a sentence of
    # the citizen's own: identical long comments are what the check looks for.
    short = ["满意", "还可以", "挺好的", "谢谢", "解决了", "一般"]
    long = ["问题已经解决了", "处理得很及时", "希望加强日常巡查", "工作人员态度很好", "还没有彻底解决"]
    places = ["东门", "南侧", "三号楼", "菜市场", "路口", "停车场"]

    class Rollback(Exception):
        pass

    figures: list[Figure] = []
    try:
        with transaction.atomic():
            leads = list(
                Task.objects.filter(
                    role=Task.Role.LEAD,
                    status=Task.Status.DONE,
                    appeal__status="reviewed",
                    reviewed_at__gte=now - dt.timedelta(days=89),
                    appeal__visits__isnull=True,
                ).values_list("id", "appeal_id", "department_id", "reviewed_at")[:visits]
            )
            rows, calls = [], []
            for i, (task_id, appeal_id, dept_id, reviewed_at) in enumerate(leads):
                agent = agents[i % len(agents)]
                # One agent in 30 rates everything "satisfied"; one call in 50 is recorded in seconds.
                grade = "satisfied" if agent % 30 == 0 else rng.choices(grades, weights=[45, 35, 12, 6, 2])[0]
                started = reviewed_at + dt.timedelta(days=1, minutes=rng.randint(0, 600))
                recorded = started + dt.timedelta(seconds=20 if i % 50 == 0 else rng.randint(90, 600))
                rows.append(Visit(
                    appeal_id=appeal_id, task_id=task_id, department_id=dept_id, status=Visit.Status.DONE,
                    scheduled_at=reviewed_at, due_at=reviewed_at + dt.timedelta(days=1), assigned_to_id=agent,
                    call_started_at=started, attempt_count=1, resolved=grade not in {"unsatisfied", "very_unsatisfied"},
                    satisfaction=grade,
                    citizen_words=(
                        rng.choice(short) if rng.random() < 0.7
                        else f"{rng.choice(long)}，{rng.choice(places)}{rng.randint(1, 999)}号那边{rng.choice(long)}"
                    ),
                    completed_at=recorded, completed_by_id=agent,
                ))
                calls.append((agent, started, recorded))
            Visit.objects.bulk_create(rows, batch_size=2000)
            VisitAttempt.objects.bulk_create(
                [VisitAttempt(visit=v, number=1, agent_id=a, started_at=s, recorded_at=r, reached=True)
                 for v, (a, s, r) in zip(rows, calls, strict=True)],
                batch_size=2000,
            )
            start = time.perf_counter()
            flags = formality_sweep(actor=people["system"], now=now)
            elapsed = time.perf_counter() - start
            figures.append(Figure(
                "9a formality checks over the 90-day window", value=round(elapsed * 1000, 1),
                target="hourly job: well under an hour", samples=1,
                note=f"{len(rows)} recorded visits (made for the measure, rolled back); {flags}",
            ))

            reminders = Reminder.objects.count()
            start = time.perf_counter()
            first = supervision_sweep(actor=people["system"], now=now)
            elapsed = time.perf_counter() - start
            figures.append(Figure(
                "9b supervision ladder, first run over every reminder", value=round(elapsed * 1000, 1),
                target="once, at release", samples=1, note=f"{reminders} reminders → {first}",
            ))
            start = time.perf_counter()
            again = supervision_sweep(actor=people["system"], now=now)
            elapsed = time.perf_counter() - start
            figures.append(Figure(
                "9c supervision ladder, steady state (every 5 min)", value=round(elapsed * 1000, 1),
                target="≤ 1 s", samples=1, note=f"raised {again}",
            ))
            raise Rollback
    except Rollback:
        pass
    return figures


def privacy_jobs(people, *, rotate_rows: int = 100_000) -> list[Figure]:
    """Issue 12's jobs over the city, each in a transaction that is rolled back.

    9d: the monthly anonymisation at its steady state, one month of closures: the clock is
    set to the day the city's first month passes the retention period (seed_city's city
    is younger than the period, so a real run would find nothing).
    9e: re-sealing the citizens' ciphertext with a new data key (rotate_data_key; a
    sealing of plaintext after an upgrade runs the same code): `rotate_rows` rows of the
    appeals table are measured and the whole run is estimated from the rate, over the
    appeals and their history rows."""
    import base64
    import datetime as dt
    import os

    from django.conf import settings
    from django.db.models import F, Min
    from django.test.utils import override_settings

    from apps.appeals.models import Appeal
    from apps.appeals.retention import anonymise_closed_appeals
    from apps.core.encrypted import reseal_model

    class Rollback(Exception):
        pass

    figures: list[Figure] = []
    # seed_city stops short of the return visit (no appeal is closed): the first month's
    # concluded appeals are closed for the measure, as their visits would have closed them.
    first = Appeal.objects.aggregate(first=Min("concluded_at"))["first"]
    if first is not None:
        month_end = first + dt.timedelta(days=30)
        years = settings.PERSONAL_DATA_RETENTION_YEARS
        now = month_end.replace(year=month_end.year + years)
        try:
            with transaction.atomic():
                # Bench set-up only (rolled back), past the history guard as seed_city is.
                Appeal._base_manager.filter(
                    status__in=[Appeal.Status.REVIEWED, Appeal.Status.ANSWERED], concluded_at__lt=month_end
                ).update(status=Appeal.Status.CLOSED, closed_at=F("concluded_at"))
                start = time.perf_counter()
                run = anonymise_closed_appeals(actor=people["system"], now=now)
                elapsed = time.perf_counter() - start
                figures.append(Figure(
                    "9d anonymisation of one month of closures (monthly)", value=round(elapsed * 1000, 1),
                    rate_per_s=round(run.count / elapsed, 1) if elapsed and run.count else None, unit="appeals/s",
                    target="monthly job: well under an hour", samples=1,
                    note=(
                        f"{run.count} appeals, {run.related_rows} related rows and {run.history_rows} history rows "
                        f"changed (closed for the measure; rolled back)"
                    ),
                ))
                raise Rollback
        except Rollback:
            pass

    class Enough(Exception):
        pass

    def stop_after(table, last_pk, changed):
        if changed >= rotate_rows:
            raise Enough(changed)

    new_key = base64.urlsafe_b64encode(os.urandom(32)).decode()
    history = Appeal.history.model
    total_rows = Appeal.objects.count() + history.objects.count()
    with override_settings(XLX_DATA_KEYS=[new_key, *settings.XLX_DATA_KEYS]):
        try:
            with transaction.atomic():
                start = time.perf_counter()
                try:
                    changed = reseal_model(Appeal, connection=connection, progress=stop_after)
                except Enough as stopped:
                    changed = stopped.args[0]
                elapsed = time.perf_counter() - start
                rate = changed / elapsed if elapsed else 0
                estimate = total_rows / rate / 60 if rate else 0
                figures.append(Figure(
                    "9e data-key rotation: re-sealing citizens' ciphertext", value=round(elapsed * 1000, 1),
                    rate_per_s=round(rate, 1), unit="rows/s", target="an operator's evening", samples=1,
                    note=(
                        f"{changed} appeal rows re-sealed (rolled back); the whole city "
                        f"({total_rows} appeal and history rows) ≈ {estimate:.1f} min at this rate"
                    ),
                ))
                raise Rollback
        except Rollback:
            pass
    return figures
