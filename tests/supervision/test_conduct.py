"""Conduct flags on crafted data: each rule counts what it should, per department and per
person, with the work orders as evidence; counting costs one query per rule."""

import pytest
from django.urls import reverse

from apps.authorization import services as authz
from apps.supervision import conduct
from apps.tasks import services as task_services
from apps.tasks.models import Task
from tests.factories import make_appeal, make_user
from tests.supervision.conftest import at


@pytest.fixture
def crafted(scripted, org, catalog, operator, dispatcher, dept_staff, system_actor, time_machine):
    """Besides the scripted appeal (late sign-for, late contact, one reply sent back, one extension):
    - `ignored`: housing never signs; the sweep marks sign-for and contact missed;
    - `extended`: a market bureau order extended twice;
    - an appeal returned three times (housing -> market -> district -> housing)."""
    move = lambda m: time_machine.move_to(m, tick=False)  # noqa: E731
    move(at(3, 16, 9))
    ignored_appeal = make_appeal(operator=operator, category=catalog["leaf"], area=org["street"])
    ignored = task_services.appeal_dispatch(actor=dispatcher, appeal=ignored_appeal, lead=org["housing"],
                                            override_reason="属地")
    move(at(3, 18, 9))
    task_services.sla_sweep(actor=system_actor, now=at(3, 18, 9))
    # Extended twice (the housing leader holds the delegation; the market staff ask).
    market_staff = make_user(role="dept_staff", department=org["market"])
    market_leader = make_user(role="dept_leader", department=org["market"])
    from apps.organization.models import User

    city_leader = User.objects.get(role="city_leader")
    authz.delegation_grant(actor=city_leader, grantee=market_leader, kind="extension", scope=org["market"],
                           max_extension_days=5, valid_until=at(5, 1, 0), reason="市场监管延期授权")
    ext_appeal = make_appeal(operator=operator, category=catalog["leaf"], area=org["street"])
    extended = task_services.appeal_dispatch(actor=dispatcher, appeal=ext_appeal, lead=org["market"])
    extended = task_services.task_sign(actor=market_staff, task=extended)
    for days, why in [(2, "等待检测报告"), (3, "检测机构延期出具报告")]:
        request = authz.approval_request(actor=market_staff, kind="extension", task=extended, extension_days=days,
                                         reason=why)
        authz.approval_decide(actor=market_leader, request=request, approve=True, comment="同意")
    # Returned three times.
    bounced = make_appeal(operator=operator, category=catalog["leaf"], area=org["street"])
    task = task_services.appeal_dispatch(actor=dispatcher, appeal=bounced, lead=org["housing"], override_reason="试派")
    returners = {}
    for dept_key, next_key in [("housing", "market"), ("market", "district_gov"), ("district_gov", "housing")]:
        staff = dept_staff if dept_key == "housing" else make_user(role="dept_staff", department=org[dept_key])
        returners[dept_key] = staff
        task = task_services.task_request_return(actor=staff, task=task, reason="不属于本单位职责")
        task = task_services.task_decide_return(actor=dispatcher, task=task, approve=True, comment="改派",
                                                reassign_to=org[next_key])
    return {"ignored": ignored, "extended": extended, "bounced": bounced, "market_staff": market_staff,
            "returners": returners}


def test_flags_per_department(crafted, scripted, org):
    by_dept = conduct.summary_by_department()
    housing, market, district = (by_dept.get(org[k].pk, {}) for k in ("housing", "market", "district_gov"))
    # Housing: the scripted order (sign-for late) and the ignored one (sign-for and contact).
    assert housing["sign_overdue"] == 2
    assert housing["contact_overdue"] == 1
    assert housing["late_contact"] == 1
    assert housing["sent_back"] == 1
    assert housing["returned_often"] == 1
    assert "repeated_extensions" not in housing  # one extension is not "repeated"
    assert market["repeated_extensions"] == 1
    assert market["returned_often"] == 1 and district["returned_often"] == 1


def test_flags_per_staff_member_name_who_acted(crafted, scripted, dept_staff):
    by_person = conduct.summary_by_person()
    mine = by_person[dept_staff.pk]
    assert mine["late_contact"] == 1  # contacted 4.5 hours after the limit
    assert mine["sent_back"] == 1  # replied, and the reply was sent back
    assert mine["returned_often"] == 1  # asked to return the thrice-returned appeal
    assert by_person[crafted["market_staff"].pk]["repeated_extensions"] == 1
    # Nobody signed the ignored order: its contact miss is the department's, not a person's.
    assert mine.get("contact_overdue", 0) == 0


def test_the_period_is_the_dispatch_time(crafted, scripted, org):
    only_scripted = conduct.summary_by_department(since=at(3, 1, 0), until=at(3, 15, 0))
    assert only_scripted[org["housing"].pk]["sign_overdue"] == 1
    assert org["market"].pk not in only_scripted


def test_drill_down_lists_the_evidence(client, inspector, crafted, scripted, org):
    rows = conduct.evidence("sign_overdue", department_id=org["housing"].pk)
    assert {t.pk for t in rows} == {scripted["task"].pk, crafted["ignored"].pk}
    client.force_login(inspector)
    response = client.get(reverse("admin:supervision_conduct"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "市住房和城乡建设局" in page
    url = reverse("admin:supervision_conduct_evidence", args=["sign_overdue"])
    response = client.get(url, {"department": org["housing"].pk})
    assert response.status_code == 200
    assert {t.pk for t in response.context["tasks"]} == {scripted["task"].pk, crafted["ignored"].pk}
    assert scripted["appeal"].tracking_number in response.content.decode()


def test_counting_costs_one_query_per_rule(crafted, django_assert_max_num_queries):
    with django_assert_max_num_queries(len(conduct.RULES)):
        conduct.summary_by_department()
    with django_assert_max_num_queries(len(conduct.RULES)):
        conduct.summary_by_person()


def test_the_evidence_page_costs_the_same_for_few_and_many_rows(client, inspector, crafted, org,
                                                                  django_assert_max_num_queries):
    client.force_login(inspector)
    url = reverse("admin:supervision_conduct_evidence", args=["returned_often"])
    with django_assert_max_num_queries(12):
        few = client.get(url, {"department": org["market"].pk})
    with django_assert_max_num_queries(12):
        more = client.get(url)
    assert len(few.context["tasks"]) == 1 and len(more.context["tasks"]) == 3


def test_a_later_app_plugs_in_a_rule(crafted):
    rule = conduct.Rule("plugged_in", conduct.Kind.WRONG, "plugged in",
                        lambda: Task.objects.filter(pk=crafted["extended"].pk), "signed_by")
    conduct.register(rule)
    try:
        assert conduct.summary_by_person()[crafted["market_staff"].pk]["plugged_in"] == 1
    finally:
        conduct.RULES.pop("plugged_in")


def test_the_page_shows_the_last_30_days_unless_asked_for_all_time(client, inspector, crafted, time_machine):
    # Everything crafted was dispatched in March; in August the default period is empty.
    time_machine.move_to(at(8, 20, 9), tick=False)
    client.force_login(inspector)
    response = client.get(reverse("admin:supervision_conduct"))
    assert response.status_code == 200
    assert response.context["form"]["since"].value() == "2026-07-21"
    assert response.context["dept_rows"] == []
    assert "since=2026-07-21" in response.context["params"]  # the drill-down counts the same period
    # Both dates emptied: all time.
    response = client.get(reverse("admin:supervision_conduct"), {"since": "", "until": ""})
    assert response.context["dept_rows"], "all time includes March"


def test_a_malformed_date_is_reported_and_the_default_period_kept(client, inspector, crafted, time_machine):
    time_machine.move_to(at(8, 20, 9), tick=False)
    client.force_login(inspector)
    response = client.get(reverse("admin:supervision_conduct"), {"since": "2026-13-45"})
    assert response.status_code == 200
    assert response.context["form"].errors["since"]
    assert response.context["dept_rows"] == []  # the last 30 days, not all time
