"""Roles and the model-level permissions of their groups (DESIGN §3, MLPS "three administrators").

Each role is one auth group named "role:<code>", kept in step with this table by
`sync_role_groups()` after every migrate. Model permissions say what kind of object a role
may touch; which objects (their department's tasks, their own notifications) is decided
per object in each app's permissions.py. Nobody works as a superuser day to day.

Separation of duties:
- the system admin manages departments, areas, staff and the calendar, and sees no
  business data and no action log;
- the audit admin reads the action log and verifies it, and nothing else;
- the inspector reads everything and changes nothing.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from apps.organization.models import User

Role = User.Role

ROLE_GROUP_PREFIX = "role:"

# Reference data every working role reads (autocomplete of departments and areas).
_REFERENCE_READ = [
    "organization.view_department",
    "organization.view_area",
]
_OWN_NOTIFICATIONS = ["notifications.view_notification"]

# Read-only access to history of the organisation, for inspectors.
_HISTORY_READ = [
    "organization.view_historicaldepartment",
    "organization.view_historicalarea",
    "organization.view_historicaluser",
    "core.view_historicalcalendarday",
    "core.view_historicalcalendaryear",
]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    Role.OPERATOR: [*_REFERENCE_READ, *_OWN_NOTIFICATIONS],
    Role.DISPATCHER: [*_REFERENCE_READ, *_OWN_NOTIFICATIONS],
    Role.DEPT_STAFF: [*_REFERENCE_READ, *_OWN_NOTIFICATIONS],
    Role.DEPT_LEADER: [*_REFERENCE_READ, *_OWN_NOTIFICATIONS],
    Role.CITY_LEADER: [*_REFERENCE_READ, *_OWN_NOTIFICATIONS],
    Role.VISIT_AGENT: [*_REFERENCE_READ, *_OWN_NOTIFICATIONS],
    Role.INSPECTOR: [
        *_REFERENCE_READ,
        *_OWN_NOTIFICATIONS,
        *_HISTORY_READ,
        "organization.view_user",
        "core.view_calendarday",
        "core.view_calendaryear",
        "audit.view_auditevent",
    ],
    Role.SYSTEM_ADMIN: [
        "organization.view_department",
        "organization.add_department",
        "organization.change_department",
        "organization.view_area",
        "organization.add_area",
        "organization.change_area",
        "organization.view_user",
        "organization.add_user",
        "organization.change_user",
        "organization.view_historicaldepartment",
        "organization.view_historicalarea",
        "organization.view_historicaluser",
        "core.view_calendarday",
        "core.add_calendarday",
        "core.change_calendarday",
        "core.delete_calendarday",
        "core.view_calendaryear",
        "core.add_calendaryear",
        "core.change_calendaryear",
        "core.view_historicalcalendarday",
        "core.view_historicalcalendaryear",
        "outbox.view_outboxmessage",
        *_OWN_NOTIFICATIONS,
    ],
    Role.AUDIT_ADMIN: [
        "audit.view_auditevent",
        "audit.verify_auditevent",
        *_OWN_NOTIFICATIONS,
    ],
}

# Business and audit data the system admin must never read (asserted by tests; later
# apps add their models here).
BUSINESS_APPS = {"appeals", "tasks", "authorization", "followups", "supervision", "knowledge", "reports"}
AUDIT_APPS = {"audit"}

# What each role sees first after logging in: shortcuts on the admin index, in order.
# (label, admin URL name). Later apps add their workbenches here.
WORKBENCH: dict[str, list[tuple]] = {
    Role.OPERATOR: [],
    Role.DISPATCHER: [],
    Role.DEPT_STAFF: [],
    Role.DEPT_LEADER: [],
    Role.CITY_LEADER: [],
    Role.VISIT_AGENT: [],
    Role.INSPECTOR: [(_("action log"), "admin:audit_auditevent_changelist")],
    Role.SYSTEM_ADMIN: [
        (_("departments"), "admin:organization_department_changelist"),
        (_("staff"), "admin:organization_user_changelist"),
        (_("working calendar"), "admin:core_calendaryear_changelist"),
    ],
    Role.AUDIT_ADMIN: [(_("action log"), "admin:audit_auditevent_changelist")],
}


def group_name(role: str) -> str:
    return f"{ROLE_GROUP_PREFIX}{role}"


def sync_role_groups() -> None:
    """Create the role groups and set exactly the permissions listed above."""
    from django.contrib.auth.models import Group, Permission

    wanted: set[tuple[str, str]] = set()
    for perms in ROLE_PERMISSIONS.values():
        wanted.update(tuple(p.split(".", 1)) for p in perms)
    found = {
        (p.content_type.app_label, p.codename): p
        for p in Permission.objects.select_related("content_type").filter(codename__in={c for _, c in wanted})
    }
    missing = sorted(f"{a}.{c}" for a, c in wanted if (a, c) not in found)
    if missing:
        raise LookupError(f"Role table names unknown permissions: {', '.join(missing)}")
    for role, perms in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=group_name(role))
        group.permissions.set([found[tuple(p.split(".", 1))] for p in perms])
