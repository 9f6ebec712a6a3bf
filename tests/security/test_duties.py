"""Separation of duties (三权分立, MLPS 2.0 8.1.4.2 d and 8.1.5): the system, security and
audit administrators hold disjoint rights, each service and admin page refuses the others'
duties with a clear message, role changes are in the action log, nobody holds two roles,
and a check warns about active superusers."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse
from django.utils import translation

from apps.audit.models import AuditEvent
from apps.core.exceptions import DomainError
from apps.organization import checks, roles, services
from apps.organization.models import User
from tests.factories import TEST_PASSWORD, make_user

R = User.Role
ADMINS = [R.SYSTEM_ADMIN, R.SECURITY_ADMIN, R.AUDIT_ADMIN]


# --- The permission sets ---------------------------------------------------------------------


def test_the_three_administrators_permission_sets_do_not_intersect(system_admin, security_admin, audit_admin):
    held = {
        "system": system_admin.get_all_permissions() - roles.SHARED_BY_ALL,
        "security": security_admin.get_all_permissions() - roles.SHARED_BY_ALL,
        "audit": audit_admin.get_all_permissions() - roles.SHARED_BY_ALL,
    }
    assert all(held.values()), held
    assert not held["system"] & held["security"]
    assert not held["system"] & held["audit"]
    assert not held["security"] & held["audit"]
    assert roles.administrator_overlaps() == []
    assert checks.administrators_are_separate() == []


def test_only_the_security_admin_holds_the_rights_to_grant_and_unlock(users_by_role):
    for role, user in users_by_role.items():
        assert user.has_perm(roles.GRANT_ROLE) == (role == R.SECURITY_ADMIN), role
        assert user.has_perm(roles.UNLOCK_USER) == (role == R.SECURITY_ADMIN), role
    security_admin = users_by_role[R.SECURITY_ADMIN]
    # No account, organisation, business or audit right on top.
    assert security_admin.get_all_permissions() == {
        roles.GRANT_ROLE,
        roles.UNLOCK_USER,
        "notifications.view_notification",
    }


def test_the_check_reports_an_administrator_table_that_overlaps(monkeypatch):
    widened = {**roles.ROLE_PERMISSIONS, R.AUDIT_ADMIN: [*roles.ROLE_PERMISSIONS[R.AUDIT_ADMIN], roles.GRANT_ROLE]}
    monkeypatch.setattr(roles, "ROLE_PERMISSIONS", widened)
    found = checks.administrators_are_separate()
    assert [e.id for e in found] == ["xlx.E001"]
    assert "organization.grant_role" in found[0].msg


# --- The services ----------------------------------------------------------------------------


def _refused(call, message):
    before = AuditEvent.objects.count()
    with translation.override("en"), pytest.raises(DomainError) as exc:
        call()
    assert message in exc.value.message
    assert AuditEvent.objects.count() == before  # nothing written, nothing logged


def test_the_system_admin_creates_an_account_without_role_and_the_security_admin_grants_it(
    org, system_admin, security_admin
):
    user = services.staff_create(
        actor=system_admin, username="newcomer", name="新人", password=TEST_PASSWORD, reason="入职"
    )
    assert (user.role, user.department) == ("", None)
    assert not user.groups.exists() and not user.get_all_permissions()

    services.staff_assign(actor=security_admin, user=user, department=org["housing"], role=R.DEPT_STAFF, reason="任命")
    user = User.objects.get(pk=user.pk)
    assert set(user.groups.values_list("name", flat=True)) == {"role:dept_staff", "dept:HOUSING"}
    event = AuditEvent.objects.get(action="staff.assigned", target_id=str(user.pk))
    # Who gave whom which role, from what, why and when.
    assert event.actor == security_admin and event.actor_role == R.SECURITY_ADMIN
    assert event.reason == "任命" and event.occurred_at
    assert event.changes["role"] == ["", "dept_staff"]
    assert event.changes["department_id"] == [None, org["housing"].pk]
    assert event.changes["department_name"] == ["", org["housing"].name]


def test_the_security_admin_withdraws_a_role_with_its_department_authority(org, security_admin, dept_staff):
    services.staff_assign(actor=security_admin, user=dept_staff, department=org["housing"], role="", reason="调离岗位")
    dept_staff = User.objects.get(pk=dept_staff.pk)
    assert dept_staff.role == ""
    # The department's group carries object permissions (its work orders): gone with the role.
    assert not dept_staff.groups.exists()
    assert not dept_staff.get_all_permissions()
    event = AuditEvent.objects.get(action="staff.assigned", target_id=str(dept_staff.pk))
    assert event.changes["role"] == ["dept_staff", ""]


GRANTING = "Only the security administrator grants or withdraws roles"
ACCOUNTS = "Only the system administrator creates, changes and deactivates accounts"
ORGANISATION = "Only the system administrator changes areas and departments"


@pytest.mark.parametrize("role", [R.SYSTEM_ADMIN, R.AUDIT_ADMIN, R.INSPECTOR, R.DEPT_LEADER])
def test_only_the_security_admin_grants_roles_departments_or_unlocks(org, role, dept_staff):
    actor = make_user(role=role, department=org["centre"])
    _refused(
        lambda: services.staff_assign(
            actor=actor, user=dept_staff, department=org["housing"], role=R.DEPT_LEADER, reason="x"
        ),
        GRANTING,
    )
    _refused(
        lambda: services.staff_assign(
            actor=actor, user=dept_staff, department=org["market"], role=R.DEPT_STAFF, reason="x"
        ),
        GRANTING,
    )
    _refused(lambda: services.staff_unlock(actor=actor, user=dept_staff, reason="x"), GRANTING)
    assert User.objects.get(pk=dept_staff.pk).role == R.DEPT_STAFF


def test_the_system_admin_cannot_create_an_account_with_a_role(org, system_admin):
    _refused(
        lambda: services.staff_create(
            actor=system_admin, username="x1", name="x", department=org["centre"], role=R.SECURITY_ADMIN, reason="x"
        ),
        GRANTING,
    )
    assert not User.objects.filter(username="x1").exists()


@pytest.mark.parametrize("role", [R.SECURITY_ADMIN, R.AUDIT_ADMIN, R.INSPECTOR])
def test_only_the_system_admin_keeps_accounts_and_the_organisation(org, role, dept_staff):
    actor = make_user(role=role, department=org["centre"])
    _refused(lambda: services.staff_create(actor=actor, username="x2", name="x", reason="x"), ACCOUNTS)
    _refused(lambda: services.staff_update(actor=actor, user=dept_staff, name="改名", reason="x"), ACCOUNTS)
    _refused(lambda: services.staff_set_active(actor=actor, user=dept_staff, is_active=False, reason="x"), ACCOUNTS)
    _refused(
        lambda: services.staff_set_password(actor=actor, user=dept_staff, password="N3w-Passw0rd!x", reason="x"),
        ACCOUNTS,
    )
    _refused(
        lambda: services.department_create(
            actor=actor, code="NEWX", name="新", kind="bureau", area=org["city"], parent=org["gov"], reason="x"
        ),
        ORGANISATION,
    )
    dept_staff = User.objects.get(pk=dept_staff.pk)
    assert dept_staff.is_active and dept_staff.name != "改名"


def test_a_staff_member_may_still_change_their_own_password(dept_staff):
    services.staff_set_password(actor=dept_staff, user=dept_staff, password="N3w-Passw0rd!x", reason="到期更换")
    assert User.objects.get(pk=dept_staff.pk).check_password("N3w-Passw0rd!x")


def test_the_security_admin_cannot_grant_themselves_another_role(org, security_admin):
    with pytest.raises(DomainError):
        services.staff_assign(
            actor=security_admin, user=security_admin, department=org["centre"], role=R.SYSTEM_ADMIN, reason="x"
        )


# --- Nobody holds two roles ------------------------------------------------------------------


def test_a_role_group_added_by_hand_is_dropped_at_the_next_grant_and_warned_about_until_then(
    org, security_admin, dept_staff
):
    dept_staff.groups.add(Group.objects.get(name=roles.group_name(R.AUDIT_ADMIN)))
    found = checks.nobody_holds_two_roles()
    assert [w.id for w in found] == ["xlx.W002"] and dept_staff.username in found[0].msg

    services.staff_assign(
        actor=security_admin, user=dept_staff, department=org["housing"], role=R.DEPT_LEADER, reason="升"
    )
    assert set(dept_staff.groups.values_list("name", flat=True)) == {"role:dept_leader", "dept:HOUSING"}
    assert checks.nobody_holds_two_roles() == []


def test_a_personal_permission_is_warned_about(dept_staff):
    assert checks.nobody_holds_two_roles() == []
    dept_staff.user_permissions.add(Permission.objects.get(codename="grant_role"))
    assert [w.id for w in checks.nobody_holds_two_roles()] == ["xlx.W002"]


# --- The superuser check ---------------------------------------------------------------------


def test_an_active_superuser_is_warned_about_and_an_inactive_one_is_not(org, system_admin):
    assert checks.no_active_superuser() == []
    root = User.objects.create_superuser("root", password=TEST_PASSWORD)
    found = checks.no_active_superuser()
    assert [w.id for w in found] == ["xlx.W001"] and "root" in found[0].msg
    root.is_active = False
    root._change_reason = "test"
    root.save()
    assert checks.no_active_superuser() == []


def test_the_superuser_warning_shows_in_manage_py_check(org, capsys):
    from django.core.management import call_command

    User.objects.create_superuser("root", password=TEST_PASSWORD)
    call_command("check")
    err = capsys.readouterr()
    assert "xlx.W001" in err.out + err.err


# --- The admin -------------------------------------------------------------------------------


def _change_data(user, **overrides):
    data = {
        "name": user.name,
        "email": user.email,
        "phone": user.phone,
        "department": user.department_id or "",
        "role": user.role,
        "is_active": "on" if user.is_active else "",
        "change_reason": "测试",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not False}


def test_in_the_admin_the_system_admin_sees_role_and_department_read_only(client, org, system_admin, dept_staff):
    client.force_login(system_admin)
    url = reverse("admin:organization_user_change", args=[dept_staff.pk])
    with translation.override("en"):
        page = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    form = page.context["adminform"].form
    assert "role" not in form.fields and "department" not in form.fields
    assert "Department and role are granted by the security administrator." in page.content.decode()
    # A role slipped into the POST is ignored; the name change goes through.
    response = client.post(url, _change_data(dept_staff, name="新名字", role=R.CITY_LEADER, department=org["gov"].pk))
    assert response.status_code == 302
    dept_staff.refresh_from_db()
    assert (dept_staff.name, dept_staff.role, dept_staff.department) == ("新名字", R.DEPT_STAFF, org["housing"])
    assert not AuditEvent.objects.filter(action="staff.assigned").exists()


def test_in_the_admin_the_system_admin_creates_accounts_without_a_role(client, system_admin):
    client.force_login(system_admin)
    page = client.get(reverse("admin:organization_user_add"))
    assert page.status_code == 200
    assert "role" not in page.context["adminform"].form.fields
    response = client.post(
        reverse("admin:organization_user_add"),
        {"username": "fresh", "name": "新", "email": "", "phone": "", "change_reason": "入职"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert User.objects.get(username="fresh").role == ""


def test_in_the_admin_the_security_admin_grants_a_role_and_nothing_else(client, org, security_admin, dept_staff):
    client.force_login(security_admin)
    assert client.get(reverse("admin:organization_user_changelist")).status_code == 200
    url = reverse("admin:organization_user_change", args=[dept_staff.pk])
    page = client.get(url)
    form = page.context["adminform"].form
    assert {"role", "department"} <= set(form.fields)
    assert not {"name", "email", "phone", "is_active"} & set(form.fields)
    # The department autocomplete answers them (without the system admin's view_department).
    auto = client.get(
        reverse("admin:autocomplete"),
        {"app_label": "organization", "model_name": "user", "field_name": "department", "term": ""},
    )
    assert auto.status_code == 200
    response = client.post(url, _change_data(dept_staff, name="不该改", role=R.DEPT_LEADER, is_active=False))
    assert response.status_code == 302
    dept_staff.refresh_from_db()
    assert (dept_staff.role, dept_staff.is_active) == (R.DEPT_LEADER, True)
    assert dept_staff.name != "不该改"
    assert AuditEvent.objects.filter(action="staff.assigned", actor=security_admin).exists()


@pytest.mark.parametrize(
    "page,message",
    [
        ("add", "Only the system administrator creates accounts."),
        ("password", "Only the system administrator resets passwords."),
    ],
)
def test_in_the_admin_the_security_admin_is_refused_account_pages_with_a_message(
    client, security_admin, dept_staff, page, message
):
    client.force_login(security_admin)
    if page == "add":
        url = reverse("admin:organization_user_add")
    else:
        url = reverse("admin:auth_user_password_change", args=[dept_staff.pk])
    with translation.override("en"):
        response = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 403
        assert message in response.content.decode()
        posted = client.post(url, {"password1": "N3w-Passw0rd!x", "password2": "N3w-Passw0rd!x", "change_reason": "x"})
    assert posted.status_code == 403
    assert User.objects.get(pk=dept_staff.pk).check_password(TEST_PASSWORD)


def test_the_message_is_in_chinese_for_a_chinese_browser(client, security_admin):
    client.force_login(security_admin)
    response = client.get(reverse("admin:organization_user_add"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 403
    assert "只有系统管理员可以创建账号" in response.content.decode()


def test_unlocking_is_offered_to_the_security_admin_only(client, system_admin, security_admin, dept_staff):
    changelist = reverse("admin:organization_user_changelist")
    client.force_login(system_admin)
    page = client.get(changelist)
    assert "unlock" not in page.context["cl"].model_admin.get_actions(page.wsgi_request)
    client.post(changelist, {"action": "unlock", "_selected_action": [dept_staff.pk]})
    assert not AuditEvent.objects.filter(action="staff.unlocked").exists()

    client.force_login(security_admin)
    response = client.post(changelist, {"action": "unlock", "_selected_action": [dept_staff.pk]})
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action="staff.unlocked", actor=security_admin).exists()


def test_the_audit_admin_changes_nothing_in_the_staff_admin(client, audit_admin, dept_staff):
    client.force_login(audit_admin)
    assert client.get(reverse("admin:organization_user_changelist")).status_code == 403
    url = reverse("admin:organization_user_change", args=[dept_staff.pk])
    # A staff record the audit admin may not see answers as missing (404), like any other.
    assert client.post(url, _change_data(dept_staff, role=R.DEPT_LEADER)).status_code in (403, 404)
    assert User.objects.get(pk=dept_staff.pk).role == R.DEPT_STAFF
    assert client.get(reverse("admin:audit_auditevent_changelist")).status_code == 200


def test_the_demo_city_has_a_security_admin_login(db):
    import json

    from django.conf import settings

    people = json.loads((settings.BASE_DIR / "fixtures" / "demo_city.json").read_text(encoding="utf-8"))
    users = {u["username"]: u for u in people["users"]}
    assert users["secadmin"]["role"] == R.SECURITY_ADMIN
    admins = [u["role"] for u in users.values() if u["role"] in ADMINS]
    assert sorted(admins) == sorted(ADMINS)  # one of each, nobody twice


# --- The system administrator sees no business content -------------------------------------

# What the system administrator keeps (roles.py): accounts, the organisation, the calendar,
# the catalogue and time limits, the outbox's state, and their own inbox.
SYSTEM_MODELS = {
    "organization.department",
    "organization.area",
    "organization.user",
    "core.calendarday",
    "core.calendaryear",
    "outbox.outboxmessage",
    "appeals.category",
    "appeals.dispatchrule",
    "tasks.slarule",
    "notifications.notification",
}
SECRET = "机密投诉内容XLX-7731"


@pytest.fixture
def business(org, catalog, operator, dispatcher, dept_staff):
    """An appeal dispatched to a department (appeal, work order, notifications, history),
    and an outbox job whose payload and error quote it."""
    from apps.outbox.models import OutboxMessage
    from apps.tasks.services import appeal_dispatch
    from tests.factories import make_appeal

    appeal = make_appeal(
        operator=operator, category=catalog["leaf"], area=org["street"], content=f"{SECRET} 小区门口占道经营"
    )
    appeal_dispatch(actor=dispatcher, appeal=appeal, lead=org["housing"], override_reason="属地")
    job = OutboxMessage.objects.create(
        task_name="notifications.deliver",
        payload={"tracking_number": appeal.tracking_number, "body": SECRET},
        last_error=f"KeyError: {SECRET}",
    )
    return {"appeal": appeal, "job": job, "texts": [SECRET, appeal.tracking_number, appeal.citizen_phone]}


def _urls(model_admin, obj):
    info = (model_admin.model._meta.app_label, model_admin.model._meta.model_name)
    yield "list", reverse("admin:{}_{}_changelist".format(*info))
    if obj is not None:
        yield "change", reverse("admin:{}_{}_change".format(*info), args=[obj.pk])
        yield "history", reverse("admin:{}_{}_history".format(*info), args=[obj.pk])


def test_the_system_admin_reaches_only_system_models_and_reads_no_business_text(
    client, system_admin, dispatcher, business
):
    from django.contrib import admin

    # The texts looked for do show where the work needs them (the walk below is not blind).
    client.force_login(dispatcher)
    page = client.get(reverse("admin:appeals_appeal_change", args=[business["appeal"].pk])).content.decode()
    assert SECRET in page and business["appeal"].tracking_number in page

    client.force_login(system_admin)
    reachable, leaks = set(), []
    for model, model_admin in admin.site._registry.items():
        label = model._meta.label_lower
        obj = model._default_manager.order_by("pk").first()
        for kind, url in _urls(model_admin, obj):
            response = client.get(url)
            if response.status_code == 200:
                reachable.add(label)
                body = response.content.decode()
                leaks += [(url, text) for text in business["texts"] if text and text in body]
            elif label in SYSTEM_MODELS and kind == "list":
                pytest.fail(f"{url}: {response.status_code}")
            else:
                assert response.status_code in (302, 403, 404), (url, response.status_code)
    assert reachable == SYSTEM_MODELS
    assert not reachable & {m for m in roles.BUSINESS_MODELS}
    assert not {label.split(".")[0] for label in reachable} & (roles.BUSINESS_APPS | roles.AUDIT_APPS)
    assert leaks == []


def test_the_outbox_pages_show_the_job_but_never_its_payload_or_error(client, system_admin, business):
    job = business["job"]
    client.force_login(system_admin)
    for url in (
        reverse("admin:outbox_outboxmessage_changelist"),
        reverse("admin:outbox_outboxmessage_change", args=[job.pk]),
    ):
        body = client.get(url).content.decode()
        assert "notifications.deliver" in body
        assert SECRET not in body and business["appeal"].tracking_number not in body
    # Nor answers a guess through the query string.
    for lookup in ("payload__icontains", "last_error__contains"):
        response = client.get(reverse("admin:outbox_outboxmessage_changelist"), {lookup: SECRET})
        assert response.status_code == 400, lookup
    assert client.get(reverse("admin:outbox_outboxmessage_changelist"), {"status__exact": "pending"}).status_code == 200
