"""Instructions (批示): issue, acknowledge, report; who may; the history, the log, the pages."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.translation import gettext as _

from apps.audit.models import AuditEvent
from apps.authorization import instructions
from apps.authorization.models import Instruction, InstructionReceipt
from apps.core.exceptions import DomainError, InvalidTransition, NotFoundForActor, NotPermitted
from apps.notifications.models import Notification
from apps.tasks import services as task_services
from tests.factories import make_appeal, make_user

SHANGHAI = ZoneInfo("Asia/Shanghai")
MONDAY = dt.datetime(2026, 6, 1, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture
def market_staff(org):
    return make_user(role="dept_staff", department=org["market"])


@pytest.fixture
def market_leader(org):
    return make_user(role="dept_leader", department=org["market"])


@pytest.fixture
def appeal(org, catalog, operator, dispatcher, holidays_2026, time_machine):
    """Dispatched on a Monday morning: housing leads, the market bureau co-handles."""
    time_machine.move_to(MONDAY, tick=False)
    appeal = make_appeal(operator=operator, category=catalog["leaf"], area=org["street"])
    task_services.appeal_dispatch(
        actor=dispatcher, appeal=appeal, lead=org["housing"], co=[org["market"]], override_reason="住建局牵头处理"
    )
    appeal.refresh_from_db()
    return appeal


def _receipt(instruction, department):
    return InstructionReceipt.objects.get(instruction=instruction, department=department)


# --- Issuing --------------------------------------------------------------------------------


def test_a_city_leader_instructs_the_departments_handling_the_appeal(
    org, appeal, city_leader, dept_staff, market_staff, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        instruction = instructions.instruction_issue(
            actor=city_leader, appeal=appeal, text="请住建、市场监管联合处置，三日内报结果"
        )
    assert instruction.issued_by == city_leader
    assert {r.department for r in instruction.receipts.all()} == {org["housing"], org["market"]}
    # Two working days from Monday 10:00.
    assert instruction.respond_by == dt.datetime(2026, 6, 3, 10, 0, tzinfo=SHANGHAI)
    row = instruction.history.get()
    assert row.history_user == city_leader and row.history_change_reason == _("instruction issued")
    event = AuditEvent.objects.get(action="instruction.issued")
    assert event.actor == city_leader and event.target_id == str(instruction.pk)
    assert event.changes["departments"] == ["HOUSING", "MARKET"]
    # Each receiving department's staff get a notification with a link to their receipt.
    note = Notification.objects.get(recipient=dept_staff)
    assert appeal.tracking_number in note.title
    assert note.link == f"/admin/authorization/instructionreceipt/{_receipt(instruction, org['housing']).pk}/change/"
    assert Notification.objects.filter(recipient=market_staff).count() == 1


def test_returned_work_orders_do_not_receive_the_instruction(org, appeal, city_leader, dispatcher, market_staff):
    co_task = appeal.tasks.get(department=org["market"])
    task_services.task_request_return(actor=market_staff, task=co_task, reason="不属于市场监管职责")
    task_services.task_decide_return(
        actor=dispatcher, task=co_task, approve=True, comment="同意", reassign_to=org["district_gov"]
    )
    instruction = instructions.instruction_issue(actor=city_leader, appeal=appeal, text="抓紧办理")
    assert {r.department for r in instruction.receipts.all()} == {org["housing"], org["district_gov"]}


def test_escalated_and_p0_appeals_must_be_acted_on_within_24_hours(
    org, catalog, operator, city_leader, holidays_2026, time_machine
):
    time_machine.move_to(MONDAY, tick=False)
    p0 = make_appeal(operator=operator, category=catalog["leaf"], area=org["street"], priority="P0")
    instruction = instructions.instruction_issue(
        actor=city_leader, appeal=p0, text="立即处置", departments=[org["housing"]]
    )
    assert instruction.respond_by == MONDAY + dt.timedelta(hours=24)


def test_an_explicit_time_to_act_by_must_be_in_the_future(org, appeal, city_leader):
    with pytest.raises(DomainError):
        instructions.instruction_issue(actor=city_leader, appeal=appeal, text="x", respond_by=MONDAY)
    later = MONDAY + dt.timedelta(hours=5)
    instruction = instructions.instruction_issue(
        actor=city_leader, appeal=appeal, text="今天下班前报", respond_by=later
    )
    assert instruction.respond_by == later


def test_an_instruction_needs_text_and_receivers(org, catalog, operator, city_leader, appeal):
    with pytest.raises(DomainError):
        instructions.instruction_issue(actor=city_leader, appeal=appeal, text="  ")
    undispatched = make_appeal(operator=operator, category=catalog["leaf"], area=org["street"])
    with pytest.raises(DomainError):
        instructions.instruction_issue(actor=city_leader, appeal=undispatched, text="请办理")
    assert not Instruction.objects.exists()


def test_only_city_leaders_and_leaders_of_a_handling_department_issue_instructions(
    org, appeal, operator, dispatcher, dept_staff, dept_leader, market_leader, inspector
):
    for actor in (operator, dispatcher, inspector, dept_staff):
        with pytest.raises(NotPermitted):
            instructions.instruction_issue(actor=actor, appeal=appeal, text="请办理")
    other_leader = make_user(role="dept_leader", department=org["district_gov"])
    with pytest.raises(NotFoundForActor):  # their department has nothing to do with it: not even visible
        instructions.instruction_issue(actor=other_leader, appeal=appeal, text="请办理")
    # A department leader instructs their own units only, by default and by choice.
    instruction = instructions.instruction_issue(actor=dept_leader, appeal=appeal, text="科室今天上门核查")
    assert [r.department for r in instruction.receipts.all()] == [org["housing"]]
    with pytest.raises(NotPermitted):
        instructions.instruction_issue(actor=market_leader, appeal=appeal, text="x", departments=[org["housing"]])
    assert Instruction.objects.count() == 1


# --- Acknowledging and acting (acceptance: "instruction acknowledged by the department") ----


def test_the_department_acknowledges_the_instruction_and_reports_what_it_did(
    org, appeal, city_leader, dept_staff, time_machine, django_capture_on_commit_callbacks
):
    instruction = instructions.instruction_issue(actor=city_leader, appeal=appeal, text="请三日内处置到位")
    receipt = _receipt(instruction, org["housing"])
    with pytest.raises(InvalidTransition):  # acknowledge first
        instructions.instruction_record_action(actor=dept_staff, receipt=receipt, note="已处理")

    time_machine.move_to(MONDAY + dt.timedelta(hours=1), tick=False)
    receipt = instructions.instruction_acknowledge(actor=dept_staff, receipt=receipt)
    assert receipt.acknowledged_by == dept_staff
    assert receipt.acknowledged_at == MONDAY + dt.timedelta(hours=1)
    with pytest.raises(InvalidTransition):  # once
        instructions.instruction_acknowledge(actor=dept_staff, receipt=receipt)

    with pytest.raises(DomainError):
        instructions.instruction_record_action(actor=dept_staff, receipt=receipt, note=" ")
    time_machine.move_to(MONDAY + dt.timedelta(days=1), tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        receipt = instructions.instruction_record_action(actor=dept_staff, receipt=receipt, note="已约谈物业并完成整改")
    assert receipt.action_note == "已约谈物业并完成整改" and receipt.acted_at == MONDAY + dt.timedelta(days=1)
    assert not instructions.receipt_is_late(receipt)
    with pytest.raises(InvalidTransition):
        instructions.instruction_record_action(actor=dept_staff, receipt=receipt, note="再次报告")

    rows = list(receipt.history.order_by("history_date", "history_id"))
    assert [(r.history_user, r.history_change_reason) for r in rows] == [
        (city_leader, _("instruction issued")),
        (dept_staff, _("instruction acknowledged")),
        (dept_staff, "已约谈物业并完成整改"),
    ]
    events = AuditEvent.objects.filter(target_type="authorization.instructionreceipt").order_by("seq")
    assert [(e.action, e.actor, e.changes["late"]) for e in events] == [
        ("instruction.acknowledged", dept_staff, False),
        ("instruction.acted_on", dept_staff, False),
    ]
    assert events.last().reason == "已约谈物业并完成整改"
    # The leader who issued it hears back.
    assert Notification.objects.filter(recipient=city_leader, body="已约谈物业并完成整改").exists()


def test_a_report_after_the_time_set_is_late(org, appeal, city_leader, dept_staff, time_machine):
    instruction = instructions.instruction_issue(actor=city_leader, appeal=appeal, text="请办理")
    receipt = instructions.instruction_acknowledge(actor=dept_staff, receipt=_receipt(instruction, org["housing"]))
    time_machine.move_to(dt.datetime(2026, 6, 4, 9, 0, tzinfo=SHANGHAI), tick=False)
    assert instructions.receipt_is_late(receipt)  # not acted on, past the time
    receipt = instructions.instruction_record_action(actor=dept_staff, receipt=receipt, note="已办理")
    assert instructions.receipt_is_late(receipt)
    assert AuditEvent.objects.get(action="instruction.acted_on").changes["late"] is True


def test_only_the_receiving_department_answers_and_others_get_not_found(
    org, appeal, city_leader, dispatcher, inspector, operator, market_staff, dept_staff
):
    instruction = instructions.instruction_issue(actor=city_leader, appeal=appeal, text="请办理")
    housing = _receipt(instruction, org["housing"])
    with pytest.raises(NotFoundForActor):  # another receiving department cannot see housing's receipt
        instructions.instruction_acknowledge(actor=market_staff, receipt=housing)
    with pytest.raises(NotFoundForActor):
        instructions.instruction_acknowledge(actor=operator, receipt=housing)
    for reader in (city_leader, dispatcher, inspector):  # they may read it, not answer for the department
        with pytest.raises(NotPermitted):
            instructions.instruction_acknowledge(actor=reader, receipt=housing)
    housing.refresh_from_db()
    assert housing.acknowledged_at is None
    instructions.instruction_acknowledge(actor=market_staff, receipt=_receipt(instruction, org["market"]))
    instructions.instruction_acknowledge(actor=dept_staff, receipt=housing)


def test_the_open_receipts_of_a_department_take_one_query(org, appeal, city_leader, dept_staff):
    for n in range(3):
        instructions.instruction_issue(actor=city_leader, appeal=appeal, text=f"批示{n}")
    done = _receipt(Instruction.objects.order_by("id").first(), org["housing"])
    instructions.instruction_acknowledge(actor=dept_staff, receipt=done)
    instructions.instruction_record_action(actor=dept_staff, receipt=done, note="已办")
    with CaptureQueriesContext(connection) as queries:
        rows = [
            (r.instruction.appeal.tracking_number, r.instruction.issued_by.name, r.department.code)
            for r in instructions.receipt_list_open_for_department(department=org["housing"])
        ]
    assert len(rows) == 2 and all(row[2] == "HOUSING" for row in rows)
    assert len(queries) == 1


# --- Admin pages -----------------------------------------------------------------------------


def test_receipt_pages_by_role(
    client, org, appeal, city_leader, dept_staff, market_staff, inspector, operator, visit_agent
):
    instruction = instructions.instruction_issue(actor=city_leader, appeal=appeal, text="请办理")
    housing, market = _receipt(instruction, org["housing"]), _receipt(instruction, org["market"])
    changelist = reverse("admin:authorization_instructionreceipt_changelist")

    client.force_login(dept_staff)
    page = client.get(changelist)
    assert page.status_code == 200
    assert [r.pk for r in page.context["cl"].result_list] == [housing.pk]
    assert client.get(reverse("admin:authorization_instructionreceipt_change", args=[housing.pk])).status_code == 200
    for url in [
        reverse("admin:authorization_instructionreceipt_change", args=[market.pk]),
        reverse("admin:authorization_instructionreceipt_history", args=[market.pk]),
        reverse("admin:authorization_instructionreceipt_acknowledge", args=[market.pk]),
        reverse("admin:authorization_instructionreceipt_change", args=[999999]),
    ]:
        assert client.get(url).status_code == 404, url
    history_id = market.history.first().history_id
    assert client.get(f"{changelist}{market.pk}/history/{history_id}/").status_code == 404
    assert (
        client.post(
            reverse("admin:authorization_instructionreceipt_acknowledge", args=[market.pk]), {"version": 0}
        ).status_code
        == 404
    )
    # The instruction itself: the receiving department reads it, with its own receipt only.
    page = client.get(reverse("admin:authorization_instruction_change", args=[instruction.pk]))
    assert page.status_code == 200
    assert "市场监督管理局" not in page.content.decode()

    for reader in (city_leader, inspector):
        client.force_login(reader)
        assert client.get(changelist).status_code == 200
        assert client.get(reverse("admin:authorization_instructionreceipt_change", args=[market.pk])).status_code == 200
        # Readers see no button, and the action URL refuses them.
        assert (
            client.post(
                reverse("admin:authorization_instructionreceipt_acknowledge", args=[market.pk]), {"version": 0}
            ).status_code
            == 403
        )
    for outsider in (operator, visit_agent):
        client.force_login(outsider)
        assert client.get(changelist).status_code == 403
    client.force_login(market_staff)
    assert client.get(reverse("admin:authorization_instruction_change", args=[instruction.pk])).status_code == 200
    market.refresh_from_db()
    assert market.acknowledged_at is None


def test_the_department_acknowledges_and_reports_through_the_admin(client, org, appeal, city_leader, dept_staff):
    instruction = instructions.instruction_issue(actor=city_leader, appeal=appeal, text="请办理")
    receipt = _receipt(instruction, org["housing"])
    client.force_login(dept_staff)
    change = client.get(reverse("admin:authorization_instructionreceipt_change", args=[receipt.pk]))
    assert reverse("admin:authorization_instructionreceipt_acknowledge", args=[receipt.pk]) in change.content.decode()
    response = client.post(
        reverse("admin:authorization_instructionreceipt_acknowledge", args=[receipt.pk]), {"version": 0}
    )
    assert response.status_code == 302
    url = reverse("admin:authorization_instructionreceipt_record_action", args=[receipt.pk])
    response = client.post(url, {"version": 0, "note": ""})
    assert response.status_code == 200  # the form again: the note is required
    response = client.post(url, {"version": 0, "note": "已现场处置"})
    assert response.status_code == 302
    receipt.refresh_from_db()
    assert receipt.acknowledged_by == dept_staff and receipt.action_note == "已现场处置"
    # Done: it leaves the default list ("open"), and shows under "done".
    changelist = reverse("admin:authorization_instructionreceipt_changelist")
    assert list(client.get(changelist).context["cl"].result_list) == []
    assert [r.pk for r in client.get(changelist, {"state": "done"}).context["cl"].result_list] == [receipt.pk]


def test_a_city_leader_issues_an_instruction_through_the_admin(client, org, appeal, city_leader, dept_staff):
    client.force_login(city_leader)
    add = reverse("admin:authorization_instruction_add")
    page = client.get(add, {"appeal": appeal.pk})
    assert page.status_code == 200
    assert page.context["adminform"].form.initial["appeal"] == str(appeal.pk)
    response = client.post(
        add,
        {
            "appeal": appeal.pk,
            "text": "请住建局牵头，48小时内办结",
            "respond_by_0": "",
            "respond_by_1": "",
            "departments": [org["housing"].pk],
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    instruction = Instruction.objects.get()
    assert [r.department for r in instruction.receipts.all()] == [org["housing"]]
    assert response["Location"] == reverse("admin:authorization_instruction_change", args=[instruction.pk])
    assert client.get(response["Location"]).status_code == 200
    assert client.get(reverse("admin:authorization_instruction_changelist")).status_code == 200
    # Department staff may not issue instructions through the admin.
    client.force_login(dept_staff)
    assert client.get(add).status_code == 403
    assert client.post(add, {"appeal": appeal.pk, "text": "x"}).status_code == 403
    assert Instruction.objects.count() == 1


def test_the_receipt_list_query_count_does_not_grow_with_rows(client, org, appeal, city_leader, dept_staff):
    def issue(n):
        for _n in range(n):
            instructions.instruction_issue(
                actor=city_leader, appeal=appeal, text="请办理", departments=[org["housing"]]
            )

    url = reverse("admin:authorization_instructionreceipt_changelist")
    issue(10)
    client.force_login(dept_staff)
    client.get(url)  # warm caches (content types, sessions)
    with CaptureQueriesContext(connection) as ten:
        assert len(client.get(url).context["cl"].result_list) == 10
    issue(40)
    with CaptureQueriesContext(connection) as fifty:
        response = client.get(url)
    assert len(response.context["cl"].result_list) == 50
    assert len(fifty) == len(ten), [q["sql"] for q in fifty.captured_queries]
    # The leader's instruction list too.
    client.force_login(city_leader)
    url = reverse("admin:authorization_instruction_changelist")
    client.get(url)
    with CaptureQueriesContext(connection) as leader:
        response = client.get(url)
    assert len(response.context["cl"].result_list) == 50
    issue(5)
    with CaptureQueriesContext(connection) as more:
        client.get(url)
    assert len(more) == len(leader)


READERS = {
    "authorization_instruction": {"dispatcher", "dept_staff", "dept_leader", "city_leader", "inspector"},
    "authorization_instructionreceipt": {"dept_staff", "dept_leader", "city_leader", "inspector"},
}


@pytest.mark.parametrize("name", sorted(READERS))
def test_instruction_changelists_by_role(client, users_by_role, name):
    url = reverse(f"admin:{name}_changelist")
    for role, user in users_by_role.items():
        client.force_login(user)
        expected = 200 if role in READERS[name] else 403
        assert client.get(url, {"q": "20260601"}).status_code == expected, role
        add = client.get(reverse(f"admin:{name}_add")).status_code
        assert add == (
            200
            if (role, name)
            in {("city_leader", "authorization_instruction"), ("dept_leader", "authorization_instruction")}
            else 403
        ), role
