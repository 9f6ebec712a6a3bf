"""Roles and the model-level permissions of their groups (DESIGN §3, MLPS "three administrators").

Each role is one auth group named "role:<code>", kept in step with this table by
`sync_role_groups()` after every migrate. Model permissions say what kind of object a role
may touch; which objects (their department's tasks, their own notifications) is decided
per object in each app's permissions.py. Nobody works as a superuser day to day.

Separation of duties (三权分立, MLPS 2.0 8.1.4.2 d and 8.1.5):
- the system admin (系统管理员) manages accounts (creates, edits, deactivates them, resets
  passwords), departments, areas, the calendar and the catalogue, and sees no business data,
  no action log, and cannot give anyone a role, a department or a permission;
- the security admin (安全管理员) alone grants and withdraws roles and department
  memberships (which carry every permission) and lifts lockouts, and nothing else;
- the audit admin (审计管理员) reads the action log and verifies it, and nothing else;
- the inspector reads everything and changes nothing.
The three administrators' permission sets are disjoint (asserted by tests and by the
system check xlx.E001), and each service refuses the duties of the other two (DUTIES).
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
_CATALOG_READ = ["appeals.view_category", "appeals.view_dispatchrule", "tasks.view_slarule"]

# Read-only access to history of the organisation, for inspectors.
_HISTORY_READ = [
    "organization.view_historicaldepartment",
    "organization.view_historicalarea",
    "organization.view_historicaluser",
    "core.view_historicalcalendarday",
    "core.view_historicalcalendaryear",
    "appeals.view_historicalappeal",
    "appeals.view_historicalcategory",
    "appeals.view_historicaldispatchrule",
    "tasks.view_historicaltask",
    "tasks.view_historicalslarule",
    "tasks.view_historicalreminder",
    "authorization.view_historicaldelegation",
    "authorization.view_historicalapprovalrequest",
    "authorization.view_historicalinstruction",
    "authorization.view_historicalinstructionreceipt",
    "authorization.view_historicalruleadaptation",
    "authorization.view_historicalconsultation",
    "authorization.view_historicalconsultationinvite",
    "followups.view_historicalvisit",
    "followups.view_historicalvisitattempt",
]
_AUTHZ_READ = [
    "authorization.view_delegation",
    "authorization.view_approvalrequest",
    "authorization.view_instruction",
    "authorization.view_instructionreceipt",
    "authorization.view_ruleadaptation",
    "authorization.view_consultation",
    "authorization.view_consultationinvite",
]
# Department roles: raise requests, answer instructions and consultations for their department.
_DEPT_AUTHZ = [
    "authorization.view_approvalrequest",
    "authorization.add_approvalrequest",
    "authorization.view_instruction",
    "authorization.view_instructionreceipt",
    "authorization.change_instructionreceipt",
    "authorization.view_consultation",
    "authorization.view_consultationinvite",
    "authorization.change_consultationinvite",
    "authorization.view_historicalapprovalrequest",
]

# Department roles read and answer their own department's supervision cases (催办/督办/通报).
_DEPT_SUPERVISION = ["supervision.view_supervisioncase", "supervision.change_supervisioncase"]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    Role.OPERATOR: [
        *_REFERENCE_READ,
        *_OWN_NOTIFICATIONS,
        *_CATALOG_READ,
        "appeals.add_appeal",
        "appeals.change_appeal",
        "appeals.view_appeal",
        "appeals.view_citizen_contact",
        "appeals.view_historicalappeal",
        "tasks.view_task",
        "authorization.view_approvalrequest",
        "authorization.add_approvalrequest",
        "authorization.view_ruleadaptation",
    ],
    Role.DISPATCHER: [
        *_REFERENCE_READ,
        *_OWN_NOTIFICATIONS,
        *_CATALOG_READ,
        "appeals.add_appeal",
        "appeals.change_appeal",
        "appeals.view_appeal",
        "appeals.view_citizen_contact",
        "appeals.add_dispatchrule",
        "appeals.change_dispatchrule",
        "tasks.view_task",
        "tasks.change_task",
        "tasks.view_reminder",
        "appeals.view_historicalappeal",
        "tasks.view_historicaltask",
        "followups.view_visit",
        "followups.view_visitattempt",
        "authorization.view_approvalrequest",
        "authorization.add_approvalrequest",
        "authorization.view_instruction",
        "authorization.view_ruleadaptation",
        "authorization.view_consultation",
    ],
    # Department roles: which tasks is decided per object (their department's), in
    # apps/tasks/permissions.py. They read appeals through their tasks, masked.
    Role.DEPT_STAFF: [
        *_REFERENCE_READ,
        *_OWN_NOTIFICATIONS,
        "appeals.view_category",
        "tasks.view_task",
        "tasks.change_task",
        "tasks.view_reminder",
        "tasks.view_historicaltask",
        *_DEPT_AUTHZ,
        *_DEPT_SUPERVISION,
    ],
    Role.DEPT_LEADER: [
        *_REFERENCE_READ,
        *_OWN_NOTIFICATIONS,
        "appeals.view_category",
        "tasks.view_task",
        "tasks.change_task",
        "tasks.view_reminder",
        "tasks.view_historicaltask",
        *_DEPT_AUTHZ,
        *_DEPT_SUPERVISION,
        "supervision.view_accountabilityrecord",
        "supervision.view_accountabilityevidence",
        # Leaders decide what is delegated to them and may pass it on within what they hold;
        # they instruct their own department and open consultations.
        "authorization.change_approvalrequest",
        "authorization.view_delegation",
        "authorization.add_delegation",
        "authorization.change_delegation",
        "authorization.view_historicaldelegation",
        "authorization.add_instruction",
        "authorization.add_consultation",
        "authorization.change_consultation",
    ],
    Role.CITY_LEADER: [
        *_REFERENCE_READ,
        *_OWN_NOTIFICATIONS,
        "appeals.view_appeal",
        "appeals.view_category",
        "tasks.view_task",
        *_AUTHZ_READ,
        "appeals.view_historicalappeal",
        "tasks.view_historicaltask",
        "authorization.change_approvalrequest",
        "authorization.add_delegation",
        "authorization.change_delegation",
        "authorization.add_instruction",
        "authorization.add_ruleadaptation",
        "authorization.change_ruleadaptation",
        "authorization.add_consultation",
        "authorization.change_consultation",
        "authorization.view_historicalapprovalrequest",
        "authorization.view_historicaldelegation",
        "supervision.view_supervisioncase",
        "supervision.view_accountabilityrecord",
        "supervision.view_accountabilityevidence",
    ],
    Role.VISIT_AGENT: [
        *_REFERENCE_READ,
        *_OWN_NOTIFICATIONS,
        "appeals.view_appeal",
        "appeals.view_citizen_contact",
        "tasks.view_task",
        # Which visits, and that never one of their own department's: followups/permissions.py.
        "followups.view_visit",
        "followups.change_visit",
        "followups.view_visitattempt",
        "followups.view_historicalvisit",
    ],
    Role.INSPECTOR: [
        *_REFERENCE_READ,
        *_OWN_NOTIFICATIONS,
        *_HISTORY_READ,
        *_CATALOG_READ,
        "appeals.view_appeal",
        "appeals.view_citizen_contact",
        "tasks.view_task",
        "tasks.view_reminder",
        *_AUTHZ_READ,
        "organization.view_user",
        "core.view_calendarday",
        "core.view_calendaryear",
        "audit.view_auditevent",
        "followups.view_visit",
        "followups.view_visitattempt",
        "followups.view_visitflag",
        "audit.view_chainalert",
        # Supervision: trace, read the ladder, record accountability (not business data).
        "supervision.trace_history",
        "supervision.view_tracedappeal",
        "supervision.view_supervisioncase",
        "supervision.view_historicalsupervisioncase",
        "supervision.view_accountabilityrecord",
        "supervision.add_accountabilityrecord",
        "supervision.change_accountabilityrecord",
        "supervision.view_historicalaccountabilityrecord",
        "supervision.view_accountabilityevidence",
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
        # Reference configuration (DESIGN §3: "categories, rules"), not business data.
        "appeals.view_category",
        "appeals.add_category",
        "appeals.change_category",
        "appeals.view_dispatchrule",
        "appeals.add_dispatchrule",
        "appeals.change_dispatchrule",
        "appeals.view_historicalcategory",
        "appeals.view_historicaldispatchrule",
        "tasks.view_slarule",
        "tasks.add_slarule",
        "tasks.change_slarule",
        "tasks.view_historicalslarule",
        *_OWN_NOTIFICATIONS,
    ],
    # Reaches the staff list and the department autocomplete through GRANT_ROLE (the
    # admin accepts it in place of view_user / view_department): no permission in common
    # with the system admin.
    Role.SECURITY_ADMIN: [
        "organization.grant_role",
        "organization.unlock_user",
        *_OWN_NOTIFICATIONS,
    ],
    Role.AUDIT_ADMIN: [
        "audit.view_auditevent",
        "audit.verify_auditevent",
        "audit.view_chainalert",
        *_OWN_NOTIFICATIONS,
    ],
}

# Permissions that no model declares (models.py stays as it is): created on the staff
# model's content type by sync_role_groups(). codename -> name.
CUSTOM_USER_PERMISSIONS = {
    "grant_role": "Can grant and withdraw roles and department memberships",
    "unlock_user": "Can lift a sign-in lockout",
}
GRANT_ROLE = "organization.grant_role"
# Whom a leader may delegate to: the delegation form's choices and its grantee autocomplete.
DELEGATION_GRANTEE_ROLES = ("dept_leader", "city_leader")
UNLOCK_USER = "organization.unlock_user"

# Which role may do what in apps/organization/services.py. Background jobs, commands
# (the system account) and a superuser (warned about by xlx.W001) pass: they install the
# first administrators.
DUTY_ACCOUNTS = "accounts"  # create, edit, deactivate accounts, reset passwords
DUTY_ORGANISATION = "organisation"  # areas and departments
DUTY_AUTHORITY = "authority"  # roles, department memberships, lockouts
DUTIES: dict[str, set[str]] = {
    DUTY_ACCOUNTS: {Role.SYSTEM_ADMIN},
    DUTY_ORGANISATION: {Role.SYSTEM_ADMIN},
    DUTY_AUTHORITY: {Role.SECURITY_ADMIN},
}
ADMINISTRATORS = (Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.AUDIT_ADMIN)
# Every role reads its own inbox; that is the only permission administrators may share.
SHARED_BY_ALL = set(_OWN_NOTIFICATIONS)


def administrator_overlaps() -> list[tuple[str, str, set[str]]]:
    """(role, role, permissions both hold) for each pair of administrators that share
    more than their own inbox: empty when the duties are separate."""
    found = []
    for i, first in enumerate(ADMINISTRATORS):
        for second in ADMINISTRATORS[i + 1 :]:
            common = (set(ROLE_PERMISSIONS[first]) & set(ROLE_PERMISSIONS[second])) - SHARED_BY_ALL
            if common:
                found.append((first, second, common))
    return found


def actor_may(actor, duty: str) -> bool:
    if actor is None or getattr(actor, "is_service_account", False) or getattr(actor, "is_superuser", False):
        return True
    return getattr(actor, "role", "") in DUTIES[duty]


# Business and audit data the system admin must never read (asserted by tests; later
# apps add their models here). Reference configuration (categories, rules) is not listed.
BUSINESS_MODELS = {
    "appeals.appeal",
    "appeals.historicalappeal",
    "tasks.task",
    "tasks.historicaltask",
    "tasks.reminder",
    "tasks.historicalreminder",
    "followups.visit",
    "followups.visitattempt",
    "followups.visitflag",
}
BUSINESS_APPS = {"authorization", "followups", "supervision", "knowledge", "reports", "simulation"}
AUDIT_APPS = {"audit"}

# What each role sees first after logging in: shortcuts on the admin index, in order.
# (label, admin URL name, query string). Later apps add their workbenches here.
WORKBENCH: dict[str, list[tuple]] = {
    Role.OPERATOR: [
        (_("record an appeal"), "admin:appeals_appeal_add", ""),
        (_("appeals received today, not yet concluded"), "admin:appeals_appeal_changelist", "?status__exact=received"),
    ],
    Role.DISPATCHER: [
        (_("to dispatch"), "admin:appeals_appeal_changelist", "?status__exact=received"),
        (_("return requests"), "admin:tasks_task_changelist", "?status__exact=return_requested"),
        (_("replies to review"), "admin:tasks_task_changelist", "?status__exact=replied"),
        (_("dispatch catalogue"), "admin:appeals_dispatchrule_changelist", ""),
    ],
    Role.DEPT_STAFF: [
        (_("my department's open work orders"), "admin:tasks_task_changelist", ""),
        (_("instructions to act on"), "admin:authorization_instructionreceipt_changelist", ""),
        (_("consultations to answer"), "admin:authorization_consultationinvite_changelist", ""),
        (
            _("supervision cases (催办/督办/通报)"),
            "admin:supervision_supervisioncase_changelist",
            "?answered_at__isempty=1",
        ),
    ],
    Role.DEPT_LEADER: [
        (_("approvals waiting for me"), "admin:authorization_approvalrequest_changelist", ""),
        (_("my department's open work orders"), "admin:tasks_task_changelist", ""),
        (_("instructions to act on"), "admin:authorization_instructionreceipt_changelist", ""),
        (_("consultations to answer"), "admin:authorization_consultationinvite_changelist", ""),
        (_("my delegations"), "admin:authorization_delegation_changelist", ""),
    ],
    Role.CITY_LEADER: [
        (_("approvals waiting for me"), "admin:authorization_approvalrequest_changelist", ""),
        (_("escalated appeals and major emergencies"), "admin:appeals_appeal_changelist", "?is_escalated__exact=1"),
        (_("my consultations"), "admin:authorization_consultation_changelist", ""),
        (_("rule adaptations"), "admin:authorization_ruleadaptation_changelist", ""),
    ],
    Role.VISIT_AGENT: [
        (_("my return-visit queue"), "admin:followups_visit_changelist", ""),
        (_("appeals with accepted replies"), "admin:appeals_appeal_changelist", "?status__exact=reviewed"),
    ],
    Role.INSPECTOR: [
        # (Labels shared with apps/supervision's catalogue, which translates them.)
        (_("appeal records (trace)"), "admin:supervision_tracedappeal_changelist", ""),
        (_("History query"), "admin:supervision_history_query", ""),
        (_("Conduct flags"), "admin:supervision_conduct", ""),
        (
            _("supervision cases (催办/督办/通报)"),
            "admin:supervision_supervisioncase_changelist",
            "?answered_at__isempty=1",
        ),
        (_("accountability records (问责)"), "admin:supervision_accountabilityrecord_changelist", ""),
        (_("action log"), "admin:audit_auditevent_changelist", ""),
        (_("overdue work orders"), "admin:tasks_task_changelist", "?light=red"),
        (_("flagged return visits"), "admin:followups_visitflag_changelist", ""),
    ],
    Role.SYSTEM_ADMIN: [
        (_("departments"), "admin:organization_department_changelist", ""),
        (_("staff"), "admin:organization_user_changelist", ""),
        (_("categories"), "admin:appeals_category_changelist", ""),
        (_("time-limit rules"), "admin:tasks_slarule_changelist", ""),
        (_("working calendar"), "admin:core_calendaryear_changelist", ""),
    ],
    Role.SECURITY_ADMIN: [
        (_("staff: roles and departments"), "admin:organization_user_changelist", ""),
    ],
    Role.AUDIT_ADMIN: [
        (_("action log"), "admin:audit_auditevent_changelist", ""),
        (_("chain alerts"), "admin:audit_chainalert_changelist", ""),
    ],
}

# Where a role lands after logging in, when the login did not ask for a page (?next=):
# its main page. Roles not listed land on the workbench above (the admin index).
LANDING: dict[str, str] = {
    Role.VISIT_AGENT: "admin:followups_visit_changelist",  # the return-visit queue (README)
}


def group_name(role: str) -> str:
    return f"{ROLE_GROUP_PREFIX}{role}"


def sync_role_groups() -> None:
    """Create the role groups and set exactly the permissions listed above."""
    from django.contrib.auth.models import Group, Permission
    from django.contrib.contenttypes.models import ContentType

    staff_type = ContentType.objects.get_for_model(User)
    for codename, name in CUSTOM_USER_PERMISSIONS.items():
        Permission.objects.get_or_create(content_type=staff_type, codename=codename, defaults={"name": name})

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
