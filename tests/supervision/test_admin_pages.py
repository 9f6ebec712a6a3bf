"""Supervision admin lists: constant query counts, the inspector's home page links."""

from django.urls import reverse
from django.utils import timezone

from apps.core.history import set_history_context
from apps.supervision.models import AccountabilityRecord, SupervisionCase
from apps.tasks import services as task_services
from tests.factories import make_appeal


def _cases(org, catalog, operator, dispatcher, n):
    """n supervision steps (test data written directly: three per work order and limit level)."""
    made = 0
    while made < n:
        appeal = make_appeal(operator=operator, category=catalog["leaf"], area=org["street"])
        task = task_services.appeal_dispatch(actor=dispatcher, appeal=appeal, lead=org["housing"],
                                             override_reason="测试")
        for limit in ["sign", "contact", "resolve"]:
            for level in ["reminder", "notice", "criticism"]:
                if made == n:
                    return
                now = timezone.now()
                case = SupervisionCase(task=task, appeal=appeal, department=task.department, limit=limit,
                                       level=level, missed_due_at=now, raised_at=now, answer_due_at=now)
                set_history_context(case, actor=dispatcher, reason="测试数据")
                case.save()
                made += 1


def test_the_supervision_case_list_costs_the_same_for_3_and_20_rows(
    client, org, catalog, operator, dispatcher, dept_staff, django_assert_max_num_queries
):
    client.force_login(dept_staff)
    url = reverse("admin:supervision_supervisioncase_changelist")
    _cases(org, catalog, operator, dispatcher, 3)
    client.get(url)  # warm the session and permission caches
    with django_assert_max_num_queries(12) as few:
        assert client.get(url).status_code == 200
    _cases(org, catalog, operator, dispatcher, 17)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(url)
    assert len(response.context["cl"].result_list) == 20


def test_the_accountability_list_costs_the_same_for_3_and_20_rows(
    client, org, inspector, dept_staff, django_assert_max_num_queries
):
    def records(n):
        for i in range(n):
            rec = AccountabilityRecord(subject_department=org["housing"], subject_person=dept_staff,
                                       finding=f"问题{i}", recorded_by=inspector, recorded_at=timezone.now())
            set_history_context(rec, actor=inspector, reason="测试数据")
            rec.save()

    client.force_login(inspector)
    url = reverse("admin:supervision_accountabilityrecord_changelist")
    records(3)
    client.get(url)
    with django_assert_max_num_queries(12) as few:
        assert client.get(url).status_code == 200
    records(17)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(url)
    assert len(response.context["cl"].result_list) == 20


def test_the_inspectors_home_page_leads_to_the_tracing_pages(client, inspector):
    client.force_login(inspector)
    page = client.get(reverse("admin:index")).content.decode()
    for name in ["admin:supervision_tracedappeal_changelist", "admin:supervision_history_query",
                 "admin:supervision_conduct", "admin:supervision_accountabilityrecord_changelist"]:
        assert reverse(name) in page, name
    for name in ["admin:supervision_history_query", "admin:supervision_conduct",
                 "admin:supervision_tracedappeal_changelist"]:
        assert client.get(reverse(name)).status_code == 200, name


def test_the_inspectors_home_page_speaks_chinese(client, inspector, dept_staff):
    client.force_login(inspector)
    page = client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    for text in ["诉求全程追溯", "历史查询", "作风问题标记", "督办事项（催办/督办/通报）", "问责记录"]:
        assert text in page, text
    client.force_login(dept_staff)
    page = client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "督办事项（催办/督办/通报）" in page and "历史查询" not in page
