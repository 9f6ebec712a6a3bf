"""The inspector reads everything and changes no business object: every admin URL of every
registered model (changelist, add, change, delete, history and each custom view or
object action), GET and POST, and the database is the same afterwards."""

import pytest
from django.contrib import admin
from django.urls import NoReverseMatch, reverse

from apps.supervision import services
from apps.supervision.models import AccountabilityRecord
from tests.supervision.conftest import at

# Not business objects: the inspector's own findings are theirs to write (checked apart),
# sessions, sign-in attempts and the admin's own log are written by any visit.
SKIP_SNAPSHOT = {"sessions", "axes", "admin", "contenttypes"}


def _snapshot():
    from django.apps import apps

    data = {}
    for model in apps.get_models():
        if model._meta.app_label in SKIP_SNAPSHOT or model._meta.label_lower == "audit.auditevent":
            continue
        data[model._meta.label_lower] = list(model._base_manager.order_by("pk").values())
    return data


def _urls(model_admin, obj):
    opts = model_admin.model._meta
    base = f"admin:{opts.app_label}_{opts.model_name}"
    urls = [reverse(f"{base}_changelist"), reverse(f"{base}_add")]
    if obj is not None:
        urls += [reverse(f"{base}_change", args=[obj.pk]), reverse(f"{base}_delete", args=[obj.pk]),
                 reverse(f"{base}_history", args=[obj.pk])]
    standard = {f"{base}_{s}" for s in ("changelist", "add", "change", "delete", "history", "autocomplete")}
    for pattern in model_admin.get_urls():
        name = getattr(pattern, "name", None)
        if not name or f"admin:{name}" in standard:
            continue
        for args in ([], [obj.pk] if obj is not None else None, ["sign_overdue"]):
            if args is None:
                continue
            try:
                urls.append(reverse(f"admin:{name}", args=args))
                break
            except NoReverseMatch:
                continue
    return urls


POST_DATA = {
    "change_reason": "督查篡改", "reason": "督查篡改", "comment": "督查篡改", "note": "督查篡改", "version": "1",
    "post": "yes", "name": "篡改", "status": "done", "days": "3", "approve": "1", "action": "delete_selected",
    "_selected_action": "1", "result": "resolved", "reply_text": "x",
}


@pytest.fixture
def populated(scripted, inspector, org, dept_staff, system_actor, time_machine):
    """At least one row in every business model, the supervision ones included."""
    from apps.tasks import services as task_services
    from tests.factories import make_appeal

    time_machine.move_to(at(3, 16, 9), tick=False)
    appeal = make_appeal(operator=scripted["appeal"].received_by, category=scripted["appeal"].category,
                         area=scripted["appeal"].area)
    from apps.organization.models import User

    dispatcher = User.objects.filter(role="dispatcher").first()
    task_services.appeal_dispatch(actor=dispatcher, appeal=appeal, lead=org["housing"], override_reason="属地")
    task_services.sla_sweep(actor=system_actor, now=at(3, 18, 9))
    services.supervision_sweep(actor=system_actor, now=at(3, 18, 9))
    services.accountability_record(
        actor=inspector, subject_department=org["housing"], subject_person=None, finding="签收超时", decision="",
        sanction="none", reason="督查", appeals=[scripted["appeal"]],
    )


def test_the_inspector_changes_no_business_object_through_any_admin_url(client, inspector, populated):
    client.force_login(inspector)
    before = _snapshot()
    visited = 0
    for model, model_admin in admin.site._registry.items():
        obj = model._base_manager.order_by("pk").first()
        for url in _urls(model_admin, obj):
            visited += 1
            got = client.get(url)
            assert got.status_code in {200, 302, 403, 404}, (url, got.status_code)
            is_add = url.endswith("/add/")
            if is_add and model is not AccountabilityRecord:
                assert got.status_code == 403, url
            if url.endswith("/delete/"):
                assert got.status_code in {403, 404}, url
            client.post(url, POST_DATA)
    # Bulk actions from every changelist (delete_selected and the apps' own actions).
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        pks = [str(pk) for pk in model._base_manager.values_list("pk", flat=True)[:3]]
        for action in ["delete_selected", *[a.__name__ if callable(a) else a for a in model_admin.actions or []]]:
            client.post(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"),
                        {"action": action, "_selected_action": pks, "post": "yes", "comment": "x", "reason": "x"})
    assert visited > 4 * len(admin.site._registry)
    after = _snapshot()
    changed = [label for label in before if before[label] != after[label]]
    assert changed == [], changed


def test_the_inspectors_own_findings_are_the_only_thing_they_write(client, inspector, populated, org):
    client.force_login(inspector)
    url = reverse("admin:supervision_accountabilityrecord_add")
    assert client.get(url).status_code == 200
    # And even there, only through the service: a finding without evidence is refused.
    response = client.post(url, {"subject_department": org["housing"].pk, "finding": "x", "sanction": "none",
                                 "change_reason": "x", "evidence-TOTAL_FORMS": "0", "evidence-INITIAL_FORMS": "0"})
    assert response.status_code == 200
    assert AccountabilityRecord.objects.count() == 1
