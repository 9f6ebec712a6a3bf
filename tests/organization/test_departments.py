import pytest

from apps.audit.models import AuditEvent
from apps.core.exceptions import AuditBypassError, DomainError
from apps.organization import services
from apps.organization.models import Department
from tests.factories import make_department, make_user


def test_it_creates_a_department_with_its_own_group_path_history_and_log_entry(org, system_admin):
    dept = services.department_create(
        actor=system_admin,
        code="WATER",
        name="市水务局",
        kind="bureau",
        parent=org["gov"],
        area=org["city"],
        reason="新设部门",
    )
    assert dept.group.name == "dept:WATER"
    assert dept.path == "/GOV/WATER/"
    assert dept.depth == 1
    history = dept.history.get()
    assert history.history_user == system_admin
    assert history.history_change_reason == "新设部门"
    event = AuditEvent.objects.get(action="department.created", target_id=str(dept.pk))
    assert event.actor == system_admin
    assert event.actor_role == "system_admin"
    assert event.reason == "新设部门"
    assert event.changes["name"] == [None, "市水务局"]


def test_it_refuses_a_duplicate_code(org, system_admin):
    with pytest.raises(DomainError):
        services.department_create(
            actor=system_admin,
            code="HOUSING",
            name="重复",
            kind="bureau",
            parent=org["gov"],
            area=org["city"],
            reason="x",
        )


def test_it_refuses_a_write_without_a_reason(org, system_admin):
    with pytest.raises(DomainError):
        services.department_create(
            actor=system_admin, code="NEW", name="新", kind="bureau", parent=org["gov"], area=org["city"], reason=" "
        )
    assert not Department.objects.filter(code="NEW").exists()


def test_it_refuses_to_make_a_department_its_own_parent(org, system_admin):
    housing = org["housing"]
    with pytest.raises(DomainError):
        services.department_update(
            actor=system_admin,
            department=housing,
            name=housing.name,
            kind=housing.kind,
            area=housing.area,
            parent=housing,
            reason="loop",
        )


def test_it_refuses_to_move_a_department_under_its_own_descendant(org, system_admin):
    street = make_department(code="ST1", parent=org["district_gov"], area=org["street"], kind="street_office")
    community = make_department(code="CM1", parent=street, area=org["street"], kind="community")
    district = org["district_gov"]
    with pytest.raises(DomainError):
        services.department_update(
            actor=system_admin,
            department=district,
            name=district.name,
            kind=district.kind,
            area=district.area,
            parent=community,
            reason="cycle",
        )
    district.refresh_from_db()
    assert district.parent == org["gov"]


def test_moving_a_department_moves_its_subtree_and_keeps_history(org, system_admin):
    street = make_department(code="ST1", parent=org["district_gov"], area=org["street"], kind="street_office")
    community = make_department(code="CM1", parent=street, area=org["street"], kind="community")
    services.department_update(
        actor=system_admin,
        department=street,
        name=street.name,
        kind=street.kind,
        area=street.area,
        parent=org["gov"],
        reason="区划调整",
    )
    community.refresh_from_db()
    assert community.path == "/GOV/ST1/CM1/"
    assert community.depth == 2
    assert community.history.first().history_change_reason == "区划调整"
    assert set(Department.objects.subtree_of(org["gov"]).values_list("code", flat=True)) >= {"ST1", "CM1"}


def test_a_department_with_active_staff_cannot_be_deactivated(org, system_admin, dept_staff):
    with pytest.raises(DomainError):
        services.department_set_active(actor=system_admin, department=org["housing"], is_active=False, reason="撤并")
    services.staff_set_active(actor=system_admin, user=dept_staff, is_active=False, reason="调离")
    dept = services.department_set_active(actor=system_admin, department=org["housing"], is_active=False, reason="撤并")
    assert dept.is_active is False
    assert AuditEvent.objects.filter(action="department.deactivated", target_id=str(dept.pk)).exists()


def test_departments_cannot_be_bulk_updated_or_deleted_around_history(org):
    with pytest.raises(AuditBypassError):
        Department.objects.filter(code="HOUSING").update(name="x")
    with pytest.raises(AuditBypassError):
        Department.objects.filter(code="HOUSING").delete()


def test_staff_get_their_role_group_and_department_group_and_move_with_them(org, security_admin):
    user = make_user(role="dept_staff", department=org["housing"])
    assert set(user.groups.values_list("name", flat=True)) == {"role:dept_staff", "dept:HOUSING"}
    services.staff_assign(actor=security_admin, user=user, department=org["market"], role="dept_leader", reason="调岗")
    assert set(user.groups.values_list("name", flat=True)) == {"role:dept_leader", "dept:MARKET"}
    event = AuditEvent.objects.get(action="staff.assigned", target_id=str(user.pk))
    assert event.changes["role"] == ["dept_staff", "dept_leader"]
    assert user.history.first().history_user == security_admin


def test_a_role_change_notifies_the_audit_administrators(
    org, security_admin, audit_admin, django_capture_on_commit_callbacks
):
    user = make_user(role="operator", department=org["centre"])
    with django_capture_on_commit_callbacks(execute=True):
        services.staff_assign(
            actor=security_admin, user=user, department=org["centre"], role="dispatcher", reason="调岗"
        )
    note = audit_admin.notifications.get()
    assert user.username in note.title


def test_nobody_changes_their_own_role_or_deactivates_themselves(org, system_admin, security_admin):
    with pytest.raises(DomainError):
        services.staff_assign(
            actor=security_admin, user=security_admin, department=org["centre"], role="inspector", reason="x"
        )
    with pytest.raises(DomainError):
        services.staff_set_active(actor=system_admin, user=system_admin, is_active=False, reason="x")


def test_users_are_deactivated_never_deleted(org, system_admin, dept_staff, client):
    from apps.organization.models import User

    with pytest.raises(AuditBypassError):
        User.objects.filter(pk=dept_staff.pk).delete()
    services.staff_set_active(actor=system_admin, user=dept_staff, is_active=False, reason="离职")
    assert User.objects.filter(pk=dept_staff.pk, is_active=False).exists()
    client.force_login(system_admin)
    response = client.get(f"/admin/organization/user/{dept_staff.pk}/delete/")
    assert response.status_code == 403


def test_a_deactivated_users_session_stops_working(org, system_admin, dept_staff, client):
    client.force_login(dept_staff)
    assert client.get("/admin/").status_code == 200
    services.staff_set_active(actor=system_admin, user=dept_staff, is_active=False, reason="离职")
    response = client.get("/admin/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_a_weak_password_is_refused_with_nothing_created(org, system_admin):
    from apps.organization.models import User

    with pytest.raises(DomainError):
        services.staff_create(
            actor=system_admin,
            username="weak",
            name="弱",
            department=org["centre"],
            role="operator",
            password="12345678",
            reason="x",
        )
    assert not User.objects.filter(username="weak").exists()


def test_the_system_account_cannot_log_in(system_actor):
    assert not system_actor.is_active
    assert not system_actor.has_usable_password()
