"""Writes to the organisation: areas, departments (with their groups) and staff.

Every function checks its input, writes in one transaction with history (actor + reason)
and one action-log entry, and queues side effects through the outbox.
"""

from __future__ import annotations

from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from apps.audit.services import record
from apps.core import process_cache
from apps.core.exceptions import DomainError
from apps.core.history import set_history_context
from apps.core.validation import require_text
from apps.notifications import services as notifications
from apps.organization import roles
from apps.organization.models import Area, Department, User

DEPARTMENT_GROUP_PREFIX = "dept:"


def department_group_name(department: Department) -> str:
    """The auth group of a department, named after its immutable code (no query needed)."""
    return f"{DEPARTMENT_GROUP_PREFIX}{department.code}"


def _save(obj, *, actor, reason: str, **kwargs) -> None:
    obj.full_clean()
    set_history_context(obj, actor=actor, reason=reason)
    obj.save(**kwargs)
    if isinstance(obj, (Department, Area)):
        # Dispatch reads departments from a short-lived per-process cache.
        transaction.on_commit(process_cache.clear_all)


_DUTY_REFUSALS = {
    roles.DUTY_ACCOUNTS: _lazy(
        "Only the system administrator creates, changes and deactivates accounts and resets passwords."
    ),
    roles.DUTY_ORGANISATION: _lazy("Only the system administrator changes areas and departments."),
    roles.DUTY_AUTHORITY: _lazy(
        "Only the security administrator grants or withdraws roles and department memberships and lifts lockouts."
    ),
}


def _require_duty(actor, duty: str) -> None:
    """Separation of duties (roles.DUTIES): the one check each write below starts with."""
    if not roles.actor_may(actor, duty):
        raise DomainError(str(_DUTY_REFUSALS[duty]))


def _diff(before: dict, after: dict) -> dict:
    return {k: [before.get(k), after.get(k)] for k in after if before.get(k) != after.get(k)}


def _snapshot(obj, fields) -> dict:
    return {f: getattr(obj, f) for f in fields}


# --- Tree helpers -----------------------------------------------------------------------


def _check_parent(node, parent) -> None:
    """Refuse a parent that is the node itself or one of its descendants (a cycle)."""
    if parent is None or node.pk is None:
        return
    if parent.pk == node.pk or parent.path.startswith(node.path):
        raise DomainError(
            _("“%(parent)s” is inside “%(node)s”: a unit cannot be placed under itself.")
            % {"parent": parent, "node": node}
        )


def _refresh_paths(node, *, actor, reason: str) -> None:
    """Recompute path/depth of `node` and, after a move, of its whole subtree."""
    old_path = node.path
    node.path = f"{node.parent.path if node.parent_id else '/'}{node.code}/"
    node.depth = node.parent.depth + 1 if node.parent_id else 0
    if old_path and old_path != node.path:
        # Moves are rare admin operations on small subtrees; save() each row so history
        # stays complete (QuerySet.update is refused on audited models).
        model = type(node)
        for child in model.objects.filter(path__startswith=old_path).exclude(pk=node.pk).order_by("depth"):
            child.path = node.path + child.path[len(old_path) :]
            child.depth = child.path.count("/") - 2
            set_history_context(child, actor=actor, reason=reason)
            child.save(update_fields=["path", "depth", "updated_at"])


# --- Areas ------------------------------------------------------------------------------

_AREA_FIELDS = ["code", "name", "kind", "parent_id"]


@transaction.atomic
def area_create(*, actor, code: str, name: str, kind: str, parent: Area | None, reason: str) -> Area:
    _require_duty(actor, roles.DUTY_ORGANISATION)
    reason = require_text(reason)
    area = Area(code=code, name=name, kind=kind, parent=parent)
    area.path = f"{parent.path if parent else '/'}{code}/"
    area.depth = parent.depth + 1 if parent else 0
    _save(area, actor=actor, reason=reason)
    record(
        actor=actor, action="area.created", target=area, reason=reason, changes=_diff({}, _snapshot(area, _AREA_FIELDS))
    )
    return area


@transaction.atomic
def area_update(*, actor, area: Area, name: str, kind: str, parent: Area | None, reason: str) -> Area:
    _require_duty(actor, roles.DUTY_ORGANISATION)
    reason = require_text(reason)
    area = Area.objects.select_for_update().get(pk=area.pk)
    before = _snapshot(area, _AREA_FIELDS)
    _check_parent(area, parent)
    area.name, area.kind, area.parent = name, kind, parent
    _refresh_paths(area, actor=actor, reason=reason)
    _save(area, actor=actor, reason=reason)
    record(
        actor=actor,
        action="area.updated",
        target=area,
        reason=reason,
        changes=_diff(before, _snapshot(area, _AREA_FIELDS)),
    )
    return area


# --- Departments ------------------------------------------------------------------------

_DEPARTMENT_FIELDS = ["code", "name", "short_name", "kind", "parent_id", "area_id", "phone", "is_active"]


@transaction.atomic
def department_create(
    *,
    actor,
    code: str,
    name: str,
    kind: str,
    area: Area,
    parent: Department | None = None,
    short_name: str = "",
    phone: str = "",
    reason: str,
) -> Department:
    """Create a department and its auth group (named after the immutable code)."""
    _require_duty(actor, roles.DUTY_ORGANISATION)
    reason = require_text(reason)
    if Department.objects.filter(code=code).exists():
        raise DomainError(_("A department with code %(code)s already exists.") % {"code": code})
    if parent is not None and not parent.is_active:
        raise DomainError(_("“%(parent)s” is deactivated and cannot receive new units.") % {"parent": parent})
    group, _created = Group.objects.get_or_create(name=f"{DEPARTMENT_GROUP_PREFIX}{code}")  # see department_group_name
    department = Department(
        code=code, name=name, short_name=short_name, kind=kind, area=area, parent=parent, phone=phone, group=group
    )
    department.path = f"{parent.path if parent else '/'}{code}/"
    department.depth = parent.depth + 1 if parent else 0
    _save(department, actor=actor, reason=reason)
    record(
        actor=actor,
        action="department.created",
        target=department,
        reason=reason,
        changes=_diff({}, _snapshot(department, _DEPARTMENT_FIELDS)),
    )
    return department


@transaction.atomic
def department_update(
    *,
    actor,
    department: Department,
    name: str,
    kind: str,
    area: Area,
    parent: Department | None,
    short_name: str = "",
    phone: str = "",
    reason: str,
) -> Department:
    """Rename, re-classify or move a department (never under itself or its own units)."""
    _require_duty(actor, roles.DUTY_ORGANISATION)
    reason = require_text(reason)
    department = Department.objects.select_for_update().get(pk=department.pk)
    before = _snapshot(department, _DEPARTMENT_FIELDS)
    _check_parent(department, parent)
    department.name, department.kind, department.area, department.parent = name, kind, area, parent
    department.short_name, department.phone = short_name, phone
    _refresh_paths(department, actor=actor, reason=reason)
    _save(department, actor=actor, reason=reason)
    changes = _diff(before, _snapshot(department, _DEPARTMENT_FIELDS))
    record(actor=actor, action="department.updated", target=department, reason=reason, changes=changes)
    return department


@transaction.atomic
def department_set_active(*, actor, department: Department, is_active: bool, reason: str) -> Department:
    """Deactivate (only when no active staff or units remain) or reactivate a department."""
    _require_duty(actor, roles.DUTY_ORGANISATION)
    reason = require_text(reason)
    department = Department.objects.select_for_update().get(pk=department.pk)
    if department.is_active == is_active:
        return department
    if not is_active:
        if department.staff.filter(is_active=True).exists():
            raise DomainError(_("Move or deactivate the department's active staff first."))
        if department.children.filter(is_active=True).exists():
            raise DomainError(_("Deactivate or move the department's active units first."))
    department.is_active = is_active
    _save(department, actor=actor, reason=reason, update_fields=["is_active", "updated_at"])
    record(
        actor=actor,
        action="department.activated" if is_active else "department.deactivated",
        target=department,
        reason=reason,
        changes={"is_active": [not is_active, is_active]},
    )
    return department


# --- Staff ------------------------------------------------------------------------------

_STAFF_FIELDS = ["username", "name", "email", "phone", "department_id", "role", "is_active"]


def _sync_groups(user: User) -> None:
    """Keep the user in exactly one role group and their department's group, and in none
    without a role: a department's group carries object permissions (its work orders), so
    membership is authority too, granted with the role. Any other role group found (added
    by hand in the shell) is removed, so nobody holds two roles."""
    wanted = []
    if user.role:
        wanted.append(Group.objects.get(name=roles.group_name(user.role)))
        if user.department_id:
            wanted.append(user.department.group)
    managed = user.groups.filter(
        models.Q(name__startswith=roles.ROLE_GROUP_PREFIX) | models.Q(name__startswith=DEPARTMENT_GROUP_PREFIX)
    )
    stale = [g for g in managed if g not in wanted]
    if stale:
        user.groups.remove(*stale)
    if wanted:
        user.groups.add(*wanted)


def _check_staff(department: Department | None, role: str) -> None:
    if role and role not in User.Role.values:
        raise DomainError(_("Unknown role: %(role)s") % {"role": role})
    if role and department is None:
        raise DomainError(_("Every staff member with a role belongs to a department."))
    if department is not None and not department.is_active:
        raise DomainError(_("“%(dept)s” is deactivated.") % {"dept": department})


@transaction.atomic
def staff_create(
    *,
    actor,
    username: str,
    name: str,
    department: Department | None = None,
    role: str = "",
    password: str | None = None,
    email: str = "",
    phone: str = "",
    reason: str,
) -> User:
    """Create a staff account. Without a password the account cannot log in until one is
    set. The system administrator creates it without department and role, which the
    security administrator then grants (staff_assign); the system account (the demo
    loader, commands) may create it with both."""
    _require_duty(actor, roles.DUTY_ACCOUNTS)
    if (role or department is not None) and not roles.actor_may(actor, roles.DUTY_AUTHORITY):
        raise DomainError(str(_DUTY_REFUSALS[roles.DUTY_AUTHORITY]))
    reason = require_text(reason)
    _check_staff(department, role)
    if User.objects.filter(username__iexact=username).exists():
        raise DomainError(_("The user name %(username)s is taken.") % {"username": username})
    # Every staff member works in the admin, so is_staff is always on; access is decided
    # by role groups and object-level rules, and switched off by deactivation.
    user = User(username=username, name=name, department=department, role=role, email=email, phone=phone, is_staff=True)
    if password:
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise DomainError(" ".join(exc.messages)) from None
        user.set_password(password)
    else:
        user.set_unusable_password()
    _save(user, actor=actor, reason=reason)
    _sync_groups(user)
    record(
        actor=actor,
        action="staff.created",
        target=user,
        reason=reason,
        changes=_diff({}, _snapshot(user, _STAFF_FIELDS)),
    )
    return user


@transaction.atomic
def staff_update(*, actor, user: User, name: str, email: str = "", phone: str = "", reason: str) -> User:
    """Change an account's name and contact details (nothing changed: nothing recorded)."""
    user = User.objects.select_for_update().get(pk=user.pk)
    if (user.name, user.email, user.phone) == (name, email, phone):
        return user
    _require_duty(actor, roles.DUTY_ACCOUNTS)
    reason = require_text(reason)
    before = _snapshot(user, _STAFF_FIELDS)
    user.name, user.email, user.phone = name, email, phone
    _save(user, actor=actor, reason=reason)
    record(
        actor=actor,
        action="staff.updated",
        target=user,
        reason=reason,
        changes=_diff(before, _snapshot(user, _STAFF_FIELDS)),
    )
    return user


@transaction.atomic
def staff_assign(*, actor, user: User, department: Department | None, role: str, reason: str) -> User:
    """Grant, change or withdraw (role "") a staff member's role and department: the
    security administrator's duty alone. Role changes are security events: recorded in the
    action log (who, whom, from what to what, why, when) and the audit administrators are
    notified."""
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.role == role and user.department_id == getattr(department, "pk", None):
        return user  # nothing to grant
    _require_duty(actor, roles.DUTY_AUTHORITY)
    reason = require_text(reason)
    _check_staff(department, role)
    if user.is_service_account:
        raise DomainError(_("Service accounts have no department or role."))
    if user.pk == getattr(actor, "pk", None) and role != user.role:
        raise DomainError(_("Nobody may change their own role."))
    old_role, old_department = user.role, user.department
    before = _snapshot(user, _STAFF_FIELDS)
    user.department, user.role = department, role
    _save(user, actor=actor, reason=reason, update_fields=["department", "role"])
    _sync_groups(user)
    changes = _diff(before, _snapshot(user, _STAFF_FIELDS))
    # Names beside the ids, so the entry reads on its own years later.
    if "role" in changes:
        changes["role_label"] = [str(User.Role(r).label) if r else "" for r in changes["role"]]
    if "department_id" in changes:
        changes["department_name"] = [getattr(old_department, "name", ""), getattr(department, "name", "")]
    record(actor=actor, action="staff.assigned", target=user, reason=reason, changes=changes)
    if old_role != role:
        notifications.notify_role(
            role=User.Role.AUDIT_ADMIN,
            title=_("Role changed: %(user)s") % {"user": user},
            body=_("%(actor)s changed the role of %(user)s from %(old)s to %(new)s. Reason: %(reason)s")
            % {
                "actor": actor,
                "user": user,
                "old": User.Role(old_role).label if old_role else "-",
                "new": User.Role(role).label if role else "-",
                "reason": reason,
            },
        )
    return user


@transaction.atomic
def staff_set_active(*, actor, user: User, is_active: bool, reason: str) -> User:
    """Deactivate (never delete) or reactivate an account. A deactivated account's open
    sessions stop working at their next request (the auth backend refuses inactive users)."""
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.is_active == is_active:
        return user
    _require_duty(actor, roles.DUTY_ACCOUNTS)
    reason = require_text(reason)
    if user.pk == getattr(actor, "pk", None):
        raise DomainError(_("Nobody may deactivate their own account."))
    if is_active and user.is_service_account:
        raise DomainError(_("Service accounts cannot log in."))
    user.is_active = is_active
    _save(user, actor=actor, reason=reason, update_fields=["is_active"])
    record(
        actor=actor,
        action="staff.activated" if is_active else "staff.deactivated",
        target=user,
        reason=reason,
        changes={"is_active": [not is_active, is_active]},
    )
    return user


@transaction.atomic
def staff_set_password(*, actor, user: User, password: str, reason: str) -> User:
    """Set a staff member's password (validated: length and character classes): the
    system administrator's reset, or the staff member's own change."""
    if getattr(actor, "pk", None) != user.pk:
        _require_duty(actor, roles.DUTY_ACCOUNTS)
    reason = require_text(reason)
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.is_service_account:
        raise DomainError(_("Service accounts cannot log in."))
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise DomainError(" ".join(exc.messages)) from None
    user.set_password(password)
    _save(user, actor=actor, reason=reason, update_fields=["password"])
    record(actor=actor, action="staff.password_set", target=user, reason=reason)
    return user


@transaction.atomic
def staff_unlock(*, actor, user: User, reason: str) -> int:
    """Lift a login lockout (django-axes) before its 30 minutes are over."""
    from axes.utils import reset

    _require_duty(actor, roles.DUTY_AUTHORITY)
    reason = require_text(reason)
    cleared = reset(username=user.get_username())
    record(actor=actor, action="staff.unlocked", target=user, reason=reason, changes={"attempts_cleared": cleared})
    return cleared


@transaction.atomic
def staff_reset_second_factor(*, actor, user: User, reason: str) -> int:
    """Remove a staff member's authenticator (lost or replaced phone): at the next login,
    after the password, they enrol a new one. Sessions verified with the old one ask for a
    code again at their next request (django-otp finds no device). The security
    administrator's duty, not the system administrator's, who resets passwords: neither
    alone can take over an account that needs the second factor. Nobody resets their own.
    The reason says how the person's identity was confirmed; it is in the action log."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    _require_duty(actor, roles.DUTY_AUTHORITY)
    reason = require_text(reason)
    if user.pk == getattr(actor, "pk", None):
        raise DomainError(_("Nobody may reset their own second factor: ask another security administrator."))
    if user.is_service_account:
        raise DomainError(_("Service accounts cannot log in."))
    devices = TOTPDevice.objects.filter(user=user)
    had = devices.filter(confirmed=True).exists()
    removed, _detail = devices.delete()
    if not removed:
        raise DomainError(_("This account has no authenticator to reset."))
    record(
        actor=actor,
        action="staff.second_factor_reset",
        target=user,
        reason=reason,
        changes={"devices_removed": removed, "had_confirmed_device": had},
    )
    return removed


SYSTEM_USERNAME = "system"


def system_actor() -> User:
    """The named account that background jobs and commands act as (history and action log
    name it). It has no password, no role and cannot log in."""
    user = User.objects.filter(username=SYSTEM_USERNAME).first()
    if user is None:
        user = User(
            username=SYSTEM_USERNAME, name=_("System (background jobs)"), is_active=False, is_service_account=True
        )
        user.set_unusable_password()
        user._change_reason = "system account created"
        user.save()
    return user
