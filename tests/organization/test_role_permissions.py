"""Role × model × action: the separation of duties of DESIGN §3, written out by hand so a
change to roles.py that widens a role fails here."""

import pytest
from django.contrib.auth.models import Permission

from apps.organization.models import User

R = User.Role
ALL_ROLES = list(R.values)
WORKING = [R.OPERATOR, R.DISPATCHER, R.DEPT_STAFF, R.DEPT_LEADER, R.CITY_LEADER, R.VISIT_AGENT]

# (permission, roles that hold it). Every other role must NOT hold it.
MATRIX = [
    ("organization.view_department", [*WORKING, R.INSPECTOR, R.SYSTEM_ADMIN]),
    ("organization.add_department", [R.SYSTEM_ADMIN]),
    ("organization.change_department", [R.SYSTEM_ADMIN]),
    ("organization.delete_department", []),
    ("organization.view_area", [*WORKING, R.INSPECTOR, R.SYSTEM_ADMIN]),
    ("organization.add_area", [R.SYSTEM_ADMIN]),
    ("organization.change_area", [R.SYSTEM_ADMIN]),
    ("organization.delete_area", []),
    ("organization.view_user", [R.INSPECTOR, R.SYSTEM_ADMIN]),
    ("organization.add_user", [R.SYSTEM_ADMIN]),
    ("organization.change_user", [R.SYSTEM_ADMIN]),
    ("organization.delete_user", []),
    ("organization.view_historicaldepartment", [R.INSPECTOR, R.SYSTEM_ADMIN]),
    ("organization.view_historicaluser", [R.INSPECTOR, R.SYSTEM_ADMIN]),
    ("core.view_calendarday", [R.INSPECTOR, R.SYSTEM_ADMIN]),
    ("core.change_calendarday", [R.SYSTEM_ADMIN]),
    ("core.add_calendaryear", [R.SYSTEM_ADMIN]),
    ("core.change_calendaryear", [R.SYSTEM_ADMIN]),
    ("core.delete_calendaryear", []),
    ("audit.view_auditevent", [R.INSPECTOR, R.AUDIT_ADMIN]),
    ("audit.verify_auditevent", [R.AUDIT_ADMIN]),
    ("audit.add_auditevent", []),
    ("audit.change_auditevent", []),
    ("audit.delete_auditevent", []),
    ("outbox.view_outboxmessage", [R.SYSTEM_ADMIN]),
    ("outbox.change_outboxmessage", []),
    ("notifications.view_notification", ALL_ROLES),
    ("notifications.add_notification", []),
    ("notifications.change_notification", []),
    ("notifications.delete_notification", []),
    ("appeals.add_appeal", [R.OPERATOR, R.DISPATCHER]),
    ("appeals.view_appeal", [R.OPERATOR, R.DISPATCHER, R.CITY_LEADER, R.VISIT_AGENT, R.INSPECTOR]),
    ("appeals.delete_appeal", []),
    ("appeals.view_citizen_contact", [R.OPERATOR, R.DISPATCHER, R.VISIT_AGENT, R.INSPECTOR]),
    ("appeals.change_category", [R.SYSTEM_ADMIN]),
    ("appeals.change_dispatchrule", [R.DISPATCHER, R.SYSTEM_ADMIN]),
    (
        "tasks.view_task",
        [R.OPERATOR, R.DISPATCHER, R.DEPT_STAFF, R.DEPT_LEADER, R.CITY_LEADER, R.VISIT_AGENT, R.INSPECTOR],
    ),
    ("tasks.change_task", [R.DISPATCHER, R.DEPT_STAFF, R.DEPT_LEADER]),
    ("tasks.add_task", []),
    ("tasks.delete_task", []),
    ("tasks.change_slarule", [R.SYSTEM_ADMIN]),
    ("tasks.view_reminder", [R.DISPATCHER, R.DEPT_STAFF, R.DEPT_LEADER, R.INSPECTOR]),
    ("tasks.change_reminder", []),
]


@pytest.mark.parametrize("perm,holders", MATRIX, ids=[m[0] for m in MATRIX])
def test_each_role_holds_exactly_the_listed_permissions(users_by_role, perm, holders):
    for role, user in users_by_role.items():
        assert user.has_perm(perm) == (role in holders), f"{role} / {perm}"


def test_the_inspector_holds_no_add_change_or_delete_permission_at_all(inspector):
    perms = inspector.get_all_permissions()
    assert perms, "the inspector reads things"
    # DESIGN §3: inspectors record accountability (their own records, not business data)
    # and trace history; every other permission is a view.
    own = {
        "supervision.add_accountabilityrecord",
        "supervision.change_accountabilityrecord",
        "supervision.trace_history",
    }
    assert own <= perms
    assert all(p.split(".", 1)[1].startswith("view_") for p in perms - own), sorted(perms)


def test_the_system_admin_holds_nothing_on_business_or_audit_data(system_admin):
    from apps.organization.roles import AUDIT_APPS, BUSINESS_APPS, BUSINESS_MODELS

    perms = system_admin.get_all_permissions()
    apps_touched = {p.split(".", 1)[0] for p in perms}
    assert not apps_touched & (BUSINESS_APPS | AUDIT_APPS)
    models_touched = {f"{p.split('.')[0]}.{p.split('.')[1].split('_', 1)[1]}" for p in perms}
    assert not models_touched & BUSINESS_MODELS
    assert "appeals.view_citizen_contact" not in perms


def test_the_audit_admin_holds_nothing_but_the_action_log_and_own_inbox(audit_admin):
    assert audit_admin.get_all_permissions() == {
        "audit.view_auditevent",
        "audit.verify_auditevent",
        "audit.view_chainalert",
        "notifications.view_notification",
    }


def test_the_three_administrators_hold_disjoint_permission_sets(system_admin, audit_admin, inspector):
    shared = {"notifications.view_notification"}
    sysadmin = system_admin.get_all_permissions() - shared
    audit = audit_admin.get_all_permissions() - shared
    assert not sysadmin & audit
    # The inspector may read what the system admin manages, but never shares a write.
    writes = {p for p in sysadmin if not p.split(".", 1)[1].startswith("view_")}
    assert not writes & inspector.get_all_permissions()


def test_department_groups_carry_no_model_permissions(org):
    # Department membership decides which objects, never which models (DESIGN §7).
    assert not Permission.objects.filter(group__name__startswith="dept:").exists()


def test_nobody_in_the_demo_roles_is_a_superuser(users_by_role):
    assert not any(u.is_superuser for u in users_by_role.values())
