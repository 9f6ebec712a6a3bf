"""Delegations and approval requests (DESIGN §1: explicit, reasoned, time-bound, measurable).

An approval's effect (extension, reassignment, closure, exclusion, escalation) is applied
by `approval_decide` in the same transaction as the decision, through the owning app's
service, so a decision and its effect are never apart. Authorization sits above appeals,
tasks and followups and orchestrates them (an approved closure that completes the appeal
schedules its return visit).
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from guardian.shortcuts import assign_perm

from apps.appeals import services as appeal_services
from apps.appeals.models import Appeal
from apps.audit.services import record
from apps.authorization import authority
from apps.authorization.models import ApprovalRequest, ApprovalRequestUserObjectPermission, Delegation, Kind
from apps.core import versioning, working_calendar
from apps.core.admin_links import admin_change_url
from apps.core.exceptions import DomainError, NotFoundForActor, NotPermitted, StaleObject
from apps.core.history import set_history_context
from apps.core.text_limits import clip
from apps.core.timefmt import local_minute
from apps.core.validation import require_text
from apps.followups import services as followup_services
from apps.notifications import services as notifications
from apps.organization.models import Department, User
from apps.tasks import permissions as task_permissions
from apps.tasks import services as task_services
from apps.tasks.models import Task

LEADER_ROLES = {User.Role.DEPT_LEADER, User.Role.CITY_LEADER}
DECIDE = "authorization.decide_approvalrequest"


def _remind_after(start: dt.datetime) -> dt.datetime:
    return working_calendar.add_working_hours(start, settings.APPROVAL_REMIND_WORKING_HOURS)


# --- Delegations -------------------------------------------------------------------------------


@transaction.atomic
def delegation_grant(
    *,
    actor: User,
    grantee: User,
    kind: str,
    scope: Department,
    valid_until: dt.datetime,
    reason: str,
    valid_from: dt.datetime | None = None,
    max_extension_days: int | None = None,
) -> Delegation:
    """A leader passes on an authority they hold, for a subtree of their scope, with a limit
    no higher than theirs, for a period inside theirs."""
    reason = require_text(reason)
    valid_from = valid_from or timezone.now()
    if kind not in Kind.values:
        raise DomainError(_("Unknown kind of request."))
    if grantee.pk == actor.pk:
        raise DomainError(_("Nobody can delegate to themselves."))
    if grantee.role not in LEADER_ROLES or not grantee.is_active:
        raise DomainError(_("Authority can be delegated to active department or city leaders only."))
    if valid_until <= valid_from:
        raise DomainError(_("The end of the validity must come after its start."))
    if kind == Kind.EXTENSION:
        if not max_extension_days:
            raise DomainError(_("Say the longest extension this leader may approve."))
    else:
        max_extension_days = None
    held = [a for a in authority.holdings(actor, kind, valid_from) if scope.path.startswith(a.scope_path)]
    if not held:
        raise NotPermitted(
            _("You can delegate only what you hold: you hold no %(kind)s authority over %(dept)s.")
            % {"kind": Kind(kind).label, "dept": scope}
        )
    best = max(held, key=lambda a: (a.max_extension_days or 0, a.valid_until or timezone.now() + dt.timedelta(9999)))
    if kind == Kind.EXTENSION and max_extension_days > (best.max_extension_days or 0):
        raise DomainError(
            _("You may approve extensions of at most %(limit)d working days, so you cannot delegate more.")
            % {"limit": best.max_extension_days or 0}
        )
    if best.valid_until is not None and valid_until > best.valid_until:
        raise DomainError(
            _("Your own authority ends %(end)s; a delegation cannot outlast it.")
            % {"end": local_minute(best.valid_until)}
        )
    delegation = Delegation(
        grantor=actor,
        grantee=grantee,
        kind=kind,
        scope=scope,
        valid_from=valid_from,
        valid_until=valid_until,
        max_extension_days=max_extension_days,
        reason=reason,
    )
    delegation.full_clean()
    set_history_context(delegation, actor=actor, reason=reason)
    delegation.save()
    record(
        actor=actor,
        action="delegation.granted",
        target=delegation,
        reason=reason,
        changes={
            "grantee": grantee.username,
            "kind": kind,
            "scope": scope.code,
            "max_extension_days": max_extension_days,
            "valid_from": valid_from,
            "valid_until": valid_until,
        },
    )
    notifications.notify_users(
        user_ids=[grantee.pk], title=_("Authority delegated to you: %(kind)s") % {"kind": Kind(kind).label}, body=reason
    )
    return delegation


@transaction.atomic
def delegation_revoke(*, actor: User, delegation: Delegation, reason: str) -> Delegation:
    reason = require_text(reason)
    delegation = Delegation.objects.select_for_update().get(pk=delegation.pk)
    if actor.pk != delegation.grantor_id and actor.role != User.Role.CITY_LEADER:
        raise NotPermitted(_("Only the leader who granted it, or a city leader, can revoke a delegation."))
    if delegation.revoked_at is not None:
        raise DomainError(_("This delegation is already revoked."))
    delegation.revoked_at, delegation.revoked_by = timezone.now(), actor
    set_history_context(delegation, actor=actor, reason=reason)
    delegation.save(update_fields=["revoked_at", "revoked_by", "updated_at"])
    record(actor=actor, action="delegation.revoked", target=delegation, reason=reason)
    return delegation


# --- Raising a request -------------------------------------------------------------------------


def _can_raise(actor: User, kind: str, task: Task | None, appeal: Appeal) -> None:
    centre = {User.Role.DISPATCHER, User.Role.OPERATOR}
    if actor.role in centre:
        return
    if actor.role in task_permissions.DEPARTMENT_ROLES and task is not None:
        task_permissions.ensure_can_work_on(actor, task)
        if kind in {Kind.EXTENSION, Kind.CLOSURE, Kind.ESCALATION, Kind.RETURN}:
            return
    raise NotPermitted(_("You cannot raise this kind of request."))


def _validate_request(
    kind: str, task: Task | None, appeal: Appeal, extension_days: int | None, target_department: Department | None
) -> None:
    open_task = {Task.Status.PENDING_SIGN, Task.Status.IN_PROGRESS, Task.Status.RETURN_REQUESTED}
    if kind in {Kind.EXTENSION, Kind.CLOSURE, Kind.RETURN} and task is None:
        raise DomainError(_("This request is raised from a work order."))
    if kind == Kind.EXTENSION:
        if task.status not in open_task:
            raise DomainError(_("Only open work orders can be extended."))
        if not extension_days or extension_days < 1:
            raise DomainError(_("Ask for at least one working day."))
        if extension_days > authority.MAX_EXTENSION_DAYS:
            raise DomainError(
                _("An extension is at most %(max)d working days.") % {"max": authority.MAX_EXTENSION_DAYS}
            )
        if timezone.now() >= task.resolve_due_at:
            raise DomainError(
                _("Extensions must be requested before the resolve limit (%(due)s).")
                % {"due": local_minute(task.resolve_due_at)}
            )
    if kind == Kind.CLOSURE and task.status not in {Task.Status.IN_PROGRESS, Task.Status.REPLIED}:
        raise DomainError(_("Only work orders in progress or replied can be closed."))
    if kind == Kind.RETURN:
        if task.status not in {Task.Status.PENDING_SIGN, Task.Status.IN_PROGRESS}:
            raise DomainError(_("Only work orders waiting or in progress can be reassigned."))
        if target_department is None or target_department.pk == task.department_id:
            raise DomainError(_("Choose the department that should take the work order."))
    if kind == Kind.ESCALATION and appeal.is_escalated:
        raise DomainError(_("Appeal %(number)s is already escalated.") % {"number": appeal.tracking_number})
    if kind == Kind.EXCLUSION and appeal.is_excluded_from_appraisal:
        raise DomainError(
            _("Appeal %(number)s is already excluded from appraisal.") % {"number": appeal.tracking_number}
        )


def _route(request: ApprovalRequest, leaders: list[User], *, actor: User) -> None:
    for leader in leaders:
        if leader.pk != request.requested_by_id:
            assign_perm(DECIDE, leader, request)
    notifications.notify_users(
        user_ids=[u.pk for u in leaders if u.pk != request.requested_by_id],
        title=_("Approval needed: %(kind)s for %(number)s")
        % {"kind": request.get_kind_display(), "number": request.appeal.tracking_number},
        body=request.reason,
        link=admin_change_url(request),
    )
    record(
        actor=actor,
        action="approval.routed",
        target=request,
        changes={
            "leaders": sorted(u.username for u in leaders if u.pk != request.requested_by_id),
            "level": request.route_level,
        },
    )


@transaction.atomic
def approval_request(
    *,
    actor: User,
    kind: str,
    reason: str,
    task: Task | None = None,
    appeal: Appeal | None = None,
    extension_days: int | None = None,
    target_department: Department | None = None,
) -> ApprovalRequest:
    """Ask the leaders whose authority covers it; they are granted the request (guardian)."""
    reason = require_text(reason, _("Give the reason for the request."))
    if kind not in Kind.values:
        raise DomainError(_("Unknown kind of request."))
    if task is not None:
        task = Task.objects.select_related("appeal", "department").get(pk=task.pk)
        appeal = task.appeal
    if appeal is None:
        raise DomainError(_("A request concerns an appeal or a work order."))
    _can_raise(actor, kind, task, appeal)
    _validate_request(kind, task, appeal, extension_days, target_department)
    if task is not None and ApprovalRequest.objects.filter(task=task, kind=kind, status="pending").exists():
        raise DomainError(
            _("A %(kind)s request for this work order is already waiting for a decision.") % {"kind": Kind(kind).label}
        )
    department = task.department if task is not None else _appeal_department(appeal)
    now = timezone.now()
    request = ApprovalRequest(
        kind=kind,
        appeal=appeal,
        task=task,
        department=department,
        requested_by=actor,
        requested_at=now,
        reason=reason,
        extension_days=extension_days if kind == Kind.EXTENSION else None,
        target_department=target_department if kind == Kind.RETURN else None,
        next_escalation_at=_remind_after(now),
    )
    set_history_context(request, actor=actor, reason=reason)
    request.save()
    record(
        actor=actor,
        action="approval.requested",
        target=request,
        reason=reason,
        changes={
            "kind": kind,
            "appeal": appeal.tracking_number,
            "task": task.pk if task else None,
            "extension_days": request.extension_days,
            "target_department": target_department.code if request.target_department_id else None,
        },
    )
    leaders = authority.leaders_covering(
        kind=kind, department=department, extension_days=extension_days, at=now, exclude=actor
    )
    if not leaders:
        raise DomainError(_("No leader holds the authority to decide this request."))
    _route(request, leaders, actor=actor)
    return request


def _appeal_department(appeal: Appeal) -> Department:
    """An appeal-level request concerns the lead department, or the centre before dispatch."""
    lead = (
        appeal.tasks.filter(role=Task.Role.LEAD)
        .exclude(status=Task.Status.RETURNED)
        .select_related("department")
        .first()
    )
    if lead is not None:
        return lead.department
    centre = Department.objects.filter(kind=Department.Kind.SERVICE_CENTRE, is_active=True).first()
    if centre is None:
        raise DomainError(_("No service centre department is set up."))
    return centre


# --- Deciding ----------------------------------------------------------------------------------


def _lock(request: ApprovalRequest, expected_version: int | None) -> ApprovalRequest:
    # A decided request is refused naming who decided it, before any version check: that
    # is what a second decider needs to know.
    locked = versioning.lock(
        ApprovalRequest.objects.select_related("appeal", "task", "department", "decided_by"),
        pk=request.pk,
        of=("self",),
    )
    if locked.status != ApprovalRequest.Status.PENDING:
        who = locked.decided_by or locked.requested_by
        raise StaleObject(
            _("This request was already %(status)s by %(who)s at %(when)s.")
            % {
                "status": locked.get_status_display(),
                "who": who,
                "when": local_minute(locked.decided_at or locked.updated_at),
            }
        )
    versioning.check(locked, expected_version, _("The request changed after you opened it. Reload and try again."))
    return locked


def can_see(user: User, request: ApprovalRequest) -> bool:
    if user.role in {User.Role.INSPECTOR, User.Role.CITY_LEADER}:
        return True
    if request.requested_by_id == user.pk:
        return True
    if user.role in task_permissions.DEPARTMENT_ROLES and request.department_id == user.department_id:
        return True
    return ApprovalRequestUserObjectPermission.objects.filter(
        content_object=request, user=user, permission__codename="decide_approvalrequest"
    ).exists()


@transaction.atomic
def approval_decide(
    *, actor: User, request: ApprovalRequest, approve: bool, comment: str, expected_version: int | None = None
) -> ApprovalRequest:
    """Approve (and apply the effect) or reject. Needs a comment and an authority covering
    the request now; nobody decides their own request; a second decider is told who won."""
    comment = require_text(comment, _("A decision needs a comment."))
    if actor.role not in LEADER_ROLES and not can_see(actor, request):
        raise NotFoundForActor(_("No such request."))
    request = _lock(request, expected_version)
    if request.requested_by_id == actor.pk:
        raise NotPermitted(_("Nobody decides their own request."))
    held = authority.covering(
        actor, kind=request.kind, department=request.department, extension_days=request.extension_days
    )
    if held is None:
        raise NotPermitted(
            authority.refusal(
                actor, kind=request.kind, department=request.department, extension_days=request.extension_days
            )
        )
    now = timezone.now()
    request.status = ApprovalRequest.Status.APPROVED if approve else ApprovalRequest.Status.REJECTED
    request.decided_by, request.decided_at, request.comment = actor, now, comment
    request.next_escalation_at = None
    versioning.save(request, actor=actor, reason=comment)
    record(
        actor=actor,
        action="approval.approved" if approve else "approval.rejected",
        target=request,
        reason=comment,
        changes={
            "kind": request.kind,
            "appeal": request.appeal.tracking_number,
            "by_delegation": held.delegation.pk if held.delegation else None,
        },
    )
    if approve:
        _apply(request, actor=actor, comment=comment)
    notifications.notify_users(
        user_ids=[request.requested_by_id],
        title=_("Your %(kind)s request for %(number)s was %(status)s")
        % {
            "kind": request.get_kind_display(),
            "number": request.appeal.tracking_number,
            "status": request.get_status_display(),
        },
        body=comment,
        link=admin_change_url(request),
    )
    return request


def _apply(request: ApprovalRequest, *, actor: User, comment: str) -> None:
    # The comment may be as long as the limit: the effect's reason is cut to it (the
    # comment stays whole on the request and in its log entry).
    reason = clip(_("approved %(kind)s: %(comment)s") % {"kind": request.get_kind_display(), "comment": comment})
    if request.kind == Kind.EXTENSION:
        task_services.task_extend(actor=actor, task=request.task, days=request.extension_days, reason=reason)
    elif request.kind == Kind.RETURN:
        task_services.task_reassign(actor=actor, task=request.task, to=request.target_department, reason=reason)
    elif request.kind == Kind.CLOSURE:
        task = task_services.task_close_unresolvable(actor=actor, task=request.task, reason=reason)
        # Was it the appeal's last open work order? Then the citizen is called back.
        followup_services.visit_schedule_when_reviewed(actor=actor, appeal=task.appeal)
    elif request.kind == Kind.EXCLUSION:
        # The appeal keeps the requester's grounds; the decision is on the request and in the log.
        appeal_services.appeal_exclude_from_appraisal(actor=actor, appeal=request.appeal, reason=request.reason)
    elif request.kind == Kind.ESCALATION:
        appeal_services.appeal_escalate(actor=actor, appeal=request.appeal, reason=reason)
        task_services.tasks_escalate(actor=actor, appeal=request.appeal, reason=reason)


def approval_decide_many(
    *, actor: User, requests: list[ApprovalRequest], approve: bool, comment: str
) -> tuple[int, list[str]]:
    """One comment for several requests of the same kind; each decided on its own, so one
    refusal does not undo the others. Returns (decided, refusals)."""
    comment = require_text(comment, _("A decision needs a comment."))
    kinds = {r.kind for r in requests}
    if len(kinds) > 1:
        raise DomainError(_("Decide requests of one kind at a time."))
    decided, refused = 0, []
    for request in requests:
        try:
            approval_decide(actor=actor, request=request, approve=approve, comment=comment)
            decided += 1
        except (DomainError, NotPermitted, NotFoundForActor) as exc:
            refused.append(f"{request.appeal.tracking_number}: {exc}")
    return decided, refused


@transaction.atomic
def approval_withdraw(*, actor: User, request: ApprovalRequest, reason: str) -> ApprovalRequest:
    reason = require_text(reason)
    request = _lock(request, None)
    if request.requested_by_id != actor.pk:
        raise NotPermitted(_("Only the person who asked can withdraw a request."))
    request.status = ApprovalRequest.Status.WITHDRAWN
    request.next_escalation_at = None
    versioning.save(request, actor=actor, reason=reason)
    record(actor=actor, action="approval.withdrawn", target=request, reason=reason)
    return request


# --- Stale requests ----------------------------------------------------------------------------


def approval_sweep(*, actor: User, now: dt.datetime | None = None) -> dict:
    """Pending too long: first remind the leaders it is routed to; if it stays pending as
    long again, hand it up to their grantors (or the city leaders). Idempotent: each step
    moves next_escalation_at forward."""
    now = now or timezone.now()
    reminded = handed_up = 0
    ids = list(
        ApprovalRequest.objects.filter(status="pending", next_escalation_at__lte=now)
        .order_by("next_escalation_at")
        .values_list("pk", flat=True)[:500]
    )
    for pk in ids:
        with transaction.atomic():
            request = (
                ApprovalRequest.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("appeal")
                .filter(pk=pk, status="pending", next_escalation_at__lte=now)
                .first()
            )
            if request is None:
                continue
            routed = list(
                User.objects.filter(
                    approvalrequestuserobjectpermission__content_object=request,
                    approvalrequestuserobjectpermission__permission__codename="decide_approvalrequest",
                ).distinct()
            )
            if request.reminded_at is None:
                notifications.notify_users(
                    user_ids=[u.pk for u in routed],
                    title=_("Reminder: %(kind)s request for %(number)s is waiting for you")
                    % {"kind": request.get_kind_display(), "number": request.appeal.tracking_number},
                    body=request.reason,
                    link=admin_change_url(request),
                )
                request.reminded_at = now
                request.next_escalation_at = _remind_after(now)
                reason, action = _("reminder: pending too long"), "approval.reminded"
                reminded += 1
            else:
                superiors = {u.pk: u for leader in routed for u in authority.superiors_of(leader, request.kind)}
                superiors = [u for pk_, u in superiors.items() if pk_ not in {r.pk for r in routed}]
                if superiors:
                    request.route_level += 1
                    request.reminded_at = None
                    request.next_escalation_at = _remind_after(now)
                    _route(request, superiors, actor=actor)
                    handed_up += 1
                else:
                    request.next_escalation_at = None  # already at the top: the reminder stands
                reason, action = _("handed up: pending too long"), "approval.handed_up"
            versioning.save(request, actor=actor, reason=reason)
            record(
                actor=actor,
                action=action,
                target=request,
                changes={"level": request.route_level, "leaders": sorted(u.username for u in routed)},
            )
    return {"reminded": reminded, "handed_up": handed_up}
