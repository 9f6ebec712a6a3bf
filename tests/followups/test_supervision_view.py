"""What the inspectors see of return visits: the appeal's merged record and the conduct flag."""

import datetime as dt

from apps.casefile import timeline
from apps.followups import services
from apps.supervision import conduct
from tests.followups.conftest import call


def _unsatisfied(visit, agent, clock):
    clock.shift(dt.timedelta(days=1))
    visit = call(visit, agent, clock=clock)
    return services.visit_record_outcome(
        actor=agent,
        visit=visit,
        resolved=False,
        satisfaction="very_unsatisfied",
        citizen_words="问题还在。",
        fault="department",
        fault_note="未到现场核实",
        expected_version=visit.version,
    )


def test_the_appeal_record_shows_the_visit_its_call_and_the_reopening(accepted, visit_agent, clock):
    appeal, task, visit = accepted
    _unsatisfied(visit, visit_agent, clock)

    entries = timeline.appeal_timeline(appeal.pk)

    visit_changes = [e for e in entries if e.source == "visit"]
    assert visit_changes, "the return visit is on the appeal's record"
    outcome = next(e for e in visit_changes if any(c.field == "satisfaction" for c in e.changes))
    assert outcome.actor_id == visit_agent.pk
    assert any(e.source == "visit_attempt" and e.actor_id == visit_agent.pk for e in entries)
    reopened = [e for e in entries if e.source == "task" and any(c.field == "reopen_count" for c in e.changes)]
    assert len(reopened) == 1 and reopened[0].reason  # why it was reopened, from the history row


def test_a_reopened_work_order_is_flagged_as_wrong_action_of_its_department(accepted, visit_agent, clock):
    appeal, task, visit = accepted
    assert task.pk not in conduct.evidence(conduct.REOPENED_HOOK).values_list("pk", flat=True)

    _unsatisfied(visit, visit_agent, clock)

    assert list(conduct.evidence(conduct.REOPENED_HOOK).values_list("pk", flat=True)) == [task.pk]
    by_department = conduct.summary_by_department()
    assert by_department[task.department_id][conduct.REOPENED_HOOK] == 1


def test_a_reopened_work_order_missing_its_new_limit_is_reminded_and_supervised_again(
    accepted, visit_agent, system_actor, clock
):
    from apps.supervision.models import SupervisionCase
    from apps.supervision.services import supervision_sweep
    from apps.tasks import services as task_services
    from apps.tasks import sla
    from apps.tasks.models import Reminder

    appeal, task, visit = accepted
    _unsatisfied(visit, visit_agent, clock)
    task.refresh_from_db()
    new_due = task.resolve_due_at
    assert task.reopen_count == 1 and new_due > visit.due_at

    # Nobody acts on the reopened work order: its new limits are missed in turn.
    clock.move_to(sla.reminder_time(new_due))
    result = task_services.sla_sweep(actor=system_actor)
    assert result["marked"] >= 1 and result["reminders"] >= 1
    task.refresh_from_db()
    assert task.resolve_overdue_at == new_due
    assert Reminder.objects.filter(task=task, kind="resolve", due_at=new_due).exists()
    supervision_sweep(actor=system_actor)
    assert SupervisionCase.objects.filter(task=task, limit="resolve", missed_due_at=new_due, level="reminder").exists()


def test_the_responsibility_view_shows_the_visit_stage_and_the_reopen_limit_is_not_an_extension(
    accepted, visit_agent, clock
):
    from apps.supervision.responsibility import appeal_responsibility

    appeal, task, visit = accepted
    _unsatisfied(visit, visit_agent, clock)

    duty = appeal_responsibility(appeal)

    visit_stages = [s for s in duty.stages if s.key == "visit"]
    assert visit_stages[0].holder_kind == "centre"
    assert visit_stages[0].end is not None  # the outcome ended it
    assert visit_stages[0].person == (visit_agent.name or visit_agent.username)
    # The reopening gave new limits: listed as such, with the agent who caused it, and not
    # as an extension with nobody asking or approving.
    assert duty.extensions == []
    reopen = [c for c in duty.limit_changes if c.kind == "reopen"]
    assert len(reopen) == 1 and reopen[0].changed_by == (visit_agent.name or visit_agent.username)
