"""The acceptance scenario of issue 3, through the services."""

import pytest
from django.utils import timezone

from apps.appeals.models import Appeal
from apps.audit.models import AuditEvent
from apps.core.exceptions import DomainError, InvalidTransition, NotFoundForActor, NotPermitted, StaleObject
from apps.tasks import services
from apps.tasks.models import Task
from tests.factories import make_appeal, make_user


@pytest.fixture
def market_staff(org):
    return make_user(role="dept_staff", department=org["market"])


def test_one_appeal_walks_the_whole_life_cycle(
    org, catalog, operator, dispatcher, dept_staff, market_staff, outsider, holidays_2026
):
    appeal = make_appeal(operator=operator, category=catalog["leaf"], area=org["street"])
    assert appeal.tracking_number.startswith(timezone.localdate().strftime("%Y%m%d-"))
    assert appeal.status == Appeal.Status.RECEIVED

    # Dispatched by rule: the market bureau leads; no override reason needed.
    task = services.appeal_dispatch(actor=dispatcher, appeal=appeal, lead=org["market"])
    assert task.department == org["market"] and task.status == Task.Status.PENDING_SIGN
    appeal.refresh_from_db()
    assert appeal.status == Appeal.Status.DISPATCHED

    # The wrong department cannot act; another department's staff get "not found".
    with pytest.raises(NotFoundForActor):
        services.task_sign(actor=dept_staff, task=task)
    # The market bureau returns it (not theirs), the dispatcher reassigns to housing.
    services.task_request_return(
        actor=market_staff, task=task, reason="占道经营属城管执法职责，依据《城市管理执法办法》"
    )
    with pytest.raises(NotPermitted):
        services.task_decide_return(
            actor=market_staff, task=task, approve=True, comment="x", reassign_to=org["housing"]
        )
    new_task = services.task_decide_return(
        actor=dispatcher, task=task, approve=True, comment="同意退单，改派住建局", reassign_to=org["housing"]
    )
    task.refresh_from_db()
    assert task.status == Task.Status.RETURNED and task.replaced_by == new_task
    assert new_task.department == org["housing"]

    # Housing signs, contacts, replies.
    with pytest.raises(NotFoundForActor):
        services.task_sign(actor=outsider, task=new_task)
    new_task = services.task_sign(actor=dept_staff, task=new_task)
    new_task = services.task_record_contact(
        actor=dept_staff, task=new_task, contacted_at=None, method="phone", note="已电话联系市民，约定现场查看"
    )
    new_task = services.task_reply(
        actor=dept_staff, task=new_task, result="resolved", reply_text="已联合街道清理占道摊点。", policy_basis=""
    )
    # Review sends it back; the department replies again; review accepts.
    with pytest.raises(NotPermitted):
        services.task_review(actor=dept_staff, task=new_task, accept=True)
    new_task = services.task_review(actor=dispatcher, task=new_task, accept=False, comment="请补充整改照片和长效机制")
    assert new_task.status == Task.Status.IN_PROGRESS and new_task.sent_back_count == 1
    new_task = services.task_reply(
        actor=dept_staff, task=new_task, result="resolved", reply_text="已清理并安排每日巡查，附照片。"
    )
    new_task = services.task_review(actor=dispatcher, task=new_task, accept=True, comment="")
    assert new_task.status == Task.Status.DONE
    appeal.refresh_from_db()
    assert appeal.status == Appeal.Status.REVIEWED

    # The history names each actor, time and reason.
    rows = list(new_task.history.order_by("history_date", "history_id"))
    assert [r.status for r in rows] == [
        "pending_sign",
        "in_progress",
        "in_progress",
        "replied",
        "in_progress",
        "replied",
        "done",
    ]
    assert rows[0].history_user == dispatcher
    assert rows[1].history_user == dept_staff
    assert rows[4].history_user == dispatcher and rows[4].history_change_reason == "请补充整改照片和长效机制"
    actions = list(AuditEvent.objects.filter(target_type="tasks.task").order_by("seq").values_list("action", flat=True))
    assert actions == [
        "task.dispatched",
        "task.return_requested",
        "task.return_approved",
        "task.dispatched",
        "task.signed",
        "task.contacted",
        "task.replied",
        "task.reply_sent_back",
        "task.replied",
        "task.reply_accepted",
    ]


def test_dispatch_away_from_the_catalogue_needs_a_reason(org, catalog, operator, dispatcher):
    appeal = make_appeal(operator=operator, category=catalog["leaf"], area=org["street"])
    with pytest.raises(DomainError):
        services.appeal_dispatch(actor=dispatcher, appeal=appeal, lead=org["housing"])
    appeal.refresh_from_db()
    assert appeal.status == Appeal.Status.RECEIVED and not appeal.tasks.exists()
    task = services.appeal_dispatch(
        actor=dispatcher,
        appeal=appeal,
        lead=org["housing"],
        co=[org["market"]],
        override_reason="涉及住建在建工地，住建牵头",
    )
    assert task.dispatch_note == "涉及住建在建工地，住建牵头"
    co = appeal.tasks.get(role="co")
    assert co.department == org["market"]


def test_no_rule_falls_back_to_the_district_government(org, catalog):
    from apps.appeals.selectors import dispatch_suggestion

    suggestion = dispatch_suggestion(category=catalog["other"], area=org["street"])
    assert suggestion.lead == org["district_gov"]


def test_a_co_handling_department_can_read_but_not_work_the_lead_task(
    org, catalog, operator, dispatcher, dept_staff, outsider
):
    from apps.tasks import permissions

    appeal = make_appeal(operator=operator, category=catalog["leaf"], area=org["street"])
    lead = services.appeal_dispatch(
        actor=dispatcher, appeal=appeal, lead=org["market"], co=[org["housing"]], override_reason="住建协办"
    )
    assert permissions.can_view(dept_staff, lead)
    with pytest.raises(NotPermitted):
        services.task_sign(actor=dept_staff, task=lead)
    other_dept = make_user(role="dept_staff", department=org["district_gov"])
    assert not permissions.can_view(other_dept, lead)


def test_a_return_after_two_working_days_is_refused(org, catalog, operator, dispatcher, holidays_2026, time_machine):
    market_staff = make_user(role="dept_staff", department=org["market"])
    # Dispatched Wednesday 2026-09-30 10:00; two working days later is Friday 10-09 10:00
    # (the National Day holiday does not count).
    time_machine.move_to(timezone.datetime(2026, 9, 30, 10, 0, tzinfo=timezone.get_current_timezone()), tick=False)
    appeal = make_appeal(operator=operator, category=catalog["leaf"], area=org["street"])
    task = services.appeal_dispatch(actor=dispatcher, appeal=appeal, lead=org["market"])
    time_machine.move_to(timezone.datetime(2026, 10, 9, 9, 0, tzinfo=timezone.get_current_timezone()), tick=False)
    services.task_request_return(actor=market_staff, task=task, reason="非本单位职责")
    services.task_decide_return(actor=dispatcher, task=task, approve=False, comment="属本单位职责，请办理")
    task.refresh_from_db()
    assert task.status == Task.Status.PENDING_SIGN
    time_machine.move_to(timezone.datetime(2026, 10, 9, 10, 1, tzinfo=timezone.get_current_timezone()), tick=False)
    with pytest.raises(DomainError, match="2"):
        services.task_request_return(actor=market_staff, task=task, reason="还是不归我们管")
    task.refresh_from_db()
    assert task.status == Task.Status.PENDING_SIGN


def test_bad_input_changes_nothing(org, catalog, operator, dispatcher, dept_staff):
    appeal = make_appeal(operator=operator, category=catalog["leaf"], area=org["street"])
    task = services.appeal_dispatch(actor=dispatcher, appeal=appeal, lead=org["housing"], override_reason="测试")
    with pytest.raises(InvalidTransition):
        services.task_reply(actor=dept_staff, task=task, result="resolved", reply_text="x")  # not signed
    task = services.task_sign(actor=dept_staff, task=task)
    services.task_record_contact(actor=dept_staff, task=task, contacted_at=None, method="phone", note="已联系")
    task.refresh_from_db()
    with pytest.raises(DomainError):
        services.task_reply(actor=dept_staff, task=task, result="resolved", reply_text="  ")
    with pytest.raises(DomainError):
        services.task_reply(actor=dept_staff, task=task, result="explained", reply_text="政策不允许", policy_basis="")
    stale_version = task.version
    services.task_reply(actor=dept_staff, task=task, result="resolved", reply_text="已处理")
    with pytest.raises(StaleObject):
        services.task_review(actor=dispatcher, task=task, accept=True, expected_version=stale_version)
    task.refresh_from_db()
    assert task.status == Task.Status.REPLIED
    with pytest.raises(DomainError):
        from apps.appeals.services import appeal_register

        appeal_register(
            actor=operator,
            channel="phone",
            appeal_type="help",
            category=catalog["mid"],
            area=org["street"],
            content="x",
        )  # not a leaf category


def test_p0_appeals_alert_the_city_leaders_at_once(
    org, catalog, operator, city_leader, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        appeal = make_appeal(operator=operator, category=catalog["leaf"], area=org["street"], priority="P0")
    note = city_leader.notifications.get()
    assert appeal.tracking_number in note.title


def test_tracking_numbers_are_unique_per_day_and_sequential(org, catalog, operator):
    numbers = [
        make_appeal(operator=operator, category=catalog["leaf"], area=org["street"]).tracking_number for _ in range(3)
    ]
    seqs = [int(n.split("-")[1]) for n in numbers]
    assert seqs == [seqs[0], seqs[0] + 1, seqs[0] + 2]
