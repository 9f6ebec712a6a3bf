"""The steps that lead to a return visit are orchestrated by their callers (appeals and
tasks know nothing of visits): the review and the direct answer in apps.followups, the
approved closure in apps.authorization, and the admin buttons call those."""

from __future__ import annotations

from django.urls import reverse

from apps.appeals.models import Appeal
from apps.appeals.services import appeal_answer_directly
from apps.authorization import services as approvals
from apps.followups import services
from apps.followups.models import Visit
from apps.tasks import services as task_services
from tests.factories import make_appeal, make_user


def _dispatched(org, catalog, operator, dispatcher, co=()):
    appeal = make_appeal(operator=operator, category=catalog["leaf"], area=org["street"])
    lead = task_services.appeal_dispatch(
        actor=dispatcher, appeal=appeal, lead=org["market"], co=list(co), override_reason="测试"
    )
    return appeal, lead


def _replied(task, staff):
    task = task_services.task_sign(actor=staff, task=task)
    task = task_services.task_record_contact(actor=staff, task=task, contacted_at=None, method="phone", note="已联系")
    return task_services.task_reply(actor=staff, task=task, result="resolved", reply_text="已处理")


def test_the_visit_is_scheduled_once_the_last_work_order_is_accepted(
    org, catalog, operator, dispatcher, market_staff, holidays_2026, clock
):
    housing_staff = make_user(role="dept_staff", department=org["housing"])
    appeal, lead = _dispatched(org, catalog, operator, dispatcher, co=[org["housing"]])
    co = appeal.tasks.get(department=org["housing"])
    lead = _replied(lead, market_staff)
    services.task_review_and_schedule(actor=dispatcher, task=lead, accept=True)
    assert not Visit.objects.filter(appeal=appeal).exists()  # the co-handling order is open
    co = _replied(co, housing_staff)
    services.task_review_and_schedule(actor=dispatcher, task=co, accept=False, comment="缺少照片")
    assert not Visit.objects.filter(appeal=appeal).exists()  # sent back: nothing follows
    co = task_services.task_reply(actor=housing_staff, task=co, result="resolved", reply_text="已补充照片")
    services.task_review_and_schedule(actor=dispatcher, task=co, accept=True)
    visit = Visit.objects.get(appeal=appeal)
    assert visit.kind == Visit.Kind.REPLY and visit.task == lead and visit.department == org["market"]


def test_the_review_alone_marks_the_appeal_reviewed_and_schedules_nothing(
    org, catalog, operator, dispatcher, market_staff, holidays_2026, clock
):
    appeal, lead = _dispatched(org, catalog, operator, dispatcher)
    task_services.task_review(actor=dispatcher, task=_replied(lead, market_staff), accept=True)
    appeal.refresh_from_db()
    assert appeal.status == Appeal.Status.REVIEWED and not appeal.visits.exists()
    # The caller's next step, once: a second call finds the open visit.
    first = services.visit_schedule_when_reviewed(actor=dispatcher, appeal=appeal)
    assert services.visit_schedule_when_reviewed(actor=dispatcher, appeal=appeal) == first


def test_an_approved_closure_of_the_last_work_order_schedules_the_visit(
    org, catalog, operator, dispatcher, market_staff, city_leader, holidays_2026, clock
):
    appeal, lead = _dispatched(org, catalog, operator, dispatcher)
    task = task_services.task_sign(actor=market_staff, task=lead)
    request = approvals.approval_request(actor=market_staff, kind="closure", task=task, reason="超出法定职责")
    approvals.approval_decide(actor=city_leader, request=request, approve=True, comment="同意按无法解决办结")
    appeal.refresh_from_db()
    assert appeal.status == Appeal.Status.REVIEWED
    assert Visit.objects.get(appeal=appeal).task == lead


def test_an_approved_closure_with_work_orders_still_open_schedules_nothing(
    org, catalog, operator, dispatcher, market_staff, city_leader, holidays_2026, clock
):
    appeal, lead = _dispatched(org, catalog, operator, dispatcher, co=[org["housing"]])
    task = task_services.task_sign(actor=market_staff, task=lead)
    request = approvals.approval_request(actor=market_staff, kind="closure", task=task, reason="超出法定职责")
    approvals.approval_decide(actor=city_leader, request=request, approve=True, comment="同意按无法解决办结")
    appeal.refresh_from_db()
    assert appeal.status == Appeal.Status.DISPATCHED and not appeal.visits.exists()


def test_a_direct_answer_alone_leaves_the_appeal_answered_for_the_caller_to_sample(
    org, catalog, operator, settings, holidays_2026, clock
):
    settings.FOLLOWUP_DIRECT_ANSWER_SAMPLE_RATE = 0.0
    appeal = make_appeal(operator=operator, category=catalog["leaf"], area=org["street"], appeal_type="consultation")
    appeal = appeal_answer_directly(actor=operator, appeal=appeal, answer="按政策答复")
    assert appeal.status == Appeal.Status.ANSWERED and not appeal.visits.exists()


def test_the_admin_buttons_answer_and_review_with_what_follows(
    client, org, catalog, operator, dispatcher, market_staff, settings, holidays_2026, clock
):
    settings.FOLLOWUP_DIRECT_ANSWER_SAMPLE_RATE = 1.0
    appeal = make_appeal(operator=operator, category=catalog["leaf"], area=org["street"], appeal_type="consultation")
    client.force_login(operator)
    response = client.post(
        reverse("admin:appeals_appeal_answer", args=[appeal.pk]), {"version": appeal.version, "answer": "按政策答复"}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Visit.objects.get(appeal=appeal).kind == Visit.Kind.DIRECT  # sampled

    other, lead = _dispatched(org, catalog, operator, dispatcher)
    lead = _replied(lead, market_staff)
    client.force_login(dispatcher)
    response = client.post(
        reverse("admin:tasks_task_review", args=[lead.pk]),
        {"version": lead.version, "decision": "accept", "comment": ""},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Visit.objects.get(appeal=other).kind == Visit.Kind.REPLY

