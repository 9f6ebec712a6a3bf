"""Time limits (DESIGN §5): due times at dispatch, rule choice, the SLA sweep (misses,
reminders, catch-up, sweep_due_at) and the traffic lights."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.dateparse import parse_datetime

from apps.audit.models import AuditEvent
from apps.notifications.models import Notification
from apps.tasks import services, sla
from apps.tasks.models import LimitUnit, Reminder, SlaRule, Task
from tests.factories import make_appeal, make_user

SHANGHAI = ZoneInfo("Asia/Shanghai")
WD, CD, HOURS = LimitUnit.WORKING_DAYS, LimitUnit.CALENDAR_DAYS, LimitUnit.HOURS


def at(year, month, day, hour=0, minute=0):
    return dt.datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


@pytest.fixture
def market_staff(org):
    return make_user(role="dept_staff", department=org["market"])


@pytest.fixture
def desk(org, catalog, operator, dispatcher, market_staff, system_actor, holidays_2026, time_machine):
    """Drives the life cycle at chosen instants (Asia/Shanghai) through the services.
    Appeals in the leaf category go to the market bureau by the dispatch rule."""

    class Desk:
        def travel(self, when):
            time_machine.move_to(when, tick=False)

        def dispatch(self, when, priority="P2", appeal_type="complaint"):
            self.travel(when)
            appeal = make_appeal(
                operator=operator,
                category=catalog["leaf"],
                area=org["street"],
                priority=priority,
                appeal_type=appeal_type,
            )
            return services.appeal_dispatch(actor=dispatcher, appeal=appeal, lead=org["market"])

        def sign(self, task, when):
            self.travel(when)
            return services.task_sign(actor=market_staff, task=task)

        def contact(self, task, when):
            self.travel(when)
            return services.task_record_contact(
                actor=market_staff, task=task, contacted_at=None, method="phone", note="已电话联系市民"
            )

        def reply(self, task, when):
            self.travel(when)
            return services.task_reply(actor=market_staff, task=task, result="resolved", reply_text="已清理占道摊点。")

        def sweep(self, when):
            self.travel(when)
            return services.sla_sweep(actor=system_actor)

    return Desk()


def overdue(task):
    task.refresh_from_db()
    return task.sign_overdue_at, task.contact_overdue_at, task.resolve_overdue_at


def audit_entries(action):
    """(task id, limit, due) of each action-log entry of that action."""
    return [
        (int(e.target_id), e.changes["limit"], parse_datetime(e.changes["due_at"]))
        for e in AuditEvent.objects.filter(action=action, target_type="tasks.task").order_by("seq")
    ]


def reminders():
    return Counter((r.task_id, r.kind) for r in Reminder.objects.all())


# --- 1. Due times at dispatch ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("dispatched", "priority", "sign", "contact", "resolve"),
    [
        # The eve of National Day: 10-01..10-07 are off, 10-08 is the next working day; the
        # resolve limit counts calendar days, holidays included.
        (at(2026, 9, 30, 10), "P2", at(2026, 10, 8, 10), at(2026, 10, 8, 10), at(2026, 10, 7, 10)),
        (at(2026, 9, 30, 10), "P3", at(2026, 10, 8, 10), at(2026, 10, 9, 10), at(2026, 10, 15, 10)),
        # Friday after the holiday: Saturday 10-10 is a make-up working day (调休).
        (at(2026, 10, 9, 10), "P2", at(2026, 10, 10, 10), at(2026, 10, 10, 10), at(2026, 10, 16, 10)),
        (at(2026, 10, 9, 10), "P3", at(2026, 10, 10, 10), at(2026, 10, 12, 10), at(2026, 10, 24, 10)),
        # Friday before Sunday 09-20, the other make-up working day of National Day.
        (at(2026, 9, 18, 10), "P2", at(2026, 9, 20, 10), at(2026, 9, 20, 10), at(2026, 9, 25, 10)),
        # Dispatched in the holiday: the working-day clock starts at 00:00 of 10-08.
        (at(2026, 10, 3, 15), "P2", at(2026, 10, 9, 0), at(2026, 10, 9, 0), at(2026, 10, 10, 15)),
        # Minutes and hours run through nights and holidays.
        (at(2026, 10, 1, 23, 50), "P0", at(2026, 10, 2, 0, 20), at(2026, 10, 2, 0, 20), at(2026, 10, 2, 23, 50)),
        (at(2026, 10, 1, 23, 50), "P1", at(2026, 10, 2, 0, 20), at(2026, 10, 2, 1, 50), at(2026, 10, 2, 23, 50)),
    ],
)
def test_dispatch_sets_due_times_on_the_official_calendar(desk, dispatched, priority, sign, contact, resolve):
    task = desk.dispatch(dispatched, priority=priority)
    task.refresh_from_db()
    assert task.dispatched_at == dispatched
    assert (task.sign_due_at, task.contact_due_at, task.resolve_due_at) == (sign, contact, resolve)
    # Nothing is missed yet: the sweep next has work at the earliest deadline.
    assert task.next_due_at == task.sweep_due_at == min(sign, contact, resolve)
    event = AuditEvent.objects.get(action="task.dispatched", target_id=str(task.pk))
    assert parse_datetime(event.changes["sign_due_at"]) == sign
    assert parse_datetime(event.changes["contact_due_at"]) == contact
    assert parse_datetime(event.changes["resolve_due_at"]) == resolve


def test_without_the_holiday_table_the_same_dispatch_counts_monday_to_friday(
    org, catalog, operator, dispatcher, time_machine
):
    time_machine.move_to(at(2026, 9, 30, 10), tick=False)
    appeal = make_appeal(operator=operator, category=catalog["leaf"], area=org["street"], priority="P2")
    task = services.appeal_dispatch(actor=dispatcher, appeal=appeal, lead=org["market"])
    assert task.sign_due_at == at(2026, 10, 1, 10)


# --- 2. Which rule applies ------------------------------------------------------------------


def _rule(priority, appeal_type, category, resolve, is_active=True):
    return SlaRule.objects.create(
        priority=priority,
        appeal_type=appeal_type,
        category=category,
        sign_amount=1,
        sign_unit=WD,
        contact_amount=1,
        contact_unit=WD,
        resolve_amount=resolve[0],
        resolve_unit=resolve[1],
        is_active=is_active,
    )


def test_the_most_specific_active_rule_wins(desk, catalog):
    leaf, other, mid = catalog["leaf"], catalog["other"], catalog["mid"]
    _rule("P2", "", mid, (2, WD))  # 市容环境, any type
    _rule("P2", "complaint", leaf, (3, WD))  # 占道经营 complaints
    _rule("P2", "complaint", None, (10, CD))  # complaints, any category
    _rule("P2", "suggestion", mid, (4, WD))  # 市容环境 suggestions
    _rule("P2", "consultation", leaf, (1, HOURS), is_active=False)  # switched off: ignored

    def resolve(appeal_type, category):
        return sla.rule_for(priority="P2", appeal_type=appeal_type, category=category).resolve

    # The deepest category wins; at the same depth, the type-specific rule.
    assert resolve("complaint", leaf) == (3, WD)
    assert resolve("suggestion", leaf) == (4, WD)
    assert resolve("suggestion", other) == (4, WD)
    # A rule on a parent category covers its subcategories and beats "any category" with a type.
    assert resolve("complaint", other) == (2, WD)
    assert resolve("help", leaf) == (2, WD)
    # The inactive leaf rule for consultations is not used.
    assert resolve("consultation", leaf) == (2, WD)
    # Outside the branch: the type rule beats the seeded any-type default (7 calendar days).
    assert resolve("complaint", catalog["top"]) == (10, CD)
    assert resolve("help", catalog["top"]) == (7, CD)
    assert resolve("help", None) == (7, CD)
    # Other priorities are not affected.
    assert sla.rule_for(priority="P3", appeal_type="complaint", category=leaf).resolve == (15, CD)

    # Dispatch applies the winning rule: Mon 03-02 + 3 working days = Thu 03-05.
    task = desk.dispatch(at(2026, 3, 2, 10), priority="P2", appeal_type="complaint")
    assert task.resolve_due_at == at(2026, 3, 5, 10)
    task = desk.dispatch(at(2026, 3, 2, 10), priority="P2", appeal_type="help")
    assert task.resolve_due_at == at(2026, 3, 4, 10)


def test_the_rule_table_overrides_the_built_in_defaults_and_they_apply_without_a_row(catalog, db):
    seeded = SlaRule.objects.get(priority="P3", appeal_type="", category=None, is_active=True)
    seeded.resolve_amount = 20
    seeded.save()
    sla.invalidate_rules()  # the service (sla_rule_save) does this on commit
    assert sla.rule_for(priority="P3", appeal_type="help", category=catalog["leaf"]).resolve == (20, CD)
    seeded.is_active = False
    seeded.save()
    sla.invalidate_rules()
    assert sla.rule_for(priority="P3", appeal_type="help", category=catalog["leaf"]) == sla.DEFAULT_LIMITS["P3"]
    assert sla.DEFAULT_LIMITS["P3"].resolve == (15, CD)


# --- 3. The sweep marks exactly the missed limits ---------------------------------------------


def test_the_sweep_marks_exactly_the_missed_limits_at_their_due_time(desk):
    monday = at(2026, 3, 2, 10)
    signed_in_time = desk.dispatch(monday, "P2")  # signed, never contacted
    untouched = desk.dispatch(monday, "P2")
    replied = desk.dispatch(monday, "P1")  # all its due times pass after the reply
    contacted = desk.dispatch(monday, "P1")  # signed and contacted, not replied
    desk.sign(replied, at(2026, 3, 2, 10, 10))
    desk.sign(contacted, at(2026, 3, 2, 10, 10))
    desk.contact(replied, at(2026, 3, 2, 10, 20))
    desk.sign(signed_in_time, at(2026, 3, 2, 11))
    desk.contact(contacted, at(2026, 3, 2, 11))
    desk.reply(replied, at(2026, 3, 2, 16))
    not_yet_due = desk.dispatch(at(2026, 3, 3, 9), "P2")  # due Wed 03-04 09:00
    history_before = {t.pk: t.history.count() for t in (replied, not_yet_due)}

    result = desk.sweep(at(2026, 3, 3, 12))

    missed = at(2026, 3, 3, 10)  # P2: Mon 10:00 + 1 working day; P1 resolve: + 24 h
    assert overdue(signed_in_time) == (None, missed, None)
    assert overdue(untouched) == (missed, missed, None)
    assert overdue(replied) == (None, None, None)
    assert overdue(not_yet_due) == (None, None, None)
    assert overdue(contacted) == (None, None, missed)
    assert result == {"marked": 4, "reminders": 0}
    assert sorted(audit_entries("task.limit_missed")) == sorted(
        [
            (signed_in_time.pk, "contact", missed),
            (untouched.pk, "sign", missed),
            (untouched.pk, "contact", missed),
            (contacted.pk, "resolve", missed),
        ]
    )
    assert not Reminder.objects.exists()
    # The sweep records misses; it does not move work orders.
    statuses = dict(Task.objects.values_list("pk", "status"))
    assert statuses == {
        signed_in_time.pk: "in_progress",
        untouched.pk: "pending_sign",
        replied.pk: "replied",
        contacted.pk: "in_progress",
        not_yet_due.pk: "pending_sign",
    }
    # Rows with nothing due are not even written.
    assert {t.pk: t.history.count() for t in (replied, not_yet_due)} == history_before

    # A second pass the same day marks nothing again (set once).
    assert desk.sweep(at(2026, 3, 3, 18)) == {"marked": 0, "reminders": 0}
    assert overdue(untouched) == (missed, missed, None)
    assert len(audit_entries("task.limit_missed")) == 4


# --- 4. Reminders --------------------------------------------------------------------------


def test_reminders_go_out_once_per_limit_on_the_next_working_day_and_notify_the_department(
    desk, org, market_staff, dept_staff, system_actor, django_capture_on_commit_callbacks
):
    market_leader = make_user(role="dept_leader", department=org["market"])
    # Tuesday before National Day. P1: sign 10:30, contact 12:00, resolve Wed 10:00.
    # P2: sign and contact Wed 09-30 10:00, resolve Tue 10-06 10:00 (in the holiday).
    p1 = desk.dispatch(at(2026, 9, 29, 10), "P1")
    p2 = desk.dispatch(at(2026, 9, 29, 10), "P2")

    def sweep(when):
        with django_capture_on_commit_callbacks(execute=True):
            return desk.sweep(when)

    # The day of the miss: marked, no reminder.
    assert sweep(at(2026, 9, 29, 12)) == {"marked": 2, "reminders": 0}
    assert sweep(at(2026, 9, 29, 23, 59)) == {"marked": 0, "reminders": 0}
    assert not Reminder.objects.exists() and not Notification.objects.exists()
    # 00:00 of the next working day: one reminder per missed limit.
    assert sweep(at(2026, 9, 30, 0)) == {"marked": 0, "reminders": 2}
    assert reminders() == {(p1.pk, "sign"): 1, (p1.pk, "contact"): 1}
    reminder = Reminder.objects.get(task=p1, kind="sign")
    assert (reminder.due_at, reminder.issued_at, reminder.department) == (
        at(2026, 9, 29, 10, 30),
        at(2026, 9, 30, 0),
        org["market"],
    )
    # Misses on Wednesday 09-30 and in the holiday wait for the first working day, 10-08.
    assert sweep(at(2026, 9, 30, 12)) == {"marked": 3, "reminders": 0}
    assert sweep(at(2026, 10, 5, 12)) == {"marked": 0, "reminders": 0}
    assert sweep(at(2026, 10, 7, 12)) == {"marked": 1, "reminders": 0}
    assert overdue(p2) == (at(2026, 9, 30, 10), at(2026, 9, 30, 10), at(2026, 10, 6, 10))
    assert sweep(at(2026, 10, 8, 0)) == {"marked": 0, "reminders": 4}
    expected = {(t.pk, kind): 1 for t in (p1, p2) for kind in ("sign", "contact", "resolve")}
    assert reminders() == expected
    assert Reminder.objects.get(task=p2, kind="resolve").due_at == at(2026, 10, 6, 10)

    audit_count, notes = AuditEvent.objects.count(), Notification.objects.count()
    # Running again (twice) issues nothing more and logs nothing more.
    assert sweep(at(2026, 10, 8, 0)) == {"marked": 0, "reminders": 0}
    assert sweep(at(2026, 10, 8, 9)) == {"marked": 0, "reminders": 0}
    assert reminders() == expected
    assert (AuditEvent.objects.count(), Notification.objects.count()) == (audit_count, notes)

    assert Counter((t, kind) for t, kind, _ in audit_entries("task.reminded")) == expected
    assert len(audit_entries("task.limit_missed")) == 6
    assert set(
        AuditEvent.objects.filter(action__in=["task.reminded", "task.limit_missed"]).values_list("actor", flat=True)
    ) == {system_actor.pk}
    # Every member of the department got one notification per reminder; other departments none.
    for member in (market_staff, market_leader):
        received = list(member.notifications.all())
        assert len(received) == 6
        assert all("催办" in n.title for n in received)
        assert Counter(n.link for n in received) == {
            f"/admin/tasks/task/{p1.pk}/change/": 3,
            f"/admin/tasks/task/{p2.pk}/change/": 3,
        }
        assert sum(p1.appeal.tracking_number in n.title for n in received) == 3
    assert not dept_staff.notifications.exists()


@pytest.mark.parametrize(
    ("due", "reminder"),
    [
        (at(2026, 3, 3, 10), at(2026, 3, 4, 0)),  # an ordinary Tuesday
        (at(2026, 3, 6, 17), at(2026, 3, 9, 0)),  # Friday: the weekend is skipped
        (at(2026, 9, 18, 10), at(2026, 9, 20, 0)),  # Friday before make-up Sunday 09-20
        (at(2026, 9, 30, 10), at(2026, 10, 8, 0)),  # eve of National Day
        (at(2026, 10, 6, 10), at(2026, 10, 8, 0)),  # missed inside the holiday
        (at(2026, 10, 9, 10), at(2026, 10, 10, 0)),  # Friday before make-up Saturday 10-10
        (at(2026, 3, 4, 7), at(2026, 3, 5, 0)),  # local date: 03-03 23:00 in UTC
    ],
)
def test_the_reminder_time_is_midnight_of_the_next_working_day(holidays_2026, due, reminder):
    assert sla.reminder_time(due) == reminder
    assert sla.reminder_time(due.astimezone(dt.UTC)) == reminder


# --- 5. Catch-up after downtime --------------------------------------------------------------


def test_one_sweep_after_downtime_marks_old_misses_and_issues_their_reminders(desk, system_actor):
    from apps.tasks import tasks as celery_tasks

    monday = at(2026, 3, 2, 10)
    p1 = desk.dispatch(monday, "P1")  # untouched: sign, contact, resolve missed
    p2 = desk.dispatch(monday, "P2")
    desk.sign(p2, at(2026, 3, 2, 11))  # contact missed Tue 03-03 10:00
    # The sweep never ran; three days later beat fires it once (Celery task, system actor).
    desk.travel(at(2026, 3, 6, 10))
    result = celery_tasks.sla_sweep.apply().get()

    assert result == {"marked": 4, "reminders": 4}
    assert overdue(p1) == (at(2026, 3, 2, 10, 30), at(2026, 3, 2, 12), at(2026, 3, 3, 10))
    assert overdue(p2) == (None, at(2026, 3, 3, 10), None)
    assert reminders() == {(p1.pk, "sign"): 1, (p1.pk, "contact"): 1, (p1.pk, "resolve"): 1, (p2.pk, "contact"): 1}
    assert set(Reminder.objects.values_list("issued_at", flat=True)) == {at(2026, 3, 6, 10)}
    assert Reminder.objects.get(task=p1, kind="resolve").due_at == at(2026, 3, 3, 10)
    assert len(audit_entries("task.limit_missed")) == len(audit_entries("task.reminded")) == 4
    assert AuditEvent.objects.filter(action="task.reminded").first().actor == system_actor
    # Nothing left to catch up for p1; p2's resolve limit (Mon 03-09 10:00) still runs.
    p1.refresh_from_db()
    p2.refresh_from_db()
    assert p1.sweep_due_at is None and p1.next_due_at == at(2026, 3, 2, 10, 30)
    assert p2.sweep_due_at == at(2026, 3, 9, 10)
    assert celery_tasks.sla_sweep.apply().get() == {"marked": 0, "reminders": 0}


def test_the_sweep_works_through_many_due_tasks_in_batches(desk, system_actor):
    tasks = [desk.dispatch(at(2026, 3, 2, 10), "P1") for _ in range(5)]
    desk.travel(at(2026, 3, 2, 11))
    assert services.sla_sweep(actor=system_actor, batch_size=2) == {"marked": 5, "reminders": 0}
    assert all(overdue(t) == (at(2026, 3, 2, 10, 30), None, None) for t in tasks)
    assert Counter(t for t, _, _ in audit_entries("task.limit_missed")) == {t.pk: 1 for t in tasks}


# --- 6. sweep_due_at and the sweep's cost -----------------------------------------------------


def test_sweep_due_at_follows_the_deadlines_still_running(desk):
    task = desk.dispatch(at(2026, 3, 2, 10), "P3")  # sign 03-03, contact 03-04, resolve 03-17
    assert (task.next_due_at, task.sweep_due_at) == (at(2026, 3, 3, 10), at(2026, 3, 3, 10))
    task = desk.sign(task, at(2026, 3, 2, 11))
    task.refresh_from_db()
    assert (task.next_due_at, task.sweep_due_at) == (at(2026, 3, 4, 10), at(2026, 3, 4, 10))
    task = desk.contact(task, at(2026, 3, 2, 12))
    task.refresh_from_db()
    assert (task.next_due_at, task.sweep_due_at) == (at(2026, 3, 17, 10), at(2026, 3, 17, 10))
    task = desk.reply(task, at(2026, 3, 2, 15))
    task.refresh_from_db()
    assert (task.next_due_at, task.sweep_due_at) == (None, None)
    # The reply stopped the clock: long after every due time, the sweep has nothing to do.
    assert desk.sweep(at(2026, 4, 1, 12)) == {"marked": 0, "reminders": 0}
    assert overdue(task) == (None, None, None)


def test_a_missed_limit_keeps_a_reminder_pending_until_the_department_acts(desk):
    task = desk.dispatch(at(2026, 3, 2, 10), "P2")  # sign and contact Tue 03-03 10:00
    desk.sweep(at(2026, 3, 3, 12))
    task.refresh_from_db()
    # The missed deadline still sorts the lists; the sweep comes back for the reminder.
    assert (task.next_due_at, task.sweep_due_at) == (at(2026, 3, 3, 10), at(2026, 3, 4, 0))
    desk.sign(task, at(2026, 3, 3, 13))  # signed late: no sign reminder any more
    task.refresh_from_db()
    assert (task.next_due_at, task.sweep_due_at) == (at(2026, 3, 3, 10), at(2026, 3, 4, 0))
    assert desk.sweep(at(2026, 3, 4, 0)) == {"marked": 0, "reminders": 1}
    assert reminders() == {(task.pk, "contact"): 1}
    task.refresh_from_db()
    assert (task.next_due_at, task.sweep_due_at) == (at(2026, 3, 3, 10), at(2026, 3, 9, 10))
    desk.contact(task, at(2026, 3, 4, 9))
    task.refresh_from_db()
    assert (task.next_due_at, task.sweep_due_at) == (at(2026, 3, 9, 10), at(2026, 3, 9, 10))
    # The sign miss stays on record although its reminder was never sent.
    assert overdue(task) == (at(2026, 3, 3, 10), at(2026, 3, 3, 10), None)


def test_a_reply_drops_reminders_not_yet_sent_but_keeps_the_misses(desk):
    task = desk.dispatch(at(2026, 3, 2, 10), "P1")  # sign 10:30, contact 12:00
    assert desk.sweep(at(2026, 3, 2, 12, 30)) == {"marked": 2, "reminders": 0}
    desk.sign(task, at(2026, 3, 2, 13))
    desk.contact(task, at(2026, 3, 2, 13, 10))
    task = desk.reply(task, at(2026, 3, 2, 14))
    task.refresh_from_db()
    assert (task.next_due_at, task.sweep_due_at) == (None, None)
    assert desk.sweep(at(2026, 3, 3, 0)) == {"marked": 0, "reminders": 0}
    assert not Reminder.objects.exists()
    assert overdue(task) == (at(2026, 3, 2, 10, 30), at(2026, 3, 2, 12), None)


def test_the_sweep_reads_only_rows_whose_time_has_come(desk, system_actor, django_assert_max_num_queries):
    def not_due(n, when):  # P3, dispatched at `when`: first due a working day later
        return [desk.dispatch(when, "P3") for _ in range(n)]

    # One due task (P1, sign missed at 10:30) among 5 that are not due.
    first = desk.dispatch(at(2026, 3, 2, 10), "P1")
    idle = not_due(5, at(2026, 3, 2, 10))
    desk.travel(at(2026, 3, 2, 11))
    with CaptureQueriesContext(connection) as few:
        assert services.sla_sweep(actor=system_actor) == {"marked": 1, "reminders": 0}

    # The same work among 50 not-due tasks costs no more queries. (`first` next has work
    # at its contact limit, 12:00, so it is not due at 11:45.)
    second = desk.dispatch(at(2026, 3, 2, 11), "P1")
    idle += not_due(45, at(2026, 3, 2, 11))
    idle_history = {t.pk: t.history.count() for t in idle}
    desk.travel(at(2026, 3, 2, 11, 45))
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert services.sla_sweep(actor=system_actor) == {"marked": 1, "reminders": 0}
    assert overdue(second)[0] == at(2026, 3, 2, 11, 30)
    assert overdue(first) == (at(2026, 3, 2, 10, 30), None, None)
    assert {t.pk: t.history.count() for t in idle} == idle_history
    assert Task.objects.filter(pk__in=[t.pk for t in idle], sign_overdue_at__isnull=False).count() == 0


# --- 7. Lights -----------------------------------------------------------------------------


def test_lights_turn_yellow_in_the_last_fifth_and_red_when_a_limit_is_missed(desk):
    task = desk.dispatch(at(2026, 3, 2, 10), "P3")  # sign window 24 h: yellow from 4.8 h before
    assert sla.light(task, at(2026, 3, 2, 10)) == Task.Light.GREEN
    assert sla.light(task, at(2026, 3, 3, 5, 11)) == Task.Light.GREEN
    assert sla.light(task, at(2026, 3, 3, 5, 12)) == Task.Light.YELLOW
    assert sla.light(task, at(2026, 3, 3, 9, 59)) == Task.Light.YELLOW
    assert sla.light(task, at(2026, 3, 3, 10)) == Task.Light.RED
    # Signed: the contact limit (48 h window, yellow from 9.6 h before) decides.
    task = desk.sign(task, at(2026, 3, 3, 9))
    assert sla.light(task, at(2026, 3, 3, 9)) == Task.Light.GREEN
    assert sla.light(task, at(2026, 3, 4, 0, 23)) == Task.Light.GREEN
    assert sla.light(task, at(2026, 3, 4, 0, 24)) == Task.Light.YELLOW
    assert sla.light(task, at(2026, 3, 4, 10, 1)) == Task.Light.RED
    # Replied: no limit runs, whatever the time.
    desk.contact(task, at(2026, 3, 3, 10))
    task = desk.reply(task, at(2026, 3, 3, 11))
    assert sla.light(task, at(2026, 4, 1)) == Task.Light.GREEN


def test_short_limits_turn_yellow_in_their_last_half_at_most_their_last_hour(desk):
    p0 = desk.dispatch(at(2026, 3, 2, 10), "P0")  # sign 30 min: yellow from 10:15
    assert sla.light(p0, at(2026, 3, 2, 10, 14)) == Task.Light.GREEN
    assert sla.light(p0, at(2026, 3, 2, 10, 15)) == Task.Light.YELLOW
    assert sla.light(p0, at(2026, 3, 2, 10, 30)) == Task.Light.RED
    p1 = desk.dispatch(at(2026, 3, 2, 10), "P1")
    p1 = desk.sign(p1, at(2026, 3, 2, 10, 5))  # contact 2 h: max(24 min, 1 h) = last hour
    assert sla.light(p1, at(2026, 3, 2, 10, 59)) == Task.Light.GREEN
    assert sla.light(p1, at(2026, 3, 2, 11)) == Task.Light.YELLOW
    assert sla.light(p1, at(2026, 3, 2, 12)) == Task.Light.RED


def test_a_late_transition_records_the_miss_even_if_the_sweep_never_ran(
    org, catalog, operator, dispatcher, dept_staff, holidays_2026, time_machine
):
    """The sweep was down when the sign-for limit passed; the department signs late: the
    miss is still on the record (evidence for inaction flags)."""
    from apps.audit.models import AuditEvent
    from apps.tasks import services as task_services
    from tests.factories import make_appeal

    tz = ZoneInfo("Asia/Shanghai")
    time_machine.move_to(dt.datetime(2026, 11, 2, 10, 0, tzinfo=tz), tick=False)
    appeal = make_appeal(operator=operator, category=catalog["leaf"], area=org["street"])
    task = task_services.appeal_dispatch(actor=dispatcher, appeal=appeal, lead=org["housing"], override_reason="测试")
    time_machine.move_to(dt.datetime(2026, 11, 4, 9, 0, tzinfo=tz), tick=False)
    task = task_services.task_sign(actor=dept_staff, task=task)
    assert task.sign_overdue_at == task.sign_due_at
    assert task.contact_overdue_at == task.contact_due_at
    assert AuditEvent.objects.filter(action="task.limit_missed", target_id=str(task.pk)).count() == 2


def test_a_new_deadline_after_a_miss_is_marked_and_reminded_again_when_missed(desk, system_actor):
    # P1 (resolve by Wed 10:00), signed and contacted in time, the resolve limit missed.
    task = desk.dispatch(at(2026, 3, 3, 10), "P1")
    task = desk.contact(desk.sign(task, at(2026, 3, 3, 10, 5)), at(2026, 3, 3, 10, 10))
    first_due = task.resolve_due_at
    assert desk.sweep(first_due + dt.timedelta(minutes=1)) == {"marked": 1, "reminders": 0}
    assert desk.sweep(at(2026, 3, 5, 0)) == {"marked": 0, "reminders": 1}

    # An approved extension: two working days more. The earlier miss stays on record.
    desk.travel(at(2026, 3, 5, 9))
    task = services.task_extend(actor=system_actor, task=task, days=2, reason="需协调多个部门")
    second_due = task.resolve_due_at
    assert second_due > first_due
    assert sla.light(task, at(2026, 3, 5, 9)) != Task.Light.RED
    assert desk.sweep(at(2026, 3, 5, 9, 1)) == {"marked": 0, "reminders": 0}

    # The new deadline is missed too: marked, and reminded the next working day, once.
    assert desk.sweep(second_due + dt.timedelta(minutes=1)) == {"marked": 1, "reminders": 0}
    assert overdue(task)[2] == second_due
    reminder_at = sla.reminder_time(second_due)
    assert desk.sweep(reminder_at) == {"marked": 0, "reminders": 1}
    assert desk.sweep(reminder_at + dt.timedelta(hours=1)) == {"marked": 0, "reminders": 0}
    assert sorted(Reminder.objects.filter(task=task).values_list("due_at", flat=True)) == [first_due, second_due]
    assert [due for _t, _k, due in audit_entries("task.limit_missed")] == [first_due, second_due]
