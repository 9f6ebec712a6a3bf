"""A scripted appeal, with every step at a fixed time (hand-computed figures in the tests).

P2 appeal received Monday 2026-03-02 09:00, dispatched 09:30 to the housing bureau:
sign-for and contact due Tuesday 09:30, resolve due Monday 03-09 09:30 (7 calendar days).
"""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from apps.authorization import services as authz
from apps.followups import services as followup_services
from apps.tasks import services as task_services
from tests.factories import make_appeal

TZ = ZoneInfo("Asia/Shanghai")


def at(month, day, hour, minute=0):
    return dt.datetime(2026, month, day, hour, minute, tzinfo=TZ)


@pytest.fixture
def scripted(org, catalog, operator, dispatcher, dept_staff, city_leader, holidays_2026, time_machine):
    from tests.factories import make_user

    def move(moment):
        time_machine.move_to(moment, tick=False)

    move(at(3, 1, 10))
    leader = make_user(role="dept_leader", department=org["housing"], username="housing_leader")
    authz.delegation_grant(
        actor=city_leader, grantee=leader, kind="extension", scope=org["housing"], max_extension_days=5,
        valid_until=timezone.now() + dt.timedelta(days=60), reason="住建系统延期审批授权",
    )
    move(at(3, 2, 9))
    appeal = make_appeal(operator=operator, category=catalog["leaf"], area=org["street"])
    move(at(3, 2, 9, 30))
    task = task_services.appeal_dispatch(actor=dispatcher, appeal=appeal, lead=org["housing"], override_reason="属地")
    move(at(3, 3, 11, 30))
    task = task_services.task_sign(actor=dept_staff, task=task)
    move(at(3, 3, 14))
    task = task_services.task_record_contact(
        actor=dept_staff, task=task, contacted_at=timezone.now(), method="phone", note="已电话联系"
    )
    move(at(3, 4, 10))
    request = authz.approval_request(
        actor=dept_staff, kind="extension", task=task, extension_days=3, reason="需协调城管现场勘验"
    )
    move(at(3, 4, 11))
    authz.approval_decide(actor=leader, request=request, approve=True, comment="同意延期三个工作日")
    move(at(3, 5, 16))
    task.refresh_from_db()
    task = task_services.task_reply(actor=dept_staff, task=task, result="resolved", reply_text="已清理占道摊位")
    move(at(3, 6, 10))
    task = task_services.task_review(actor=dispatcher, task=task, accept=False, comment="缺少现场照片")
    move(at(3, 9, 15))
    task = task_services.task_reply(actor=dept_staff, task=task, result="resolved", reply_text="已补充现场照片")
    move(at(3, 10, 9))
    # As the review button does: the accepted reply is followed by the return visit.
    task = followup_services.task_review_and_schedule(actor=dispatcher, task=task, accept=True, comment="")
    return {"appeal": appeal, "task": task, "leader": leader, "request": request}
