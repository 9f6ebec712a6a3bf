"""No side door to a citizen's personal data: no query-string lookup, ordering, filter,
search or autocomplete of any admin may match on a personal field (issue 12: a phone
number recovered digit by digit with ?citizen_phone__startswith=)."""

from __future__ import annotations

from collections import deque

import pytest
from django.contrib import admin
from django.contrib.admin.exceptions import DisallowedModelAdminLookup
from django.test import RequestFactory
from django.urls import reverse

from apps.appeals.models import Appeal
from apps.core.admin_forms import LargeTableAdmin, PersonalDataGuardMixin, personal_data_checks
from apps.core.personal_fields import personal_field_in_path, personal_fields_of
from tests import factories

pytestmark = pytest.mark.django_db

PHONE = "13912345678"
PERSONAL = ["citizen_phone", "citizen_name", "address"]


@pytest.fixture
def appeal(operator, org, catalog):
    return factories.make_appeal(
        operator=operator, category=catalog["leaf"], area=org["street"], phone=PHONE, address="嘉州路8号3单元"
    )


def _assert_refused(response):
    """The product's 400 page, and no row of the list."""
    assert response.status_code == 400
    body = response.content.decode()
    assert 'class="error-page"' in body
    assert "请求无法处理" in body  # the product's 400 page, in Chinese by default
    assert "result_list" not in body
    assert PHONE not in body


def _path_to_appeal(model, depth=3) -> str | None:
    """The shortest forward-relation path from `model` to Appeal ("task__appeal"), if any."""
    queue = deque([(model, "")])
    seen = {model}
    while queue:
        current, path = queue.popleft()
        if current is Appeal:
            return path
        if path.count("__") >= depth:
            continue
        for field in current._meta.get_fields():
            if field.is_relation and field.concrete and field.related_model and field.related_model not in seen:
                seen.add(field.related_model)
                queue.append((field.related_model, f"{path}__{field.name}" if path else field.name))
    return None


# --- Every admin inherits the guard ------------------------------------------------------------


def test_every_registered_admin_inherits_the_personal_data_guard():
    registered = admin.site._registry.values()
    unguarded = [type(ma).__name__ for ma in registered if not isinstance(ma, PersonalDataGuardMixin)]
    assert unguarded == []


def test_no_registered_admin_searches_filters_or_sorts_on_a_personal_field():
    problems = [str(e) for ma in admin.site._registry.values() for e in personal_data_checks(ma)]
    assert problems == []


def test_the_system_check_names_an_admin_that_would_search_or_sort_on_a_personal_field():
    class LeakyAdmin(LargeTableAdmin):
        search_fields = ["=tracking_number", "^citizen_phone"]
        list_filter = ["status", "citizen_name"]
        list_display = ["tracking_number", "address"]
        ordering = ["citizen_phone"]

    errors = personal_data_checks(LeakyAdmin(Appeal, admin.site))
    assert {e.id for e in errors} == {"xlx.E101"}
    messages = " ".join(e.msg for e in errors)
    for option in ("search_fields", "list_filter", "list_display", "ordering"):
        assert option in messages
    assert "Appeal.citizen_phone" in messages and "Appeal.address" in messages


# --- The declaration ---------------------------------------------------------------------------


def test_history_models_honour_the_personal_fields_of_the_model_they_record():
    historical = Appeal.history.model
    assert personal_fields_of(historical) == frozenset(Appeal.PERSONAL_FIELDS)
    assert personal_field_in_path(historical, "citizen_phone__startswith") == "HistoricalAppeal.citizen_phone"


@pytest.mark.parametrize(
    "model_path, path, found",
    [
        ("tasks.Task", "appeal__citizen_phone__startswith", "Appeal.citizen_phone"),
        ("followups.Visit", "appeal__address__icontains", "Appeal.address"),
        ("tasks.Reminder", "task__appeal__citizen_name", "Appeal.citizen_name"),
        ("appeals.Category", "appeals__citizen_phone__regex", "Appeal.citizen_phone"),  # a reverse relation
        ("appeals.Appeal", "-citizen_phone", "Appeal.citizen_phone"),  # an ordering
        ("appeals.Appeal", "status__exact", None),
        ("tasks.Task", "appeal__tracking_number", None),
    ],
)
def test_a_path_is_personal_when_it_ends_on_a_personal_field(model_path, path, found):
    from django.apps import apps

    assert personal_field_in_path(apps.get_model(model_path), path) == found


# --- Query-string lookups ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "citizen_phone__startswith=139",
        "citizen_phone=" + PHONE,
        "citizen_name__contains=张",
        "address__icontains=嘉州",
        "citizen_phone__lower__startswith=139",  # through a transform
        "content__regex=1[3-9]",  # free text: numbers in it are masked on display
        "merged_appeals__citizen_phone__startswith=139",  # through a relation to itself
    ],
)
def test_a_lookup_on_a_personal_field_of_the_appeal_list_answers_400(client, dispatcher, appeal, query):
    client.force_login(dispatcher)
    _assert_refused(client.get(f"{reverse('admin:appeals_appeal_changelist')}?{query}"))


def test_a_lookup_on_a_non_personal_field_still_filters_the_appeal_list(client, dispatcher, appeal):
    client.force_login(dispatcher)
    response = client.get(reverse("admin:appeals_appeal_changelist") + "?status__exact=received")
    assert response.status_code == 200
    assert appeal.tracking_number in response.content.decode()


@pytest.mark.parametrize(
    "url_name, query",
    [
        ("admin:tasks_task_changelist", "appeal__citizen_phone__startswith=139"),
        ("admin:followups_visit_changelist", "appeal__citizen_name=张三"),
        ("admin:tasks_reminder_changelist", "task__appeal__address__contains=嘉州"),
        ("admin:audit_auditevent_changelist", "changes__citizen_phone__startswith=139"),  # JSON
        ("admin:supervision_tracedappeal_changelist", "citizen_phone__startswith=139"),
    ],
)
def test_a_lookup_through_a_related_path_answers_400(client, inspector, appeal, url_name, query):
    client.force_login(inspector)
    _assert_refused(client.get(f"{reverse(url_name)}?{query}"))


def test_every_admin_refuses_a_lookup_reaching_a_citizens_phone(inspector, appeal):
    request = RequestFactory().get("/")
    request.user = inspector
    reached = 0
    for model, model_admin in admin.site._registry.items():
        path = _path_to_appeal(model)
        if path is None:
            continue
        lookup = f"{path}__citizen_phone__startswith" if path else "citizen_phone__startswith"
        assert model_admin.lookup_allowed(lookup, "139", request) is False, type(model_admin).__name__
        reached += 1
    assert reached >= 10  # appeals, work orders, visits, reminders, approvals, supervision...


def test_a_popup_to_field_on_a_personal_field_is_refused(client, dispatcher, appeal):
    client.force_login(dispatcher)
    response = client.get(reverse("admin:appeals_appeal_changelist") + "?_to_field=citizen_phone&_popup=1")
    assert response.status_code == 400
    assert PHONE not in response.content.decode()


# --- Ordering ----------------------------------------------------------------------------------


def test_an_ordering_on_a_personal_column_is_refused_and_the_column_not_sortable(dispatcher, appeal):
    class SortablePhoneAdmin(LargeTableAdmin):
        list_display = ["tracking_number", "citizen_phone"]

    model_admin = SortablePhoneAdmin(Appeal, admin.site)
    request = RequestFactory().get("/", {"o": "1"})
    request.user = dispatcher
    with pytest.raises(DisallowedModelAdminLookup, match="Appeal.citizen_phone"):
        model_admin.get_changelist_instance(request)

    request = RequestFactory().get("/", {"o": "0"})
    request.user = dispatcher
    changelist = model_admin.get_changelist_instance(request)
    assert changelist.get_ordering_field("citizen_phone") is None
    assert changelist.get_ordering_field("tracking_number") == "tracking_number"


def test_an_ordering_of_the_real_appeal_list_by_a_shown_column_still_works(client, dispatcher, appeal):
    client.force_login(dispatcher)
    assert client.get(reverse("admin:appeals_appeal_changelist") + "?o=-2.1").status_code == 200


# --- Autocomplete ------------------------------------------------------------------------------


def _autocomplete(client, app_label, model_name, field_name, term):
    return client.get(
        reverse("admin:autocomplete"),
        {"app_label": app_label, "model_name": model_name, "field_name": field_name, "term": term},
    )


@pytest.mark.parametrize(
    "app_label, model_name, field_name",
    [
        ("tasks", "task", "appeal"),  # Task.appeal is no autocomplete: it would search appeals by phone
        ("appeals", "historicalappeal", "merged_into"),  # a history model as the source
        ("followups", "visit", "appeal"),
        ("appeals", "historicalappeal", "category"),
    ],
)
def test_an_autocomplete_through_a_field_no_admin_offers_answers_nothing(
    client, dispatcher, appeal, app_label, model_name, field_name
):
    client.force_login(dispatcher)
    response = _autocomplete(client, app_label, model_name, field_name, PHONE[:3])
    assert response.status_code in {403, 404}
    assert appeal.tracking_number not in response.content.decode()
    assert PHONE not in response.content.decode()


def test_an_autocomplete_an_admin_offers_still_answers(client, operator, appeal, catalog):
    client.force_login(operator)
    response = _autocomplete(client, "appeals", "appeal", "category", "占道")
    assert response.status_code == 200
    assert [r["id"] for r in response.json()["results"]] == [str(catalog["leaf"].pk)]
