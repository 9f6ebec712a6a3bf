"""Reopen (重办) ladder: the second reopen tells the department's leaders, the third
escalates to the city government. Reasons outside the department do not count."""

import datetime as dt

from django.utils import timezone

from apps.appeals.models import Appeal
from apps.audit.models import AuditEvent
from apps.followups import services
from apps.followups.models import Visit
from apps.outbox.models import OutboxMessage
from tests.followups.conftest import call, reply_and_accept


def _unsatisfied(visit, agent, clock, fault="department"):
    clock.shift(dt.timedelta(days=1))
    visit = call(visit, agent, clock=clock)
    return services.visit_record_outcome(
        actor=agent,
        visit=visit,
        resolved=False,
        satisfaction="unsatisfied",
        citizen_words=f"还是没有解决（第{visit.round}次回访）",
        fault=fault,
        fault_note="整改不到位",
    )


def _jobs(**audience):
    return [
        m.payload
        for m in OutboxMessage.objects.filter(task_name="notifications.deliver").order_by("created_at", "id")
        if m.payload["audience"] == audience
    ]


def test_reopen_escalation_ladder(accepted, visit_agent, market_staff, market_leader, dispatcher, city_leader, clock):
    appeal, task, visit = accepted
    for round_ in (1, 2, 3):
        _unsatisfied(visit, visit_agent, clock)
        task.refresh_from_db()
        assert task.reopen_count == round_
        leader_jobs = _jobs(user_ids=[market_leader.pk])
        city_jobs = _jobs(role="city_leader")
        appeal.refresh_from_db()
        if round_ == 1:
            assert not leader_jobs and not city_jobs and not appeal.is_escalated
        if round_ == 2:
            assert len(leader_jobs) == 1 and "second time" in leader_jobs[0]["title"]
            assert not city_jobs and not appeal.is_escalated
        if round_ == 3:
            assert appeal.is_escalated and appeal.status == Appeal.Status.DISPATCHED
            assert len(city_jobs) == 1 and "Escalated" in city_jobs[0]["title"]
            assert AuditEvent.objects.filter(action="appeal.escalated", target_id=str(appeal.pk)).exists()
            # The escalated work order has the 24-hour limit.
            assert task.resolve_due_at <= timezone.now() + dt.timedelta(hours=24)
            break
        clock.shift(dt.timedelta(hours=3))
        task = reply_and_accept(task, staff=market_staff, dispatcher=dispatcher)
        visit = Visit.objects.get(appeal=appeal, round=round_ + 1)
    # City leaders now see the escalated work order.
    from apps.tasks.permissions import can_view

    assert can_view(city_leader, task)


def test_outside_reasons_do_not_count(accepted, visit_agent, clock):
    appeal, task, visit = accepted
    _unsatisfied(visit, visit_agent, clock, fault="outside")
    task.refresh_from_db()
    appeal.refresh_from_db()
    assert task.reopen_count == 0 and appeal.status == Appeal.Status.CLOSED
    assert Visit.objects.get(pk=visit.pk).fault == "outside"
