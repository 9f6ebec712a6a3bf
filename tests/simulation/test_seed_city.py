"""seed_city at a small scale: the generated city looks like what the services make.

One generated city (300 appeals, 60 departments, 200 staff, two months) is shared by the
module inside one transaction that is rolled back at the end; each test runs in a
savepoint on top of it.
"""

from __future__ import annotations

import datetime as dt
import io
import random

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.models import Count, Max, Q

from apps.appeals.models import Appeal, TrackingCounter
from apps.appeals.selectors import dispatch_suggestion
from apps.audit.chain import GENESIS, compute_hash, verify_chain
from apps.audit.models import AuditEvent
from apps.organization.models import Area, Department, User
from apps.simulation import generator, lifecycle
from apps.simulation.action_log import ActionLog
from apps.simulation.bulk import check_foreign_keys
from apps.tasks import sla
from apps.tasks.models import Reminder, Task, TaskGroupObjectPermission
from apps.tasks.permissions import visible_tasks

UNTIL = "2026-06-30T12:00:00+08:00"
ARGS = ["--appeals", "300", "--departments", "60", "--staff", "200", "--months", "2", "--seed", "7",
        "--until", UNTIL, "--batch", "100"]
G = generator.CODE_PREFIX


@pytest.fixture(scope="module")
def city(django_db_setup, django_db_blocker):
    """The generated city, kept for the module and rolled back after it."""
    with django_db_blocker.unblock():
        with transaction.atomic():
            out = io.StringIO()
            call_command("seed_city", *ARGS, stdout=out)
            yield out.getvalue()
            transaction.set_rollback(True)


@pytest.fixture
def seeded(city, db):
    return city


def _generated_tasks():
    return Task.objects.filter(department__code__startswith=G)


# --- The organisation -------------------------------------------------------------------------


def test_it_builds_the_department_tree_in_the_real_shape(seeded):
    counts = generator.department_counts(60)
    by_kind = dict(Department.objects.filter(code__startswith=G).values_list("kind").annotate(n=Count("id")))
    assert by_kind == {"city_government": 1, "service_centre": 1, "supervision": 1, **counts}
    for dept in Department.objects.filter(kind="community", code__startswith=G).select_related("parent", "area"):
        assert dept.parent.kind == "street_office" and dept.area.kind == "community"
        assert dept.path == f"{dept.parent.path}{dept.code}/"
    assert set(Area.objects.filter(code__startswith=G).values_list("kind", flat=True)) == {
        "city", "district", "street", "community"}


def test_the_full_size_city_has_the_shape_of_the_brief():
    assert generator.department_counts(3000) == {"bureau": 40, "enterprise": 5, "district_government": 12,
                                                 "street_office": 200, "community": 2740}
    roles = generator.staff_counts(30000, 3000 - 3)
    assert roles["dept_leader"] == 2997 and roles["operator"] == 300 and roles["dispatcher"] == 60
    assert roles["visit_agent"] == 99 and sum(roles.values()) == 30000


def test_every_department_has_its_group_and_staff_are_in_role_and_department_groups(seeded):
    departments = Department.objects.filter(code__startswith=G).select_related("group")
    assert all(d.group.name == f"dept:{d.code}" for d in departments)
    staff = User.objects.filter(department__code__startswith=G).prefetch_related("groups").select_related(
        "department")
    assert staff.count() == 200
    for user in staff:
        assert {g.name for g in user.groups.all()} == {f"role:{user.role}", f"dept:{user.department.code}"}
        assert user.is_staff and user.is_active and not user.has_usable_password()
    assert staff.filter(role="dept_leader").count() == departments.exclude(
        kind__in=["city_government", "service_centre", "supervision"]).count()


# --- Appeals and work orders ------------------------------------------------------------------


def test_it_makes_the_appeals_with_the_mixes_and_searchable_text(seeded):
    appeals = Appeal.objects.filter(area__code__startswith=G)
    assert appeals.count() == 300
    assert appeals.filter(channel="phone").count() > appeals.filter(channel="wechat").count()
    assert appeals.filter(status="answered").exists() and appeals.filter(status="reviewed").exists()
    until = dt.datetime.fromisoformat(UNTIL)
    assert all(until - dt.timedelta(days=62) <= a.received_at <= until for a in appeals)
    sample = appeals.order_by("id").first()
    from apps.appeals.search import index_text

    assert sample.search_text == index_text(sample.content, sample.address)
    assert all(a.citizen_phone == "" or len(a.citizen_phone) >= 11 for a in appeals)
    assert appeals.filter(priority="P0", is_escalated=False).count() == 0


def test_every_work_order_status_is_present(seeded):
    statuses = set(_generated_tasks().values_list("status", flat=True))
    assert statuses == set(Task.Status.values)


def test_appeal_status_follows_its_work_orders(seeded):
    for appeal in Appeal.objects.filter(status__in=["dispatched", "reviewed"], area__code__startswith=G):
        live = [t.status for t in appeal.tasks.all() if t.status != "returned"]
        assert live
        assert (appeal.status == "reviewed") == all(s == "done" for s in live)
    assert not Task.objects.filter(appeal__status__in=["answered", "rejected", "merged", "received"]).exists()
    for merged in Appeal.objects.filter(status="merged", area__code__startswith=G).select_related("merged_into"):
        assert merged.merged_into.received_at <= merged.received_at
        assert merged.merged_into.status not in {"merged", "rejected"}


def test_returned_work_orders_are_replaced_and_co_handlers_can_read_the_lead(seeded):
    for task in _generated_tasks().filter(status="returned").select_related("replaced_by"):
        assert task.replaced_by is not None and task.replaced_by.department_id != task.department_id
        assert task.replaced_by.role == task.role and task.return_decided_by_id and task.closed_at
    grants = TaskGroupObjectPermission.objects.select_related("content_object", "group", "permission")
    assert grants.exists()
    for grant in grants:
        assert grant.permission.codename == "view_task" and grant.content_object.role == "lead"
        co = Task.objects.get(appeal=grant.content_object.appeal, role="co",
                              department__group=grant.group)
        assert co.department_id != grant.content_object.department_id


def test_due_times_and_sweep_fields_are_what_the_services_compute(seeded):
    tasks = _generated_tasks().select_related("appeal__category")
    assert tasks.exists()
    for task in tasks:
        limits = sla.rule_for(priority=task.appeal.priority, appeal_type=task.appeal.appeal_type,
                              category=task.appeal.category)
        assert (task.sign_due_at, task.contact_due_at, task.resolve_due_at) == sla.due_times(task.dispatched_at,
                                                                                            limits)
        expected = Task(**{f.attname: getattr(task, f.attname) for f in Task._meta.concrete_fields})
        sla.refresh_deadlines(expected, reminded_kinds=set(task.reminders.values_list("kind", flat=True)))
        assert (task.next_due_at, task.sweep_due_at) == (expected.next_due_at, expected.sweep_due_at)
        until = dt.datetime.fromisoformat(UNTIL)
        assert task.sweep_due_at is None or task.sweep_due_at > until - dt.timedelta(minutes=2)
    for reminder in Reminder.objects.filter(task__in=tasks).select_related("task"):
        assert getattr(reminder.task, sla.OVERDUE_FIELD[reminder.kind]) == reminder.due_at
        assert reminder.issued_at >= sla.reminder_time(reminder.due_at)


def test_dispatch_follows_the_generated_catalogue(seeded):
    plain = (_generated_tasks().filter(role="lead", replaces__isnull=True).exclude(status="returned")
             .exclude(appeal__tasks__role="co").select_related("appeal__category", "appeal__area")[:40])
    assert plain
    for task in plain:
        assert dispatch_suggestion(category=task.appeal.category, area=task.appeal.area).lead == task.department


# --- History, action log, access ------------------------------------------------------------


def test_history_rows_exist_with_users_and_reasons(seeded):
    appeals = Appeal.objects.filter(area__code__startswith=G)
    history = Appeal.history.model.objects.filter(id__in=appeals.values("id"))
    assert history.filter(history_type="+").count() == appeals.count()
    assert history.filter(history_type="~").count() == appeals.exclude(status="received").count()
    tasks = _generated_tasks()
    task_history = Task.history.model.objects.filter(id__in=tasks.values("id"))
    assert task_history.filter(history_type="+").count() == tasks.count()
    for rows in (history, task_history):
        assert not rows.filter(Q(history_user__isnull=True) | Q(history_change_reason="")).exists()
    final = {h.id: h for h in task_history.filter(history_type="~")}
    for task in tasks.exclude(status="pending_sign"):
        assert final[task.id].status == task.status and final[task.id].version == task.version


def test_the_action_log_chain_verifies_and_records_each_step(seeded):
    report = verify_chain()
    assert report.ok, report.problem
    events = AuditEvent.objects.filter(target_type="appeals.appeal", action="appeal.received")
    assert events.count() >= 300
    dispatched = AuditEvent.objects.filter(action="task.dispatched", target_id__in=[
        str(pk) for pk in _generated_tasks().values_list("id", flat=True)])
    assert dispatched.count() == _generated_tasks().count()
    accepted = AuditEvent.objects.filter(action="task.reply_accepted").count()
    assert accepted == _generated_tasks().filter(status="done").count()


def test_generated_entries_hash_like_model_instances():
    log = ActionLog.__new__(ActionLog)
    log._pending, log.seq, log.prev_hash = [], 0, GENESIS
    import itertools

    log._tie = itertools.count()
    at = dt.datetime(2026, 5, 1, 3, 4, 5, 678901, tzinfo=dt.UTC)
    log.add(at, (5, "g_op00001", "operator"), "appeal.received", ("appeals.appeal", 9, "20260501-000001"),
            changes={"phone": "138****1234", "area": "G-519901"})
    row = log.take_until(None)[0]
    event = AuditEvent(**{k: v for k, v in row.items() if k not in {"hash"}})
    assert compute_hash(GENESIS, event) == row["hash"]


def test_department_staff_see_only_their_departments_work_orders(seeded):
    busy = _generated_tasks().values("department").annotate(n=Count("id")).order_by("-n").first()["department"]
    user = User.objects.filter(department_id=busy, role="dept_staff").first()
    own = visible_tasks(user, include_shared=False)
    assert own.exists() and not own.exclude(department_id=busy).exists()
    assert own.count() == Task.objects.filter(department_id=busy).count()
    for shared in visible_tasks(user).exclude(department_id=busy):
        assert TaskGroupObjectPermission.objects.filter(content_object=shared, group__user=user).exists()


def test_tracking_numbers_are_unique_and_the_day_counters_continue_after_them(seeded):
    numbers = list(Appeal.objects.values_list("tracking_number", flat=True))
    assert len(numbers) == len(set(numbers))
    per_day = Appeal.objects.filter(area__code__startswith=G).values_list("tracking_number", flat=True)
    last = {}
    for number in per_day:
        day, seq = number.split("-")
        last[day] = max(last.get(day, 0), int(seq))
    counters = {c.day.strftime("%Y%m%d"): c.value for c in TrackingCounter.objects.all()}
    assert all(counters[day] >= value for day, value in last.items())


def test_foreign_keys_hold(seeded):
    assert check_foreign_keys(generator.LOADED_MODELS) > 10


# --- Refusal and reproducibility --------------------------------------------------------------


def test_it_refuses_a_database_with_appeals_unless_appending(seeded):
    with pytest.raises(CommandError, match="--append"):
        call_command("seed_city", *ARGS, stdout=io.StringIO())


def test_the_same_seed_makes_the_same_appeals(seeded):
    def run():
        before = Appeal.objects.aggregate(m=Max("id"))["m"]
        savepoint = transaction.savepoint()
        call_command("seed_city", "--appeals", "40", "--seed", "11", "--until", UNTIL, "--months", "2", "--append",
                     stdout=io.StringIO())
        made = list(Appeal.objects.filter(id__gt=before).order_by("received_at", "tracking_number").values_list(
            "tracking_number", "content", "citizen_phone", "channel", "status", "category__code", "area__code"))
        tasks = list(Task.objects.filter(appeal__id__gt=before).order_by("dispatched_at").values_list(
            "department__code", "status", "sign_due_at"))
        transaction.savepoint_rollback(savepoint)
        return made, tasks

    first, second = run(), run()
    assert len(first[0]) == 40
    assert first == second


def test_the_schedule_and_lives_are_pure_functions_of_the_seed(seeded):
    until = dt.datetime.fromisoformat(UNTIL)
    first_day, _last = generator.period_days(until, 2)
    volumes = generator.daily_volumes(random.Random(3), 5000, first_day, until)
    assert sum(n for _day, n in volumes) == 5000
    assert volumes == generator.daily_volumes(random.Random(3), 5000, first_day, until)
    weekdays = sum(n for day, n in volumes if day.weekday() < 5) / sum(1 for d, _n in volumes if d.weekday() < 5)
    weekends = sum(n for day, n in volumes if day.weekday() >= 5) / sum(1 for d, _n in volumes if d.weekday() >= 5)
    assert weekdays > weekends
    deadlines = lifecycle.Deadlines()
    rng = random.Random(5)
    for _i in range(200):  # the memoised due times are exactly sla.due_times
        start = until - dt.timedelta(seconds=rng.uniform(0, 60 * 86400))
        limits = sla.DEFAULT_LIMITS[rng.choice(["P0", "P1", "P2", "P3"])]
        assert deadlines.due_times(start, limits) == sla.due_times(start, limits)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="index suspension is PostgreSQL only")
def test_suspended_indexes_come_back_as_they_were(seeded, tmp_path):
    from apps.simulation.bulk import SuspendedIndexes

    def definitions():
        """Name, table, unique, columns and whether partial (a rebuilt predicate deparses differently)."""
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT i.relname, t.relname, x.indisunique, x.indkey::text, x.indpred IS NOT NULL, a.amname "
                "FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
                "JOIN pg_am a ON a.oid = i.relam WHERE t.relname IN ('appeals_appeal', 'tasks_task') ORDER BY 1")
            return cursor.fetchall()

    with connection.cursor() as cursor:  # the module's inserts still have deferred FK checks pending
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    before = definitions()
    suspended = SuspendedIndexes([Appeal, Task], restore_file=tmp_path / "restore.sql")
    assert suspended.suspend() > 5
    assert [d for d in definitions() if d[5] != "gin" and not d[0].endswith("_pkey")] == []  # GIN and keys stay
    from apps.simulation.bulk import restore_indexes

    restore_indexes(suspended.restore_file, workers=1)
    assert definitions() == before
    assert Group.objects.exists()
