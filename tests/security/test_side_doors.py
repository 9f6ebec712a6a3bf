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


# --- Missing and forbidden look the same -------------------------------------------------------

MISSING_PK = 987654


@pytest.fixture
def case_objects(org, catalog, operator, dispatcher, dept_staff, dept_leader, city_leader, system_actor):
    """One row of each kind an attacker probes: appeal, work order, reminder, approval
    request, return visit (and their history)."""
    import datetime as dt

    from django.utils import timezone

    from apps.authorization import services as authz
    from apps.followups import services as followup_services
    from apps.tasks import services as task_services

    authz.delegation_grant(
        actor=city_leader,
        grantee=dept_leader,
        kind="extension",
        scope=org["housing"],
        max_extension_days=5,
        valid_until=timezone.now() + dt.timedelta(days=60),
        reason="授权",
    )
    appeal = factories.make_appeal(operator=operator, category=catalog["leaf"], area=org["street"], phone=PHONE)
    task = task_services.appeal_dispatch(actor=dispatcher, appeal=appeal, lead=org["housing"], override_reason="属地")
    task = task_services.task_sign(actor=dept_staff, task=task)
    approval = authz.approval_request(actor=dept_staff, kind="extension", task=task, extension_days=3, reason="勘验")
    task.refresh_from_db()
    task_services.sla_sweep(actor=system_actor, now=timezone.now() + dt.timedelta(days=40))
    task.refresh_from_db()
    task = task_services.task_record_contact(
        actor=dept_staff, task=task, contacted_at=timezone.now(), method="phone", note="已电话联系"
    )
    task = task_services.task_reply(actor=dept_staff, task=task, result="resolved", reply_text="已清理")
    followup_services.task_review_and_schedule(actor=dispatcher, task=task, accept=True, comment="")
    from apps.followups.models import Visit
    from apps.tasks.models import Reminder

    objects = {
        "appeals_appeal": appeal,
        "tasks_task": task,
        "tasks_reminder": Reminder.objects.filter(task=task).first(),
        "authorization_approvalrequest": approval,
        "followups_visit": Visit.objects.filter(appeal=appeal).first(),
    }
    assert all(objects.values()), objects
    return objects


def _object_urls(base, model_admin, pk) -> list[str]:
    urls = [reverse(f"{base}_change", args=[pk]), reverse(f"{base}_history", args=[pk])]
    urls.append(reverse(f"{base}_delete", args=[pk]))
    for action in getattr(model_admin, "object_actions", []):
        urls.append(reverse(f"{base}_{action.name}", args=[pk]))
    return urls


def _page(response) -> tuple[int, str]:
    """Status and the error page's heading (the same page, not only the same number)."""
    import re

    body = response.content.decode()
    heading = re.search(r"<h1[^>]*>(.*?)</h1>", body, re.S)
    return response.status_code, (heading.group(1).strip() if heading else "")


@pytest.mark.parametrize(
    "kind", ["appeals_appeal", "tasks_task", "tasks_reminder", "authorization_approvalrequest", "followups_visit"]
)
def test_a_forbidden_object_answers_exactly_like_a_missing_one(client, users_by_role, outsider, case_objects, kind):
    obj = case_objects[kind]
    model_admin = admin.site._registry[type(obj)]
    base = f"admin:{kind}"
    hidden_from = []
    for user in [*users_by_role.values(), outsider]:
        client.force_login(user)
        if client.get(reverse(f"{base}_change", args=[obj.pk])).status_code == 200:
            continue  # the user may see it: a refused action may say 403
        hidden_from.append(user.role)
        for real_url, missing_url in zip(
            _object_urls(base, model_admin, obj.pk), _object_urls(base, model_admin, MISSING_PK), strict=True
        ):
            for method in ("get", "post"):
                real = _page(getattr(client, method)(real_url, {"version": 1, "reason": "x", "comment": "x"}))
                missing = _page(getattr(client, method)(missing_url, {"version": 1, "reason": "x", "comment": "x"}))
                assert real == missing, (user.role, method, real_url, real, missing)
                # A case desk refuses any POST before it looks the object up (405, both alike).
                assert real[0] == 404 or (method == "post" and real[0] == 405), (user.role, method, real_url, real)
    assert hidden_from  # someone is refused each kind: the test saw the forbidden case
    obj.refresh_from_db()
    assert getattr(obj, "version", 1) == getattr(case_objects[kind], "version", 1)  # no POST changed it


# --- A revealed phone rides in no cookie, and reveals are rate-limited -------------------------


def _cookie_texts(response) -> list[str]:
    """Every Set-Cookie value, raw and decoded as far as it goes (signed values are
    base64 of possibly compressed JSON: signed is not secret)."""
    import base64
    import zlib

    texts = []
    for morsel in response.cookies.values():
        value = morsel.value
        texts.append(value)
        for part in value.replace(":", ".").split("."):
            part = part.lstrip(".")
            try:
                raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
            except ValueError:
                continue
            for data in (raw, _try(zlib.decompress, raw)):
                if data:
                    texts.append(data.decode("utf-8", "replace"))
    return texts


def _try(fn, value):
    try:
        return fn(value)
    except Exception:  # not compressed: the raw bytes were already kept
        return b""


@pytest.fixture
def dispatched(org, catalog, operator, dispatcher):
    from apps.tasks import services as task_services

    appeal = factories.make_appeal(operator=operator, category=catalog["leaf"], area=org["street"], phone=PHONE)
    task = task_services.appeal_dispatch(actor=dispatcher, appeal=appeal, lead=org["housing"], override_reason="属地")
    return appeal, task


def test_messages_are_kept_in_the_session_not_in_a_cookie(settings):
    assert settings.MESSAGE_STORAGE == "django.contrib.messages.storage.session.SessionStorage"


@pytest.mark.parametrize("where", ["task", "appeal"])
def test_a_revealed_phone_is_shown_on_the_answer_and_rides_in_no_cookie(
    client, dispatched, dept_staff, operator, where
):
    appeal, task = dispatched
    user, url = (
        (dept_staff, reverse("admin:tasks_task_reveal", args=[task.pk]))
        if where == "task"
        else (operator, reverse("admin:appeals_appeal_reveal", args=[appeal.pk]))
    )
    client.force_login(user)
    response = client.post(url, {"version": 1, "reason": "需要电话联系诉求人"})
    assert response.status_code == 200  # the answer is the page itself, not a redirect
    body = response.content.decode()
    assert PHONE in body and 'class="messagelist"' in body and 'id="desk-actions"' in body
    assert "no-store" in response["Cache-Control"]
    assert all(PHONE not in text for text in _cookie_texts(response))
    # Nothing waits for the next page either: the number is not shown again.
    following = client.get(
        reverse(
            f"admin:{'tasks_task' if where == 'task' else 'appeals_appeal'}_change",
            args=[task.pk if where == "task" else appeal.pk],
        )
    )
    assert PHONE not in following.content.decode()
    assert all(PHONE not in text for text in _cookie_texts(following))


def test_the_cookie_check_would_see_a_phone_in_a_cookie_stored_message(rf, settings):
    # The check above decodes what Django's cookie storage writes (guard against a test
    # that passes because it cannot read the cookie).
    from django.contrib.messages.storage.cookie import CookieStorage
    from django.http import HttpResponse

    request = rf.get("/")
    storage = CookieStorage(request)
    storage.add(20, f"phone {PHONE}")
    response = HttpResponse()
    storage.update(response)
    assert any(PHONE in text for text in _cookie_texts(response))


@pytest.fixture
def reveal_rate(settings):
    from django.core.cache import cache

    settings.CONTACT_REVEAL_RATE = "3/h"
    cache.clear()
    yield 3
    cache.clear()


def test_the_reveal_beyond_the_rate_is_refused_and_the_refusal_logged(client, dispatched, dept_staff, reveal_rate):
    from apps.audit.models import AuditEvent

    appeal, task = dispatched
    client.force_login(dept_staff)
    url = reverse("admin:tasks_task_reveal", args=[task.pk])
    for _n in range(reveal_rate):
        assert PHONE in client.post(url, {"version": 1, "reason": "联系诉求人"}).content.decode()
    refused = client.post(url, {"version": 1, "reason": "再次联系诉求人"}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert refused.status_code == 200
    body = refused.content.decode()
    assert PHONE not in body
    assert "已达上限" in body
    events = AuditEvent.objects.filter(action="appeal.contact_revealed", actor=dept_staff, target_id=str(appeal.pk))
    assert list(events.values_list("outcome", flat=True).order_by("seq")) == ["success"] * reveal_rate + ["failure"]
    last = events.order_by("-seq").first()
    assert last.reason == "再次联系诉求人" and last.changes["refused"] == "rate limit"


def test_the_rate_is_per_user(client, dispatched, dept_staff, dept_leader, reveal_rate):
    from apps.tasks import services as task_services

    appeal, _task = dispatched
    for _n in range(reveal_rate):
        task_services.appeal_reveal_contact(actor=dept_staff, appeal=appeal, reason="联系")
    with pytest.raises(task_services.ContactRevealLimited, match="contact details within 60 minutes"):
        task_services.appeal_reveal_contact(actor=dept_staff, appeal=appeal, reason="联系")
    assert task_services.appeal_reveal_contact(actor=dept_leader, appeal=appeal, reason="联系")["phone"] == PHONE


@pytest.fixture
def scheduled_visit(dispatched, dispatcher, dept_staff):
    from django.utils import timezone

    from apps.followups import services as followup_services
    from apps.followups.models import Visit
    from apps.tasks import services as task_services

    appeal, task = dispatched
    task = task_services.task_sign(actor=dept_staff, task=task)
    task = task_services.task_record_contact(
        actor=dept_staff, task=task, contacted_at=timezone.now(), method="phone", note="已电话联系"
    )
    task = task_services.task_reply(actor=dept_staff, task=task, result="resolved", reply_text="已清理")
    followup_services.task_review_and_schedule(actor=dispatcher, task=task, accept=True, comment="")
    return Visit.objects.get(appeal=appeal)


def test_the_number_to_dial_is_shown_on_the_visit_page_answering_the_call_start(client, scheduled_visit, visit_agent):
    client.force_login(visit_agent)
    response = client.post(reverse("admin:followups_visit_start", args=[scheduled_visit.pk]), {"version": 1})
    assert response.status_code == 200
    body = response.content.decode()
    assert PHONE in body and "no-store" in response["Cache-Control"]
    # The page is read after the call started: it offers recording the outcome of the call.
    assert 'data-action="record"' in body
    assert all(PHONE not in text for text in _cookie_texts(response))


def test_the_visit_call_is_not_started_over_the_rate_and_the_refusal_is_logged(
    client, scheduled_visit, visit_agent, reveal_rate
):
    from apps.audit.models import AuditEvent
    from apps.tasks import services as task_services

    visit = scheduled_visit
    appeal = visit.appeal
    for _n in range(reveal_rate):
        task_services.appeal_reveal_contact(actor=visit_agent, appeal=appeal, reason="回访")

    client.force_login(visit_agent)
    response = client.post(
        reverse("admin:followups_visit_start", args=[visit.pk]),
        {"version": visit.version},
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert response.status_code == 200
    assert "已达上限" in response.content.decode() and PHONE not in response.content.decode()
    visit.refresh_from_db()
    assert visit.call_started_at is None and visit.assigned_to_id is None
    refusal = AuditEvent.objects.filter(action="appeal.contact_revealed", actor=visit_agent).order_by("-seq").first()
    assert refusal.outcome == "failure" and refusal.target_id == str(appeal.pk)
    assert not AuditEvent.objects.filter(action="visit.call_started", actor=visit_agent).exists()
