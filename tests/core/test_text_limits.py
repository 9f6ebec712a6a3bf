"""One limit for every free text (apps.core.text_limits): the same in the model, the
form and the service; a text over it is refused with a message naming both lengths, and
nothing is written."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib import admin
from django.db import models
from django.utils import translation

from apps.audit.models import AuditEvent
from apps.core.admin_actions import ActionForm
from apps.core.admin_forms import ServiceModelForm
from apps.core.exceptions import DomainError
from apps.core.text_limits import LONG_TEXT, SHORT_TEXT, clip
from apps.tasks import services
from tests.factories import make_appeal, make_user

# TextFields the system writes, never a person: no limit.
SYSTEM_TEXT = {
    ("audit", "auditevent", "reason"),  # copies reasons, some composed with attempts listed
    ("notifications", "notification", "body"),
    ("outbox", "outboxmessage", "last_error"),
    ("appeals", "appeal", "search_text"),
}


@pytest.fixture
def market_staff(org):
    return make_user(role="dept_staff", department=org["market"])


@pytest.fixture
def signed_task(org, catalog, operator, dispatcher, market_staff):
    appeal = make_appeal(operator=operator, category=catalog["leaf"], area=org["street"])
    task = services.appeal_dispatch(actor=dispatcher, appeal=appeal, lead=org["market"])
    return services.task_sign(actor=market_staff, task=task)


def _written_for(task):
    task.refresh_from_db()
    return (
        task.version,
        task.contact_note,
        task.history.count(),
        AuditEvent.objects.filter(action="task.contacted").count(),
    )


def test_every_free_text_field_of_the_models_has_the_short_or_the_long_limit():
    unlimited, odd = [], []
    for model in apps.get_models():
        meta = model._meta
        if not model.__module__.startswith("apps.") or model.__name__.startswith("Historical") or meta.proxy:
            continue
        for field in model._meta.get_fields():
            if not isinstance(field, models.TextField):
                continue
            key = (model._meta.app_label, model._meta.model_name, field.name)
            if key in SYSTEM_TEXT:
                continue
            if field.max_length is None:
                unlimited.append(key)
            elif field.max_length not in (SHORT_TEXT, LONG_TEXT):
                odd.append((*key, field.max_length))
    assert not unlimited, f"free text without a limit: {unlimited}"
    assert not odd, f"free text with a limit of its own: {odd}"


def _forms_of(base):
    found, todo = set(), [base]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in found:
                found.add(sub)
                todo.append(sub)
    return sorted(found, key=lambda f: f"{f.__module__}.{f.__qualname__}")


@pytest.mark.django_db
def test_every_action_form_text_field_has_a_limit_the_browser_sees_too():
    admin.autodiscover()  # the admin modules define some of the forms
    problems, form_classes = [], _forms_of(ActionForm)
    assert {"ContactForm", "ReplyForm", "OpinionForm", "ConcludeForm"} <= {f.__name__ for f in form_classes}
    for form_class in form_classes:
        form = form_class()
        for name, field in form.fields.items():
            if type(field).__name__ not in {"CharField"}:
                continue
            if field.max_length is None or field.widget.attrs.get("maxlength") != str(field.max_length):
                problems.append(f"{form_class.__module__}.{form_class.__qualname__}.{name}")
            elif field.max_length > LONG_TEXT:
                problems.append(f"{form_class.__qualname__}.{name}: {field.max_length}")
    assert not problems, problems


def test_a_model_form_gets_the_limit_from_the_model_and_its_reason_the_short_one():
    from apps.supervision.forms import AccountabilityForm

    form = AccountabilityForm()
    assert form.fields["finding"].max_length == LONG_TEXT
    assert form.fields["finding"].widget.attrs["maxlength"] == str(LONG_TEXT)
    assert form.fields["change_reason"].max_length == SHORT_TEXT
    # Extra text fields of a service form (the evidence lists) get the short limit too.
    assert form.fields["evidence_entries"].widget.attrs["maxlength"] == str(SHORT_TEXT)
    assert issubclass(AccountabilityForm, ServiceModelForm)


@pytest.mark.parametrize(
    "lang, message",
    [
        ("en", "Ensure this value has at most 2000 characters (it has 2001)."),
        ("zh-hans", "最多 2000 个字符（当前 2001 个）。"),
    ],
)
def test_the_contact_form_refuses_a_note_over_the_limit_and_writes_nothing(
    client, signed_task, market_staff, lang, message
):
    client.force_login(market_staff)
    url = f"/admin/tasks/task/{signed_task.pk}/do/contact/"
    page = client.get(url, HTTP_ACCEPT_LANGUAGE=lang).content.decode()
    assert f'maxlength="{SHORT_TEXT}"' in page  # the browser stops at the limit too
    before = _written_for(signed_task)

    response = client.post(
        url,
        {"version": signed_task.version, "method": "phone", "note": "约" * (SHORT_TEXT + 1)},
        HTTP_ACCEPT_LANGUAGE=lang,
    )
    assert response.status_code == 200  # the form again, with the error
    errors = response.context["form"].errors["note"]
    assert any(message in str(e) for e in errors), errors
    assert _written_for(signed_task) == before


def test_the_contact_form_takes_a_note_of_exactly_the_limit(client, signed_task, market_staff):
    client.force_login(market_staff)
    response = client.post(
        f"/admin/tasks/task/{signed_task.pk}/do/contact/",
        {"version": signed_task.version, "method": "phone", "note": "约" * SHORT_TEXT},
    )
    assert response.status_code == 302
    signed_task.refresh_from_db()
    assert len(signed_task.contact_note) == SHORT_TEXT


@pytest.mark.parametrize(
    "lang, message",
    [
        ("en", "The text is too long: 2001 characters, at most 2000 are allowed."),
        ("zh-hans", "文字过长：共 2001 个字符，最多允许 2000 个字符。"),
    ],
)
def test_the_service_refuses_a_note_over_the_limit_in_the_readers_language(signed_task, market_staff, lang, message):
    before = _written_for(signed_task)
    with translation.override(lang), pytest.raises(DomainError) as refused:
        services.task_record_contact(
            actor=market_staff, task=signed_task, contacted_at=None, method="phone", note="约" * (SHORT_TEXT + 1)
        )
    assert str(refused.value) == message
    assert _written_for(signed_task) == before


def test_a_reply_to_the_citizen_may_be_long_but_not_longer(signed_task, market_staff):
    task = services.task_record_contact(
        actor=market_staff, task=signed_task, contacted_at=None, method="phone", note="已电话联系"
    )
    before = (task.version, task.status, task.history.count())
    with pytest.raises(DomainError, match=f"{LONG_TEXT + 1} characters, at most {LONG_TEXT}"):
        services.task_reply(actor=market_staff, task=task, result="resolved", reply_text="复" * (LONG_TEXT + 1))
    task.refresh_from_db()
    assert (task.version, task.status, task.history.count()) == before
    task = services.task_reply(actor=market_staff, task=task, result="resolved", reply_text="复" * LONG_TEXT)
    assert len(task.reply_text) == LONG_TEXT


def test_an_optional_text_is_limited_too(signed_task, market_staff):
    task = services.task_record_contact(
        actor=market_staff, task=signed_task, contacted_at=None, method="phone", note="已电话联系"
    )
    with pytest.raises(DomainError, match=f"{SHORT_TEXT + 1} characters, at most {SHORT_TEXT}"):
        services.task_reply(
            actor=market_staff,
            task=task,
            result="explained",
            reply_text="已解释政策",
            policy_basis="据" * (SHORT_TEXT + 1),
        )
    task.refresh_from_db()
    assert task.status == "in_progress" and task.policy_basis == ""


def test_an_appeal_over_the_long_limit_is_not_registered(org, catalog, operator):
    from apps.appeals.models import Appeal

    with pytest.raises(DomainError, match=f"{LONG_TEXT + 1} characters, at most {LONG_TEXT}"):
        make_appeal(operator=operator, category=catalog["leaf"], area=org["street"], content="诉" * (LONG_TEXT + 1))
    assert not Appeal.objects.exists()


def test_a_decision_comment_of_the_full_limit_still_applies_its_effect(
    org, catalog, operator, dispatcher, dept_staff, city_leader, holidays_2026
):
    # The effect's reason is "approved extension: <comment>": longer than the limit, so it
    # is cut to it rather than refused by the work order's service.
    from apps.authorization import services as approvals
    from apps.tasks.models import Task

    appeal = make_appeal(operator=operator, category=catalog["leaf"], area=org["street"])
    task = services.appeal_dispatch(actor=dispatcher, appeal=appeal, lead=org["housing"], override_reason="测试")
    request = approvals.approval_request(
        actor=dept_staff, kind="extension", task=task, extension_days=2, reason="需勘验"
    )
    comment = "同" * SHORT_TEXT
    request = approvals.approval_decide(actor=city_leader, request=request, approve=True, comment=comment)
    assert request.status == "approved" and request.comment == comment
    assert Task.objects.get(pk=task.pk).extended_days == 2


def test_clip_keeps_short_texts_and_cuts_long_ones_to_the_limit():
    assert clip("短") == "短"
    cut = clip("长" * (SHORT_TEXT + 50))
    assert len(cut) == SHORT_TEXT and cut.endswith("…")
