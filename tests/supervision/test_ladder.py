"""The supervision ladder: 催办 → 督办 → 通报, each raised once, answered by the department."""

import pytest

from apps.audit.models import AuditEvent
from apps.core.exceptions import InvalidTransition, NotFoundForActor, NotPermitted
from apps.supervision import services
from apps.supervision.models import SupervisionCase
from apps.tasks import services as task_services
from tests.factories import make_appeal
from tests.supervision.conftest import at


@pytest.fixture
def neglected(org, catalog, operator, dispatcher, holidays_2026, time_machine, system_actor):
    """Dispatched Monday 09:30, never signed: sign-for and contact missed Tuesday 09:30,
    reminded (催办) at 00:00 Wednesday by the time-limit sweep."""
    time_machine.move_to(at(3, 2, 9), tick=False)
    appeal = make_appeal(operator=operator, category=catalog["leaf"], area=org["street"])
    time_machine.move_to(at(3, 2, 9, 30), tick=False)
    task = task_services.appeal_dispatch(actor=dispatcher, appeal=appeal, lead=org["housing"], override_reason="属地")
    time_machine.move_to(at(3, 4, 1), tick=False)
    task_services.sla_sweep(actor=system_actor, now=at(3, 4, 1))
    return task


def _steps(task):
    return sorted(SupervisionCase.objects.filter(task=task).values_list("limit", "level"))


def test_the_ladder_raises_each_step_once(neglected, system_actor, dept_staff, time_machine):
    task = neglected
    first = services.supervision_sweep(actor=system_actor, now=at(3, 4, 1))
    assert first == {"reminder": 2, "notice": 0, "criticism": 0}
    assert services.supervision_sweep(actor=system_actor, now=at(3, 4, 1)) == {
        "reminder": 0, "notice": 0, "criticism": 0
    }
    assert _steps(task) == [("contact", "reminder"), ("sign", "reminder")]
    sign = SupervisionCase.objects.get(task=task, limit="sign")
    assert sign.raised_at == at(3, 4, 1)  # when the time-limit sweep issued the 催办
    assert sign.answer_due_at == at(3, 11, 1)  # five working days
    # The department answers the sign-for reminder in time; the contact one stays unanswered.
    time_machine.move_to(at(3, 5, 10), tick=False)
    services.case_answer(actor=dept_staff, case=sign, note="已签收并整改签收流程")
    # Not yet due: nothing moves.
    assert services.supervision_sweep(actor=system_actor, now=at(3, 10, 23)) == {
        "reminder": 0, "notice": 0, "criticism": 0
    }
    # Five working days after the reminder: 督办 for the unanswered one only, once.
    assert services.supervision_sweep(actor=system_actor, now=at(3, 11, 1))["notice"] == 1
    assert services.supervision_sweep(actor=system_actor, now=at(3, 11, 1))["notice"] == 0
    notice = SupervisionCase.objects.get(task=task, level="notice")
    assert notice.limit == "contact" and notice.previous.level == "reminder"
    assert notice.answer_due_at == at(3, 18, 1)
    # Unanswered again: 通报, once; nothing after it.
    assert services.supervision_sweep(actor=system_actor, now=at(3, 18, 1))["criticism"] == 1
    assert services.supervision_sweep(actor=system_actor, now=at(3, 30, 0)) == {
        "reminder": 0, "notice": 0, "criticism": 0
    }
    assert _steps(task) == [("contact", "criticism"), ("contact", "notice"), ("contact", "reminder"),
                            ("sign", "reminder")]
    raised = AuditEvent.objects.filter(action__startswith="supervision.", action__endswith="_raised")
    assert raised.count() == 4
    # Each step has its creation history row, by the system account, with the reason.
    row = SupervisionCase.history.filter(id=notice.pk).get()
    assert row.history_user_id == system_actor.pk and row.history_change_reason


def test_only_the_department_concerned_answers_and_only_once(neglected, system_actor, dept_staff, outsider,
                                                             dept_leader, inspector):
    services.supervision_sweep(actor=system_actor, now=at(3, 4, 1))
    case = SupervisionCase.objects.get(task=neglected, limit="sign")
    with pytest.raises(NotFoundForActor):
        services.case_answer(actor=outsider, case=case, note="不是我们的")
    with pytest.raises(NotPermitted):
        services.case_answer(actor=inspector, case=case, note="督查代答")
    services.case_answer(actor=dept_leader, case=case, note="局长签批整改")
    case.refresh_from_db()
    assert case.answered_by == dept_leader and case.rectification_note == "局长签批整改"
    with pytest.raises(InvalidTransition):
        services.case_answer(actor=dept_staff, case=case, note="再答一次")
    event = AuditEvent.objects.get(action="supervision.answered")
    assert event.actor == dept_leader and event.reason == "局长签批整改"
    assert case.history.first().history_change_reason == "局长签批整改"


def test_department_staff_see_only_their_own_cases_in_the_admin(client, neglected, system_actor, dept_staff,
                                                                outsider):
    from django.urls import reverse

    services.supervision_sweep(actor=system_actor, now=at(3, 4, 1))
    case = SupervisionCase.objects.get(task=neglected, limit="sign")
    client.force_login(outsider)
    assert client.get(reverse("admin:supervision_supervisioncase_change", args=[case.pk])).status_code == 404
    assert client.post(reverse("admin:supervision_supervisioncase_answer", args=[case.pk]),
                       {"note": "x", "version": case.version}).status_code == 404
    client.force_login(dept_staff)
    response = client.get(reverse("admin:supervision_supervisioncase_changelist"))
    assert response.status_code == 200
    assert {c.pk for c in response.context["cl"].result_list} == set(
        SupervisionCase.objects.filter(department=dept_staff.department).values_list("pk", flat=True)
    )
    response = client.post(reverse("admin:supervision_supervisioncase_answer", args=[case.pk]),
                           {"note": "已整改", "version": case.version})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.answered_by == dept_staff


def test_the_sweep_works_in_batches(neglected, system_actor):
    """Batches of one: every reminder still becomes exactly one step."""
    assert services.supervision_sweep(actor=system_actor, now=at(3, 4, 1), batch_size=1)["reminder"] == 2
    assert services.supervision_sweep(actor=system_actor, now=at(3, 11, 1), batch_size=1)["notice"] == 2
    assert SupervisionCase.objects.count() == 4


def test_reminders_older_than_the_lookback_start_no_ladder(neglected, system_actor, settings):
    """Going live on a database with a history: old misses are not raised all at once."""
    settings.SUPERVISION_LOOKBACK_DAYS = 30
    # The reminders were issued on 03-04; 40 days later they are out of the window.
    assert services.supervision_sweep(actor=system_actor, now=at(4, 13, 1)) == {
        "reminder": 0, "notice": 0, "criticism": 0
    }
    assert _steps(neglected) == []
    # Within the window they start the ladder as usual.
    assert services.supervision_sweep(actor=system_actor, now=at(3, 20, 1))["reminder"] == 2
