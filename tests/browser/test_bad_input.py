"""Bad input on each form of the loop, through the browser: the page answers in Chinese
what is wrong, keeps what was typed, and nothing is written."""

import pytest

from apps.appeals.models import Appeal
from apps.audit.models import AuditEvent
from apps.authorization.models import ApprovalRequest
from apps.tasks.models import Task

pytestmark = pytest.mark.django_db(transaction=True)


def _refused(w, *words):
    """The form came back with a Chinese error naming the problem."""
    errors = w.errors()
    assert errors, f"no error shown on {w.path}"
    for word in words:
        assert word in errors, (word, errors)


def test_every_form_of_the_loop_refuses_bad_input_in_chinese_and_writes_nothing(browser, demo_city):
    w = browser
    w.strict = True

    # Intake: no content, a phone that is not one.
    w.login("operator")
    w.click("登记诉求", within="#workbench")
    w.pick_autocomplete("category", "占道", "占道经营")
    w.pick_autocomplete("area", "张公桥社区")
    w.fill("citizen_phone", "12345")
    appeals, log = Appeal.objects.count(), AuditEvent.objects.count()
    w.submit()
    _refused(w)
    assert "这个字段是必填项" in w.errors() or "必填" in w.errors()  # the content
    assert w.driver.find_element("name", "citizen_phone").get_attribute("value") == "12345"  # kept
    assert Appeal.objects.count() == appeals and AuditEvent.objects.count() == log

    # Dispatch to another department than the catalogue's, without a reason.
    appeal = Appeal.objects.filter(status="received").order_by("id").first()
    w.login("dispatcher")
    w.click("待派单", within="#workbench")
    w.open_row(appeal.tracking_number)
    w.action("dispatch")
    w.pick_autocomplete("lead", "教育", "嘉州市教育局")
    tasks = Task.objects.count()
    w.submit("#action-form")
    _refused(w, "派单目录")
    assert Task.objects.count() == tasks
    appeal.refresh_from_db()
    assert appeal.status == "received"

    # Reply "explained" without the policy basis; a contact note over the limit.
    w.login("dept_staff")
    task = Task.objects.filter(department__code="HOUSING", status="in_progress").order_by("id").first()
    w.open(f"/admin/tasks/task/{task.pk}/change/")
    w.action("reply")
    w.choose("result", "explained")
    w.fill("reply_text", "属于政策范围外事项，已向市民解释。")
    version = task.version
    w.submit("#action-form")
    _refused(w, "政策法规依据")
    task.refresh_from_db()
    assert task.version == version and task.status == "in_progress"

    # An extension longer than the rules allow.
    w.open(f"/admin/tasks/task/{task.pk}/change/")
    w.action("request_extension")
    w.fill("days", "20").fill("reason", "需要更长时间")
    requests = ApprovalRequest.objects.count()
    w.submit("#action-form")
    _refused(w, "10")
    assert ApprovalRequest.objects.count() == requests

    # A leader's decision without a comment.
    pending = ApprovalRequest.objects.filter(status="pending").first()
    w.login("dept_leader")
    w.open(f"/admin/authorization/approvalrequest/{pending.pk}/change/")
    w.action("approve")
    w.submit("#action-form")
    _refused(w)
    pending.refresh_from_db()
    assert pending.status == "pending"
