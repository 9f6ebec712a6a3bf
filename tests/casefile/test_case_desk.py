"""The case desk: each role finds on the work-order, appeal and visit pages what it needs
to act, in the reader's language, and nothing it may not see."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.authorization import services as authz
from apps.followups import services as followups
from apps.followups.models import Visit
from apps.tasks import services as task_services
from tests.factories import make_appeal, make_user
from tests.followups.conftest import reply_and_accept

ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}


def _page(client, user, url):
    client.force_login(user)
    response = client.get(url, **ZH)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def _task_url(task, action=""):
    if action:
        return reverse(f"admin:tasks_task_{action}", args=[task.pk])
    return reverse("admin:tasks_task_change", args=[task.pk])


@pytest.fixture
def dispatched(org, catalog, operator, dispatcher, holidays_2026):
    appeal = make_appeal(
        operator=operator, category=catalog["leaf"], area=org["street"], content="路口占道摆摊，影响通行。"
    )
    task = task_services.appeal_dispatch(
        actor=dispatcher, appeal=appeal, lead=org["housing"], co=[org["market"]], override_reason="属地管理"
    )
    return appeal, task


@pytest.fixture
def replied(dispatched, dept_staff):
    appeal, task = dispatched
    task = task_services.task_sign(actor=dept_staff, task=task)
    task = task_services.task_record_contact(
        actor=dept_staff, task=task, contacted_at=None, method="phone", note="电话联系市民，约定周三现场查看"
    )
    task = task_services.task_reply(
        actor=dept_staff, task=task, result="explained", reply_text="经核查，该路段属临时疏导点。",
        policy_basis="《城市市容和环境卫生管理条例》第十四条",
    )
    return appeal, task


def test_the_work_order_page_is_a_desk_with_actions_countdown_and_no_wall_of_dashes(client, dispatched, dept_staff):
    _appeal, task = dispatched
    page = _page(client, dept_staff, _task_url(task))
    assert 'id="desk-actions"' in page
    assert reverse("admin:tasks_task_sign", args=[task.pk]) in page  # the action for this state
    assert reverse("admin:tasks_task_reply", args=[task.pk]) not in page  # not yet: sign first
    assert "还剩" in page  # the countdown beside the light
    assert "路口占道摆摊" in page and "属地管理" in page
    assert ">-<" not in page  # empty facts are left out, not shown as "-"
    # The running record names who dispatched, with role and department, in Chinese.
    assert "工单已派发" in page and "分办员" in page


def test_the_review_page_shows_the_reply_its_basis_and_the_contact_record(client, replied, dispatcher):
    _appeal, task = replied
    page = _page(client, dispatcher, _task_url(task, "review"))
    assert "经核查，该路段属临时疏导点。" in page
    assert "《城市市容和环境卫生管理条例》第十四条" in page
    assert "电话联系市民，约定周三现场查看" in page
    assert "已解释" in page or "解释" in page  # the result, by its label


def test_the_dispatch_page_loads_the_autocomplete_scripts_of_its_form(client, org, catalog, operator, dispatcher):
    appeal = make_appeal(operator=operator, category=catalog["leaf"], area=org["street"])
    page = _page(client, dispatcher, reverse("admin:appeals_appeal_dispatch", args=[appeal.pk]))
    assert "admin/js/vendor/select2/select2.full" in page
    assert "admin/js/autocomplete.js" in page
    assert "admin-autocomplete" in page  # the widgets themselves
    assert "市市场监督管理局" in page  # what the dispatch catalogue suggests, on the page


def test_every_action_page_loads_its_form_media(client, replied, dispatcher, dept_staff):
    """The fault behind 'dispatch override impossible' must not recur on any action page."""
    from django.contrib import admin

    from apps.tasks.models import Task

    _appeal, task = replied
    task_admin = admin.site.get_model_admin(Task)
    for user in (dispatcher, dept_staff):
        client.force_login(user)
        for action in task_admin.get_object_actions(type("R", (), {"user": user})(), task):
            response = client.get(_task_url(task, action.name))
            assert response.status_code == 200
            form = action.form_class(obj=task, user=user)
            for script in form.media._js:
                assert script in response.content.decode(), f"{action.name} lacks {script}"


def test_a_reopened_work_order_says_why_on_its_page_and_in_the_list(client, org, catalog, operator, dispatcher,
                                                                   visit_agent, holidays_2026):
    staff = make_user(role="dept_staff", department=org["market"])
    appeal = make_appeal(operator=operator, category=catalog["leaf"], area=org["street"])
    task = task_services.appeal_dispatch(actor=dispatcher, appeal=appeal, lead=org["market"])
    reply_and_accept(task, staff=staff, dispatcher=dispatcher, text="已清理。")
    visit = followups.visit_start_call(actor=visit_agent, visit=Visit.objects.get(appeal=appeal))
    followups.visit_record_outcome(
        actor=visit_agent, visit=visit, resolved=False, satisfaction="unsatisfied",
        citizen_words="摊位第二天又回来了。", fault="department", fault_note="未建立长效巡查",
    )
    page = _page(client, staff, _task_url(task))
    assert "回访后重办" in page or "重办" in page
    assert "摊位第二天又回来了。" in page  # the citizen's words
    assert "未建立长效巡查" in page  # the cause
    listing = _page(client, staff, reverse("admin:tasks_task_changelist"))
    assert "重办 ×1" in listing


def test_a_department_reads_its_own_part_of_the_record_not_another_departments(
    client, replied, dept_staff, org
):
    appeal, task = replied
    market = make_user(role="dept_staff", department=org["market"])
    co_task = appeal.tasks.get(department=org["market"])
    task_services.task_sign(actor=market, task=co_task)
    housing_page = _page(client, dept_staff, _task_url(task))
    assert "市市场监督管理局" in housing_page  # who else is on the case, by name
    # The market bureau signing its own work order is not in the housing bureau's record.
    assert housing_page.count("工单已签收") == 1


def test_an_extension_request_says_who_holds_it_everywhere(client, dispatched, dept_staff, dept_leader, city_leader):
    appeal, task = dispatched
    authz.delegation_grant(
        actor=city_leader, grantee=dept_leader, kind="extension", scope=dept_staff.department, max_extension_days=5,
        valid_until=timezone.now() + dt.timedelta(days=30), reason="授权",
    )
    task = task_services.task_sign(actor=dept_staff, task=task)
    client.force_login(dept_staff)
    response = client.post(
        _task_url(task, "request_extension"), {"version": task.version, "days": 3, "reason": "需现场勘验"}, follow=True,
        **ZH,
    )
    page = response.content.decode()
    holder = dept_leader.name or dept_leader.username
    assert holder in page and "部门负责人" in page  # the message names the leader who holds it
    page = _page(client, dept_staff, _task_url(task))
    assert "等待" in page and holder in page  # and so does the work order's page
    queue = _page(client, dept_leader, reverse("admin:authorization_approvalrequest_changelist"))
    assert appeal.tracking_number in queue  # the leader who holds it finds it waiting for them


def test_the_appeal_page_tells_the_operator_what_happens_next(client, org, catalog, operator):
    appeal = make_appeal(operator=operator, category=catalog["leaf"], area=org["street"])
    page = _page(client, operator, reverse("admin:appeals_appeal_change", args=[appeal.pk]))
    assert "分办员" in page  # it waits for a dispatcher
    assert reverse("admin:appeals_appeal_answer", args=[appeal.pk]) in page


def test_the_case_desk_refuses_a_post_and_changes_nothing(client, dispatched, dispatcher):
    appeal, _task = dispatched
    client.force_login(dispatcher)
    appeal.refresh_from_db()
    version = appeal.version
    response = client.post(reverse("admin:appeals_appeal_change", args=[appeal.pk]), {"status": "closed"})
    assert response.status_code == 405
    appeal.refresh_from_db()
    assert appeal.version == version and appeal.status == "dispatched"


def test_the_visit_page_shows_the_reply_the_citizen_is_asked_about(
    client, org, catalog, operator, dispatcher, visit_agent, holidays_2026
):
    staff = make_user(role="dept_staff", department=org["market"])
    appeal = make_appeal(operator=operator, category=catalog["leaf"], area=org["street"])
    task = task_services.appeal_dispatch(actor=dispatcher, appeal=appeal, lead=org["market"])
    reply_and_accept(task, staff=staff, dispatcher=dispatcher, text="经核查，摊点已清理并纳入日常巡查。")
    visit = Visit.objects.get(appeal=appeal)
    page = _page(client, visit_agent, reverse("admin:followups_visit_change", args=[visit.pk]))
    assert "经核查，摊点已清理并纳入日常巡查。" in page
    page = _page(client, visit_agent, reverse("admin:followups_visit_start", args=[visit.pk]))
    assert "经核查，摊点已清理并纳入日常巡查。" in page


def test_the_work_order_page_costs_the_same_queries_for_a_short_and_a_long_case(
    client, dispatched, dept_staff, dispatcher, django_assert_max_num_queries
):
    _appeal, task = dispatched
    client.force_login(dept_staff)
    url = _task_url(task)
    client.get(url)  # warm the per-process caches
    with django_assert_max_num_queries(40) as short:
        client.get(url)
    task = task_services.task_sign(actor=dept_staff, task=task)
    task = task_services.task_record_contact(
        actor=dept_staff, task=task, contacted_at=None, method="phone", note="已联系"
    )
    for i in range(6):
        task = task_services.task_reply(actor=dept_staff, task=task, result="resolved", reply_text=f"第{i}次")
        task = task_services.task_review(actor=dispatcher, task=task, accept=False, comment=f"退回{i}")
    with django_assert_max_num_queries(len(short) + 2):
        client.get(url)
