"""What an attacker with a staff login typed to get a 500 (issue 12), and the same class of
input in every other form taking an id or a date: each is a clear form error, nothing written."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.appeals.models import Appeal
from apps.audit.models import AuditEvent
from apps.core.form_input import parse_id
from apps.tasks import services as task_services
from apps.tasks.models import Task
from tests import factories

pytestmark = pytest.mark.django_db

BAD_IDS = ["abc", "1.5", "-1", "²", "１２", "99999999999999999999999"]
BAD_DATES = ["0001-01-01", "9999-12-31"]
DATE_ERROR = "请输入 1900-01-01 至 2100-12-31 之间的日期。"


@pytest.fixture
def appeal(operator, org, catalog):
    return factories.make_appeal(operator=operator, category=catalog["leaf"], area=org["street"])


@pytest.fixture
def p0_appeal(operator, org, catalog):
    # Escalated at intake: one a city leader may consult on.
    return factories.make_appeal(operator=operator, category=catalog["leaf"], area=org["street"], priority="P0")


def _split(name, value) -> dict:
    """The admin's date-and-time widget posts two inputs."""
    day, _sep, time = value.partition(" ")
    return {f"{name}_0": day, f"{name}_1": time or "00:00"}


@pytest.fixture
def signed_task(appeal, dispatcher, dept_staff, org):
    task = task_services.appeal_dispatch(actor=dispatcher, appeal=appeal, lead=org["housing"], override_reason="属地")
    return task_services.task_sign(actor=dept_staff, task=task)


def _zh(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "zh-hans"
    return client


def _assert_form_error(response, *texts):
    assert response.status_code == 200, response.status_code
    body = response.content.decode()
    assert "errorlist" in body
    for text in texts:
        assert text in body
    return body


def test_parse_id_takes_only_plain_numbers_an_id_could_be():
    assert parse_id("42") == 42
    assert parse_id(" 7 ") == 7
    assert [parse_id(v) for v in [*BAD_IDS, "", None]] == [None] * (len(BAD_IDS) + 2)


# --- The appeal change page --------------------------------------------------------------------


@pytest.mark.parametrize("role", ["operator", "dispatcher"])
def test_a_post_to_the_appeal_change_page_is_refused_without_a_change(client, request, appeal, role):
    client.force_login(request.getfixturevalue(role))
    url = reverse("admin:appeals_appeal_change", args=[appeal.pk])
    response = client.post(url, {"citizen_phone": "13000000000", "status": "closed", "change_reason": "x"})
    assert response.status_code == 405
    appeal.refresh_from_db()
    assert (appeal.status, appeal.citizen_phone, appeal.version) == (Appeal.Status.RECEIVED, "13812341234", 1)
    assert client.get(url).status_code == 200  # the page itself still opens


# --- The dispatch form -------------------------------------------------------------------------


@pytest.mark.parametrize("bad", BAD_IDS)
@pytest.mark.parametrize("field", ["lead", "co"])
def test_a_bad_department_id_in_the_dispatch_form_is_a_form_error(client, dispatcher, appeal, org, field, bad):
    _zh(client).force_login(dispatcher)
    data = {"lead": org["housing"].pk, "co": [], "override_reason": "属地", "version": appeal.version, field: bad}
    response = client.post(reverse("admin:appeals_appeal_dispatch", args=[appeal.pk]), data)
    _assert_form_error(response)
    appeal.refresh_from_db()
    assert appeal.status == Appeal.Status.RECEIVED
    assert not Task.objects.filter(appeal=appeal).exists()


def test_a_bad_version_in_an_action_form_is_a_form_error(client, dispatcher, appeal, org):
    _zh(client).force_login(dispatcher)
    data = {"lead": org["housing"].pk, "override_reason": "属地", "version": "99999999999999999999999"}
    response = client.post(reverse("admin:appeals_appeal_dispatch", args=[appeal.pk]), data)
    assert response.status_code == 200
    assert not Task.objects.filter(appeal=appeal).exists()


# --- The inspector's history query and conduct pages --------------------------------------------


@pytest.mark.parametrize("bad", BAD_IDS)
@pytest.mark.parametrize("field", ["person", "department"])
def test_a_bad_person_or_department_id_in_the_history_query_is_a_form_error(client, inspector, field, bad):
    _zh(client).force_login(inspector)
    _assert_form_error(client.get(reverse("admin:supervision_history_query"), {field: bad}))


@pytest.mark.parametrize("bad", BAD_DATES)
@pytest.mark.parametrize("field", ["since", "until"])
def test_a_date_out_of_range_in_the_history_query_is_a_form_error(client, inspector, field, bad):
    _zh(client).force_login(inspector)
    _assert_form_error(client.get(reverse("admin:supervision_history_query"), {field: bad}), DATE_ERROR)


def test_an_out_of_range_date_is_refused_in_the_history_export_too_and_nothing_logged(client, inspector):
    client.force_login(inspector)
    before = AuditEvent.objects.count()
    response = client.get(reverse("admin:supervision_history_query"), {"until": "9999-12-31", "format": "csv"})
    assert response.status_code == 200
    assert "text/html" in response["Content-Type"]
    assert AuditEvent.objects.count() == before


@pytest.mark.parametrize(
    "cursor",
    [
        "0001-01-01T00:00:00+00:00|1|1",
        "9999-12-31T23:59:59+00:00|1|1",
        "2026-12-01T00:00:00|1|1",
        "2026-12-01T00:00:00+00:00|1|99999999999999999999999",
        "x|y|z",
    ],
)
def test_a_forged_page_cursor_in_the_history_query_shows_the_first_page(client, inspector, cursor):
    client.force_login(inspector)
    response = client.get(reverse("admin:supervision_history_query"), {"action": "", "before": cursor})
    assert response.status_code == 200


@pytest.mark.parametrize("bad", BAD_DATES)
@pytest.mark.parametrize("field", ["since", "until"])
def test_a_date_out_of_range_on_the_conduct_page_is_a_form_error(client, inspector, field, bad):
    _zh(client).force_login(inspector)
    _assert_form_error(client.get(reverse("admin:supervision_conduct"), {field: bad}), DATE_ERROR)


@pytest.mark.parametrize(
    "query",
    [
        {"since": "0001-01-01"},
        {"until": "9999-12-31"},
        {"department": "²"},
        {"person": "99999999999999999999999"},
        {"department": "abc"},
    ],
)
def test_bad_input_on_the_conduct_evidence_page_shows_the_page(client, inspector, query):
    from apps.supervision import conduct

    client.force_login(inspector)
    rule = next(iter(conduct.RULES))
    assert client.get(reverse("admin:supervision_conduct_evidence", args=[rule]), query).status_code == 200


@pytest.mark.parametrize("bad", ["²", "abc", "99999999999999999999999"])
def test_a_bad_appeal_id_on_the_trace_page_is_not_found(client, inspector, bad):
    client.force_login(inspector)
    response = client.get(f"/admin/supervision/tracedappeal/{bad}/change/")
    assert response.status_code == 404


# --- The same class of fault in the other forms --------------------------------------------------


@pytest.mark.parametrize("bad", ["0001-01-01 00:00", "9999-12-31 23:59"])
def test_a_contact_time_out_of_range_is_a_form_error(client, dept_staff, signed_task, bad):
    _zh(client).force_login(dept_staff)
    data = {
        "contacted_at": bad,
        "method": Task.ContactMethod.values[0],
        "note": "已电话联系",
        "version": signed_task.version,
    }
    response = client.post(reverse("admin:tasks_task_contact", args=[signed_task.pk]), data)
    _assert_form_error(response, DATE_ERROR)
    signed_task.refresh_from_db()
    assert signed_task.contacted_at is None


@pytest.mark.parametrize("bad", BAD_IDS)
def test_a_bad_department_id_in_the_return_decision_is_a_form_error(client, dispatcher, dept_staff, signed_task, bad):
    task = task_services.task_request_return(actor=dept_staff, task=signed_task, reason="不属于本单位职责")
    _zh(client).force_login(dispatcher)
    data = {"decision": "approve", "reassign_to": bad, "comment": "改派", "version": task.version}
    response = client.post(reverse("admin:tasks_task_decide_return", args=[task.pk]), data)
    _assert_form_error(response)
    task.refresh_from_db()
    assert task.status == Task.Status.RETURN_REQUESTED


@pytest.mark.parametrize("bad", BAD_IDS)
def test_a_bad_department_id_in_a_consultation_is_a_form_error(client, city_leader, p0_appeal, bad):
    from apps.authorization.models import Consultation

    _zh(client).force_login(city_leader)
    data = {
        "appeal": p0_appeal.pk,
        "topic": "职责争议",
        "question": "由谁承办？",
        **_split("deadline", "2026-12-30 12:00"),
        "departments": [bad],
        "change_reason": "会商",
    }
    response = client.post(reverse("admin:authorization_consultation_add"), data)
    _assert_form_error(response)
    assert not Consultation.objects.exists()


@pytest.mark.parametrize("bad", ["0001-01-01 00:00", "9999-12-31 23:59"])
def test_a_deadline_out_of_range_in_a_consultation_is_a_form_error(client, city_leader, p0_appeal, org, bad):
    from apps.authorization.models import Consultation

    _zh(client).force_login(city_leader)
    data = {
        "appeal": p0_appeal.pk,
        "topic": "职责争议",
        "question": "由谁承办？",
        **_split("deadline", bad),
        "departments": [org["housing"].pk],
        "change_reason": "会商",
    }
    response = client.post(reverse("admin:authorization_consultation_add"), data)
    _assert_form_error(response, DATE_ERROR)
    assert not Consultation.objects.exists()


@pytest.mark.parametrize("bad", ["0001-01-01 00:00", "9999-12-31 23:59", "abc", "99999999999999999999999"])
def test_bad_input_in_an_instruction_is_a_form_error(client, city_leader, appeal, org, bad):
    from apps.authorization.models import Instruction

    is_date = ":" in bad
    _zh(client).force_login(city_leader)
    data = {
        "appeal": appeal.pk,
        "text": "请尽快处理",
        **_split("respond_by", bad if is_date else "2026-12-30 12:00"),
        "departments": [org["housing"].pk if is_date else bad],
    }
    response = client.post(reverse("admin:authorization_instruction_add"), data)
    _assert_form_error(response, DATE_ERROR if is_date else "")
    assert not Instruction.objects.exists()


@pytest.mark.parametrize("bad", ["0001-01-01 00:00", "9999-12-31 23:59"])
def test_a_date_out_of_range_in_a_delegation_is_a_form_error(client, dept_leader, dept_staff, org, bad):
    from apps.authorization.models import Delegation

    _zh(client).force_login(dept_leader)
    data = {
        "grantee": dept_staff.pk,
        "kind": "extension",
        "scope": org["housing"].pk,
        "max_extension_days": 3,
        **_split("valid_from", "2026-12-01 00:00"),
        **_split("valid_until", bad),
        "reason": "授权",
        "change_reason": "授权",
    }
    response = client.post(reverse("admin:authorization_delegation_add"), data)
    _assert_form_error(response, DATE_ERROR)
    assert not Delegation.objects.exists()


@pytest.mark.parametrize(
    "params",
    [
        {"created_at__gte": "0001-01-01"},
        {"created_at__lt": "9999-12-31 23:59:59"},
        {"created_at__year": "1"},
        {"created_at__date": "0001-01-01"},
        {"created_at__range": "0001-01-01,2020-01-01"},
    ],
)
def test_a_list_given_a_date_outside_the_calendar_says_so_and_does_not_fail(client, dispatcher, params):
    """0001-01-01 in Asia/Shanghai is before year 1 in UTC: it reached the database
    adapter and raised OverflowError (found by the fuzz on the approval requests' list)."""
    client.force_login(dispatcher)
    response = client.get("/admin/authorization/approvalrequest/", params)
    assert response.status_code == 302 and "e=1" in response.url


@pytest.mark.parametrize(
    "params", [{"id__in": "99999999999999999999999999"}, {"grantee": "9" * 30}, {"id": "-" + "9" * 30}]
)
def test_a_list_given_an_id_the_database_cannot_hold_says_so_and_does_not_fail(client, dept_leader, params):
    """10**26 passed Django's type check and reached SQLite (OverflowError; found by the fuzz)."""
    client.force_login(dept_leader)
    response = client.get("/admin/authorization/delegation/", params)
    assert response.status_code == 302 and "e=1" in response.url
