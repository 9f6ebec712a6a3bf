"""Delegations and approval requests (issue 5 acceptance)."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from apps.appeals.models import Appeal
from apps.audit.models import AuditEvent
from apps.authorization import services
from apps.authorization.models import ApprovalRequest
from apps.core.exceptions import DomainError, NotPermitted, StaleObject
from apps.tasks import permissions as task_permissions
from apps.tasks import services as task_services
from apps.tasks.models import Task
from tests.factories import make_appeal, make_user

TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def housing_task(org, catalog, operator, dispatcher):
    appeal = make_appeal(operator=operator, category=catalog["leaf"], area=org["street"])
    return task_services.appeal_dispatch(actor=dispatcher, appeal=appeal, lead=org["housing"], override_reason="测试")


@pytest.fixture
def delegated_leader(org, city_leader, dept_leader):
    """The housing bureau's leader may approve extensions up to 5 working days for 60 days."""
    services.delegation_grant(
        actor=city_leader,
        grantee=dept_leader,
        kind="extension",
        scope=org["housing"],
        max_extension_days=5,
        valid_until=timezone.now() + dt.timedelta(days=60),
        reason="住建系统延期审批授权",
    )
    return dept_leader


def test_a_leader_delegates_only_what_they_hold(org, city_leader, dept_leader, delegated_leader):
    other_leader = make_user(role="dept_leader", department=org["housing"])
    # Within what they hold: fine.
    services.delegation_grant(
        actor=dept_leader,
        grantee=other_leader,
        kind="extension",
        scope=org["housing"],
        max_extension_days=3,
        valid_until=timezone.now() + dt.timedelta(days=30),
        reason="分管副局长",
    )
    with pytest.raises(DomainError, match="5"):
        services.delegation_grant(
            actor=dept_leader,
            grantee=other_leader,
            kind="extension",
            scope=org["housing"],
            max_extension_days=8,
            valid_until=timezone.now() + dt.timedelta(days=30),
            reason="超限",
        )
    with pytest.raises(NotPermitted):
        services.delegation_grant(
            actor=dept_leader,
            grantee=other_leader,
            kind="extension",
            scope=org["market"],
            max_extension_days=3,
            valid_until=timezone.now() + dt.timedelta(days=30),
            reason="越权",
        )
    with pytest.raises(NotPermitted):
        services.delegation_grant(
            actor=dept_leader,
            grantee=other_leader,
            kind="closure",
            scope=org["housing"],
            valid_until=timezone.now() + dt.timedelta(days=30),
            reason="未持有",
        )
    with pytest.raises(DomainError):
        services.delegation_grant(
            actor=dept_leader,
            grantee=other_leader,
            kind="extension",
            scope=org["housing"],
            max_extension_days=3,
            valid_until=timezone.now() + dt.timedelta(days=90),
            reason="超期",
        )
    assert AuditEvent.objects.filter(action="delegation.granted").count() == 2


def test_an_approved_extension_moves_the_due_date_on_the_working_day_calendar(
    org, catalog, operator, dispatcher, dept_staff, city_leader, holidays_2026, time_machine
):
    time_machine.move_to(dt.datetime(2026, 9, 24, 10, 0, tzinfo=TZ), tick=False)
    dept_leader = make_user(role="dept_leader", department=org["housing"])
    services.delegation_grant(
        actor=city_leader,
        grantee=dept_leader,
        kind="extension",
        scope=org["housing"],
        max_extension_days=5,
        valid_until=timezone.now() + dt.timedelta(days=60),
        reason="授权",
    )
    appeal = make_appeal(operator=operator, category=catalog["leaf"], area=org["street"])
    task = task_services.appeal_dispatch(actor=dispatcher, appeal=appeal, lead=org["housing"], override_reason="测试")
    assert task.resolve_due_at == dt.datetime(2026, 10, 1, 10, 0, tzinfo=TZ)  # 7 calendar days
    request = services.approval_request(
        actor=dept_staff, kind="extension", task=task, extension_days=3, reason="需协调多个部门现场勘验"
    )
    # Routed to the delegated leader, not to the city leader.
    assert list(request.approvalrequestuserobjectpermission_set.values_list("user__username", flat=True)) == [
        dept_leader.username
    ]
    services.approval_decide(actor=dept_leader, request=request, approve=True, comment="同意延期3个工作日")
    task.refresh_from_db()
    # The limit fell on Thu 10-01, a holiday: three working days are 10-08, 10-09 and the make-up
    # Saturday 10-10, so the new limit is the end of 10-10 (00:00 on 10-12, Sunday 10-11 being off).
    assert task.resolve_due_at == dt.datetime(2026, 10, 12, 0, 0, tzinfo=TZ)
    assert task.extended_days == 3
    request.refresh_from_db()
    assert request.status == "approved" and request.decided_by == dept_leader
    assert task.history.first().history_change_reason.endswith("同意延期3个工作日")


def test_a_leader_outside_the_scope_is_refused_with_a_clear_message(org, housing_task, dept_staff, city_leader):
    market_leader = make_user(role="dept_leader", department=org["market"])
    services.delegation_grant(
        actor=city_leader,
        grantee=market_leader,
        kind="extension",
        scope=org["market"],
        max_extension_days=5,
        valid_until=timezone.now() + dt.timedelta(days=60),
        reason="市场监管授权",
    )
    request = services.approval_request(
        actor=dept_staff, kind="extension", task=housing_task, extension_days=2, reason="需要更多时间"
    )
    with pytest.raises(NotPermitted, match="outside the scope"):
        services.approval_decide(actor=market_leader, request=request, approve=True, comment="同意")
    request.refresh_from_db()
    assert request.status == "pending"


def test_a_leader_past_the_validity_is_refused(org, housing_task, dept_staff, delegated_leader, time_machine):
    request = services.approval_request(
        actor=dept_staff, kind="extension", task=housing_task, extension_days=2, reason="需要更多时间"
    )
    time_machine.move_to(timezone.now() + dt.timedelta(days=61), tick=False)
    with pytest.raises(NotPermitted, match="valid"):
        services.approval_decide(actor=delegated_leader, request=request, approve=True, comment="同意")


def test_above_the_limit_goes_to_the_city_leaders_and_the_delegate_is_refused(
    org, housing_task, dept_staff, delegated_leader, city_leader
):
    request = services.approval_request(
        actor=dept_staff, kind="extension", task=housing_task, extension_days=8, reason="工程量大"
    )
    routed = set(request.approvalrequestuserobjectpermission_set.values_list("user_id", flat=True))
    assert routed == {city_leader.pk}
    with pytest.raises(NotPermitted, match="at most 5"):
        services.approval_decide(actor=delegated_leader, request=request, approve=True, comment="同意")
    services.approval_decide(actor=city_leader, request=request, approve=True, comment="特殊情况同意")


def test_nobody_decides_their_own_request_and_a_decision_needs_a_comment(
    org, housing_task, delegated_leader, city_leader
):
    request = services.approval_request(
        actor=delegated_leader, kind="extension", task=housing_task, extension_days=2, reason="本人申请"
    )
    with pytest.raises(NotPermitted):
        services.approval_decide(actor=delegated_leader, request=request, approve=True, comment="自批")
    with pytest.raises(DomainError):
        services.approval_decide(actor=city_leader, request=request, approve=True, comment="  ")
    request.refresh_from_db()
    assert request.status == "pending"


def test_the_second_of_two_deciders_is_told_who_decided(org, housing_task, dept_staff, delegated_leader, city_leader):
    request = services.approval_request(
        actor=dept_staff, kind="extension", task=housing_task, extension_days=2, reason="需要更多时间"
    )
    stale_copy = ApprovalRequest.objects.get(pk=request.pk)
    services.approval_decide(actor=delegated_leader, request=request, approve=False, comment="理由不充分")
    with pytest.raises(StaleObject, match=delegated_leader.username):
        services.approval_decide(actor=city_leader, request=stale_copy, approve=True, comment="同意")
    assert AuditEvent.objects.filter(action__in=["approval.approved", "approval.rejected"]).count() == 1
    housing_task.refresh_from_db()
    assert housing_task.extended_days == 0


@pytest.mark.django_db(transaction=True)
def test_two_leaders_deciding_at_the_same_moment_make_exactly_one_decision():
    """Real concurrency (PostgreSQL row locks); on SQLite writers are serialised anyway."""
    import threading

    from django.db import connection

    from tests.factories import build_catalog, build_org

    org = build_org()
    catalog = build_catalog(org)
    operator = make_user(role="operator", department=org["centre"])
    dispatcher = make_user(role="dispatcher", department=org["centre"])
    staff = make_user(role="dept_staff", department=org["housing"])
    leaders = [make_user(role="city_leader", department=org["gov"]) for _ in range(2)]
    appeal = make_appeal(operator=operator, category=catalog["leaf"], area=org["street"])
    task = task_services.appeal_dispatch(actor=dispatcher, appeal=appeal, lead=org["housing"], override_reason="测试")
    request = services.approval_request(actor=staff, kind="extension", task=task, extension_days=2, reason="并发")
    barrier, outcomes = threading.Barrier(2), []

    def decide(leader):
        try:
            barrier.wait()
            services.approval_decide(
                actor=leader,
                request=ApprovalRequest.objects.get(pk=request.pk),
                approve=True,
                comment=f"{leader.username} 同意",
            )
            outcomes.append("decided")
        except StaleObject as exc:
            outcomes.append(f"told: {exc}")
        except Exception as exc:  # SQLite: "database is locked" is the same refusal
            outcomes.append(f"told: {exc}")
        finally:
            # Each thread has its own connection: close it, or the test database cannot be
            # dropped at the end of the run ("being accessed by other users").
            connection.close()

    threads = [threading.Thread(target=decide, args=(leader,)) for leader in leaders]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(o.split(":")[0] for o in outcomes) == ["decided", "told"]
    task.refresh_from_db()
    assert task.extended_days == 2  # applied once


def test_escalation_lets_the_city_leader_see_that_appeal_and_nothing_else(
    org, catalog, operator, dispatcher, dept_staff, city_leader
):
    appeal = make_appeal(operator=operator, category=catalog["leaf"], area=org["street"])
    task = task_services.appeal_dispatch(actor=dispatcher, appeal=appeal, lead=org["housing"], override_reason="测试")
    other = make_appeal(operator=operator, category=catalog["leaf"], area=org["street"])
    other_task = task_services.appeal_dispatch(actor=dispatcher, appeal=other, lead=org["market"])
    assert not task_permissions.can_view(city_leader, task)
    request = services.approval_request(
        actor=dept_staff, kind="escalation", task=task, reason="涉及多部门，需市政府协调"
    )
    services.approval_decide(actor=city_leader, request=request, approve=True, comment="同意提级")
    appeal.refresh_from_db()
    task.refresh_from_db()
    assert appeal.is_escalated
    assert task_permissions.can_view(city_leader, task)
    assert not task_permissions.can_view(city_leader, other_task)
    assert task.resolve_due_at <= timezone.now() + dt.timedelta(hours=24)


def test_approved_exclusion_marks_the_appeal_and_closure_closes_the_task(
    org, housing_task, operator, dispatcher, dept_staff, city_leader
):
    appeal = housing_task.appeal
    req = services.approval_request(actor=operator, kind="exclusion", appeal=appeal, reason="同一诉求人恶意重复来电")
    services.approval_decide(actor=city_leader, request=req, approve=True, comment="同意不纳入考核")
    appeal.refresh_from_db()
    assert appeal.is_excluded_from_appraisal and "恶意" in appeal.exclusion_reason
    task = task_services.task_sign(actor=dept_staff, task=housing_task)
    req = services.approval_request(actor=dept_staff, kind="closure", task=task, reason="诉求超出法定职责，无法解决")
    services.approval_decide(actor=city_leader, request=req, approve=True, comment="同意按无法解决办结")
    task.refresh_from_db()
    appeal.refresh_from_db()
    assert task.status == Task.Status.DONE and task.result == "not_resolvable"
    assert appeal.status == Appeal.Status.REVIEWED


def test_stale_requests_remind_then_go_up_to_the_grantor_once(
    org,
    housing_task,
    dept_staff,
    delegated_leader,
    city_leader,
    holidays_2026,
    django_capture_on_commit_callbacks,
    system_actor,
):
    request = services.approval_request(
        actor=dept_staff, kind="extension", task=housing_task, extension_days=2, reason="需要更多时间"
    )
    first = request.next_escalation_at
    with django_capture_on_commit_callbacks(execute=True):
        assert services.approval_sweep(actor=system_actor, now=first - dt.timedelta(minutes=1)) == {
            "reminded": 0,
            "handed_up": 0,
        }
        assert services.approval_sweep(actor=system_actor, now=first) == {"reminded": 1, "handed_up": 0}
        assert services.approval_sweep(actor=system_actor, now=first) == {"reminded": 0, "handed_up": 0}
    request.refresh_from_db()
    # Exactly one reminder, however often the sweep ran (messages are English in tests).
    assert delegated_leader.notifications.filter(title__startswith="Reminder").count() == 1
    second = request.next_escalation_at
    assert second > first
    with django_capture_on_commit_callbacks(execute=True):
        assert services.approval_sweep(actor=system_actor, now=second) == {"reminded": 0, "handed_up": 1}
        assert services.approval_sweep(actor=system_actor, now=second) == {"reminded": 0, "handed_up": 0}
    request.refresh_from_db()
    routed = set(request.approvalrequestuserobjectpermission_set.values_list("user_id", flat=True))
    assert routed == {delegated_leader.pk, city_leader.pk}
    assert request.route_level == 1
    assert AuditEvent.objects.filter(action="approval.handed_up", target_id=str(request.pk)).count() == 1


def test_the_workbench_query_count_does_not_grow_with_requests(
    client, org, catalog, operator, dispatcher, dept_staff, city_leader
):
    def make(n):
        for _ in range(n):
            appeal = make_appeal(operator=operator, category=catalog["leaf"], area=org["street"])
            task = task_services.appeal_dispatch(
                actor=dispatcher, appeal=appeal, lead=org["housing"], override_reason="测试"
            )
            services.approval_request(actor=dept_staff, kind="extension", task=task, extension_days=2, reason="延期")

    make(3)
    client.force_login(city_leader)
    url = reverse("admin:authorization_approvalrequest_changelist")
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    make(20)
    with CaptureQueriesContext(connection) as many:
        response = client.get(url)
    assert len(response.context["cl"].result_list) == 23
    assert len(many) == len(few)
    assert "leader-figures" in response.content.decode()


def test_a_leader_decides_several_requests_of_one_kind_with_one_comment(
    client, org, catalog, operator, dispatcher, dept_staff, city_leader
):
    requests = []
    for _ in range(3):
        appeal = make_appeal(operator=operator, category=catalog["leaf"], area=org["street"])
        task = task_services.appeal_dispatch(
            actor=dispatcher, appeal=appeal, lead=org["housing"], override_reason="测试"
        )
        requests.append(
            services.approval_request(actor=dept_staff, kind="extension", task=task, extension_days=1, reason="延期")
        )
    client.force_login(city_leader)
    url = reverse("admin:authorization_approvalrequest_changelist")
    response = client.post(
        url,
        {
            "action": "approve_selected",
            "_selected_action": [r.pk for r in requests],
            "apply": "1",
            "comment": "统一同意",
        },
    )
    assert response.status_code == 302
    assert set(ApprovalRequest.objects.values_list("status", "comment")) == {("approved", "统一同意")}


def test_the_appeal_page_shows_every_request_decision_comment_and_decider(
    client, org, housing_task, dept_staff, city_leader, operator
):
    request = services.approval_request(
        actor=dept_staff, kind="extension", task=housing_task, extension_days=2, reason="需要更多时间"
    )
    services.approval_decide(actor=city_leader, request=request, approve=False, comment="请按期办结")
    client.force_login(operator)
    body = client.get(reverse("admin:appeals_appeal_change", args=[housing_task.appeal_id])).content.decode()
    assert "需要更多时间" in body and "请按期办结" in body and city_leader.username in body


def test_department_staff_request_an_extension_from_the_work_order_page(
    client, org, housing_task, dept_staff, delegated_leader
):
    client.force_login(dept_staff)
    url = reverse("admin:tasks_task_request_extension", args=[housing_task.pk])
    response = client.post(url, {"version": housing_task.version, "days": 2, "reason": "需协调"})
    assert response.status_code == 302
    request = ApprovalRequest.objects.get()
    assert request.requested_by == dept_staff and request.extension_days == 2
    client.force_login(delegated_leader)
    response = client.post(
        reverse("admin:authorization_approvalrequest_approve", args=[request.pk]),
        {"version": request.version, "comment": "同意"},
    )
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.status == "approved"
