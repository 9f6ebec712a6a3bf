"""Acceptance: reply → visit → unsatisfied → reopen → reply → visit → satisfied → closed."""

import datetime as dt

import pytest
from django.utils import timezone

from apps.appeals.models import Appeal
from apps.audit.models import AuditEvent
from apps.core.exceptions import DomainError, InvalidTransition, StaleObject
from apps.followups import services
from apps.followups.models import Visit
from apps.tasks.models import Task
from tests.followups.conftest import call, reply_and_accept


def _citizen_jobs():
    from apps.outbox.models import OutboxMessage

    return [
        m.payload
        for m in OutboxMessage.objects.filter(task_name="followups.citizen_message").order_by("created_at", "id")
    ]


def test_full_loop_with_reopen_and_history(accepted, visit_agent, market_staff, dispatcher, clock):
    appeal, task, visit = accepted
    appeal.refresh_from_db()
    # The reply is accepted: the appeal waits for its visit, due the next working day.
    assert appeal.status == Appeal.Status.REVIEWED
    assert visit.status == Visit.Status.SCHEDULED and visit.kind == Visit.Kind.REPLY and visit.round == 1
    assert visit.task == task and visit.department_id == task.department_id
    assert timezone.localtime(visit.due_at).date() == dt.date(2026, 3, 11)
    jobs = _citizen_jobs()
    assert sorted(j["kind"] for j in jobs) == ["reply_ready", "visit_coming"]
    assert next(j for j in jobs if j["kind"] == "visit_coming")["due"] == "2026-03-11"
    assert all("phone" not in j for j in jobs)  # the job carries no personal data

    # Next day: the citizen is unsatisfied, for a reason within the department's control.
    clock.shift(dt.timedelta(days=1))
    visit = call(visit, visit_agent, clock=clock)
    visit = services.visit_record_outcome(
        actor=visit_agent,
        visit=visit,
        resolved=False,
        satisfaction="unsatisfied",
        citizen_words="摊点第二天又回来了，根本没管。",
        fault="department",
        fault_note="承办单位未落实长效巡查",
        expected_version=visit.version,
    )
    assert visit.status == Visit.Status.DONE and visit.reopened
    task.refresh_from_db()
    appeal.refresh_from_db()
    assert task.status == Task.Status.IN_PROGRESS and task.reopen_count == 1
    assert task.contacted_at is None and task.resolve_due_at > timezone.now()
    assert appeal.status == Appeal.Status.DISPATCHED
    assert [j["kind"] for j in _citizen_jobs()].count("reopened") == 1

    # The department handles it again; the new reply is accepted; a second visit is due.
    clock.shift(dt.timedelta(hours=2))
    task = reply_and_accept(task, staff=market_staff, dispatcher=dispatcher, text="已拆除摊点并每日巡查两次。")
    second = Visit.objects.get(appeal=appeal, round=2)
    assert second.status == Visit.Status.SCHEDULED and second.task == task
    clock.shift(dt.timedelta(days=1))
    second = call(second, visit_agent, clock=clock)
    second = services.visit_record_outcome(
        actor=visit_agent, visit=second, resolved=True, satisfaction="satisfied", citizen_words="现在通畅了，谢谢。"
    )
    appeal.refresh_from_db()
    task.refresh_from_db()
    assert appeal.status == Appeal.Status.CLOSED and appeal.closed_at is not None
    assert task.status == Task.Status.DONE and task.reopen_count == 1

    # History: every step with its actor and reason.
    appeal_rows = list(appeal.history.order_by("history_date", "history_id").values_list("status", flat=True))
    assert appeal_rows[-4:] == ["reviewed", "dispatched", "reviewed", "closed"]
    task_rows = list(task.history.order_by("history_date", "history_id"))
    reopened_row = next(r for r in task_rows if r.reopen_count == 1)
    assert reopened_row.status == "in_progress"
    assert reopened_row.history_user == visit_agent and reopened_row.history_change_reason == "承办单位未落实长效巡查"
    visit_rows = list(visit.history.order_by("history_date", "history_id").values_list("status", "history_user_id"))
    assert visit_rows[0] == ("scheduled", dispatcher.pk) and visit_rows[-1] == ("done", visit_agent.pk)
    assert visit.attempts.get().reached is True
    actions = list(AuditEvent.objects.order_by("seq").values_list("action", flat=True))
    for expected in ["visit.scheduled", "visit.recorded", "appeal.reopened", "task.reopened", "appeal.closed"]:
        assert expected in actions


def test_outside_the_department_is_recorded_and_closes(accepted, visit_agent, clock):
    appeal, task, visit = accepted
    visit = call(visit, visit_agent, clock=clock)
    services.visit_record_outcome(
        actor=visit_agent,
        visit=visit,
        resolved=False,
        satisfaction="very_unsatisfied",
        citizen_words="政策不允许，我不接受。",
        fault="outside",
        fault_note="诉求超出现行政策",
    )
    appeal.refresh_from_db()
    task.refresh_from_db()
    visit.refresh_from_db()
    assert appeal.status == Appeal.Status.CLOSED
    assert task.status == Task.Status.DONE and task.reopen_count == 0
    assert visit.fault == "outside" and not visit.reopened


def test_three_unreachable_attempts_on_different_days(accepted, visit_agent, clock):
    appeal, _task, visit = accepted
    for day in range(3):
        visit = call(visit, visit_agent, clock=clock)
        visit = services.visit_record_unreached(actor=visit_agent, visit=visit, note=f"拨打无人接听（第{day + 1}次）")
        if day < 2:
            assert visit.status == Visit.Status.SCHEDULED and visit.attempt_count == day + 1
            # The same day again is refused; the next attempt is due the next working day.
            with pytest.raises(DomainError, match="already tried today"):
                services.visit_start_call(actor=visit_agent, visit=visit)
                services.visit_record_unreached(actor=visit_agent, visit=visit, note="again")
            visit.refresh_from_db()
            clock.shift(dt.timedelta(days=1))
    assert visit.status == Visit.Status.UNREACHABLE and visit.attempt_count == 3
    assert list(visit.attempts.values_list("reached", flat=True)) == [False, False, False]
    appeal.refresh_from_db()
    assert appeal.status == Appeal.Status.CLOSED
    closed = appeal.history.order_by("-history_date", "-history_id").first()
    assert closed.status == "closed" and "#1" in closed.history_change_reason and "#3" in closed.history_change_reason
    event = AuditEvent.objects.get(action="visit.unreachable")
    assert len(event.changes["attempts"]) == 3
    with pytest.raises(InvalidTransition):
        services.visit_start_call(actor=visit_agent, visit=visit)


def test_wrong_state_and_bad_input(accepted, visit_agent, clock):
    appeal, _task, visit = accepted
    # Recording before starting the call is refused, with nothing written.
    with pytest.raises(DomainError, match="Start the call"):
        services.visit_record_outcome(
            actor=visit_agent, visit=visit, resolved=True, satisfaction="satisfied", citizen_words="好"
        )
    visit = call(visit, visit_agent, clock=clock)
    with pytest.raises(DomainError, match="satisfaction grade"):
        services.visit_record_outcome(
            actor=visit_agent, visit=visit, resolved=True, satisfaction="ok", citizen_words="好"
        )
    with pytest.raises(DomainError, match="what the citizen said"):
        services.visit_record_outcome(
            actor=visit_agent, visit=visit, resolved=True, satisfaction="satisfied", citizen_words="  "
        )
    with pytest.raises(DomainError, match="within the department's control"):
        services.visit_record_outcome(
            actor=visit_agent, visit=visit, resolved=False, satisfaction="unsatisfied", citizen_words="没解决"
        )
    with pytest.raises(StaleObject):
        services.visit_record_outcome(
            actor=visit_agent,
            visit=visit,
            resolved=True,
            satisfaction="satisfied",
            citizen_words="好",
            expected_version=visit.version - 1,
        )
    visit.refresh_from_db()
    assert visit.status == Visit.Status.SCHEDULED and visit.attempt_count == 0 and not visit.attempts.exists()
    services.visit_record_outcome(
        actor=visit_agent, visit=visit, resolved=True, satisfaction="satisfied", citizen_words="已解决"
    )
    with pytest.raises(InvalidTransition):
        services.visit_record_unreached(actor=visit_agent, visit=visit, note="x")


def test_citizen_messages_go_through_the_configured_sender(
    org,
    catalog,
    operator,
    dispatcher,
    market_staff,
    holidays_2026,
    clock,
    citizen_outbox,
    django_capture_on_commit_callbacks,
    settings,
    tmp_path,
):
    from apps.tasks import services as task_services
    from tests.factories import make_appeal

    appeal = make_appeal(operator=operator, category=catalog["leaf"], area=org["street"])
    task = task_services.appeal_dispatch(actor=dispatcher, appeal=appeal, lead=org["market"])
    with django_capture_on_commit_callbacks(execute=True):
        reply_and_accept(task, staff=market_staff, dispatcher=dispatcher)
    assert [m["kind"] for m in citizen_outbox] == ["reply_ready", "visit_coming"]
    assert citizen_outbox[0]["phone"] == "13812341234"
    assert "已办理并答复" in citizen_outbox[0]["text"] and appeal.tracking_number in citizen_outbox[0]["text"]
    assert "2026-03-11" in citizen_outbox[1]["text"]

    # The default sender writes one line per message, the phone masked.
    from apps.followups.citizen_messages import deliver

    settings.CITIZEN_MESSAGE_SENDER = "apps.followups.senders.file_sender"
    settings.CITIZEN_MESSAGE_LOG = str(tmp_path / "sms.log")
    deliver(appeal_id=appeal.pk, kind="reopened")
    line = (tmp_path / "sms.log").read_text(encoding="utf-8")
    assert "138****1234" in line and "13812341234" not in line and "重新办理" in line
