"""The work-order life cycle (DESIGN §4): dispatch, sign, return, contact, reply, review.

Each transition: lock the row, check the actor and the state (and the version the user
saw), write with history and one action-log entry, queue notifications via the outbox.

Tasks sit above appeals and below followups and authorization: accepting the last work
order marks the appeal reviewed here; the return visit that follows is scheduled by the
caller (apps.followups.services.task_review_and_schedule).
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_ratelimit.core import get_usage
from guardian.shortcuts import assign_perm

from apps.appeals import services as appeal_services
from apps.appeals.models import Appeal
from apps.appeals.selectors import dispatch_suggestion
from apps.audit.models import AuditEvent
from apps.audit.services import record
from apps.core import versioning, working_calendar
from apps.core.admin_links import admin_change_url
from apps.core.exceptions import DomainError, NotPermitted
from apps.core.history import set_history_context
from apps.core.text_limits import LONG_TEXT
from apps.core.timefmt import local_minute
from apps.core.validation import limit_text, require_text
from apps.notifications import services as notifications
from apps.organization.models import Department, User
from apps.organization.services import department_group_name
from apps.tasks import permissions, sla
from apps.tasks.models import Reminder, SlaRule, Task

RETURN_WINDOW_WORKING_DAYS = 2


def _lock(task: Task, expected_version: int | None) -> Task:
    return versioning.lock(
        Task.objects.select_related("appeal", "department"),
        pk=task.pk,
        expected_version=expected_version,
        stale_message=_("Someone else changed this work order after you opened it. Reload and try again."),
    )


def _note_misses(task: Task, *, actor, now) -> None:
    """Record limits already missed before a transition stops their clock.

    The sweep marks misses every minute, but if it was down (or the department acts in
    the minute after a deadline) the transition itself must keep the evidence.
    """
    for kind, due in sla.running_deadlines(task).items():
        if due <= now and not sla.miss_marked(task, kind, due):
            setattr(task, sla.OVERDUE_FIELD[kind], due)
            record(actor=actor, action="task.limit_missed", target=task, changes={"limit": kind, "due_at": due})


def _reminded(task: Task) -> set[str]:
    """The limits whose current deadline has had its reminder (one per missed deadline)."""
    if not task.pk:
        return set()
    current = {kind: getattr(task, field) for kind, field in sla.DUE_FIELD.items()}
    return {kind for kind, due in task.reminders.values_list("kind", "due_at") if current.get(kind) == due}


def _save(task: Task, *, actor, reason: str) -> None:
    sla.refresh_deadlines(task, reminded_kinds=_reminded(task))
    versioning.save(task, actor=actor, reason=reason)


def _notify_department(department: Department, title: str, body: str, task: Task) -> None:
    notifications.notify_group(
        group_name=department_group_name(department),
        title=title,
        body=body,
        link=admin_change_url(task),
    )


# --- Dispatch ------------------------------------------------------------------------------

# A leader's live rule adaptation (变通) may shorten the resolve limit of new work orders.
# Adaptations belong to apps.authorization, which sits above tasks (its models point at
# work orders), so it installs its lookup here when it starts (AuthorizationConfig.ready)
# instead of tasks importing it. The lookup returns (amount, unit, adaptation) or None.
ResolveLimitAdapter = Callable[..., tuple[int, str, object] | None]


def _no_shorter_limit(*, category, area, at) -> None:
    return None


_adapted_resolve_limit: ResolveLimitAdapter = _no_shorter_limit


def install_resolve_limit_adapter(adapter: ResolveLimitAdapter) -> None:
    """Called once at start-up by apps.authorization with `adaptations.adapted_resolve_limit`."""
    global _adapted_resolve_limit
    _adapted_resolve_limit = adapter


def _limits_for(appeal: Appeal, now) -> sla.Limits:
    """The rule table's limits, with the resolve limit shortened by a live adaptation (变通)
    when that ends earlier (an adaptation never lengthens a limit)."""
    limits = sla.rule_for(priority=appeal.priority, appeal_type=appeal.appeal_type, category=appeal.category)
    adapted = _adapted_resolve_limit(category=appeal.category, area=appeal.area, at=now)
    if adapted is not None:
        amount, unit, _adaptation = adapted
        if sla.add_limit(now, amount, unit) < sla.add_limit(now, *limits.resolve):
            limits = sla.Limits(limits.sign, limits.contact, (amount, unit))
    return limits


def _create_task(
    *, actor, appeal: Appeal, department: Department, role: str, note: str, now, limits: sla.Limits | None = None
) -> Task:
    if limits is None:
        limits = _limits_for(appeal, now)
    sign_due, contact_due, resolve_due = sla.due_times(now, limits)
    task = Task(
        appeal=appeal,
        department=department,
        role=role,
        dispatched_at=now,
        dispatched_by=actor,
        dispatch_note=note,
        sign_due_at=sign_due,
        contact_due_at=contact_due,
        resolve_due_at=resolve_due,
    )
    sla.refresh_deadlines(task, reminded_kinds=set())
    set_history_context(task, actor=actor, reason=note or _("dispatched"))
    task.save()
    record(
        actor=actor,
        action="task.dispatched",
        target=task,
        reason=note,
        changes={
            "department": department.code,
            "role": role,
            "sign_due_at": sign_due,
            "contact_due_at": contact_due,
            "resolve_due_at": resolve_due,
        },
    )
    _notify_department(
        department,
        _("New work order %(number)s") % {"number": appeal.tracking_number},
        _("Sign for it by %(due)s.") % {"due": local_minute(sign_due)},
        task,
    )
    return task


def _share_lead_with_co(lead: Task, co_departments: list[Department]) -> None:
    """Co-handling departments may read the lead task (guardian grant to their group)."""
    for dept in co_departments:
        assign_perm("tasks.view_task", dept.group, lead)


@transaction.atomic
def appeal_dispatch(
    *,
    actor: User,
    appeal: Appeal,
    lead: Department,
    co: list[Department] | None = None,
    override_reason: str = "",
    expected_version: int | None = None,
) -> Task:
    """Dispatch an appeal: one lead work order and optional co-handling ones.

    The dispatch catalogue suggests the departments; choosing others needs a reason.
    """
    permissions.ensure_dispatcher(actor)
    co = [d for d in (co or []) if d.pk != lead.pk]
    if not lead.is_active or any(not d.is_active for d in co):
        raise DomainError(_("Deactivated departments cannot receive work orders."))
    suggestion = dispatch_suggestion(category=appeal.category, area=appeal.area)
    follows_rule = (
        suggestion.lead is not None
        and suggestion.lead.pk == lead.pk
        and {d.pk for d in suggestion.co} == {d.pk for d in co}
    )
    override_reason = limit_text(override_reason)
    if not follows_rule and not override_reason:
        raise DomainError(
            _("These departments differ from the dispatch catalogue (%(lead)s); give a reason.")
            % {"lead": suggestion.lead or "-"}
        )
    appeal = appeal_services.appeal_mark_dispatched(
        actor=actor, appeal=appeal, reason=_("dispatched"), expected_version=expected_version
    )
    now = timezone.now()
    note = override_reason or (_("by dispatch rule: %(rule)s") % {"rule": suggestion.explanation})
    limits = _limits_for(appeal, now)
    lead_task = _create_task(
        actor=actor, appeal=appeal, department=lead, role=Task.Role.LEAD, note=note, now=now, limits=limits
    )
    for dept in co:
        _create_task(actor=actor, appeal=appeal, department=dept, role=Task.Role.CO, note=note, now=now, limits=limits)
    _share_lead_with_co(lead_task, co)
    record(
        actor=actor,
        action="appeal.dispatched",
        target=appeal,
        reason=override_reason,
        changes={
            "lead": lead.code,
            "co": [d.code for d in co],
            "follows_rule": follows_rule,
            "suggested": suggestion.lead.code if suggestion.lead else None,
        },
    )
    return lead_task


# --- Citizen's contact -------------------------------------------------------------------------


class ContactRevealLimited(DomainError):
    """The user has shown as many citizens' contact details as CONTACT_REVEAL_RATE allows."""


def _reveal_usage(actor: User, *, increment: bool) -> dict | None:
    # Counted per user in the cache (django-ratelimit's fixed windows), not per address:
    # the limit is on what one account may see.
    return get_usage(
        None,
        group="contact-reveal",
        key=lambda _group, _request: str(actor.pk),
        rate=settings.CONTACT_REVEAL_RATE,
        increment=increment,
    )


def _rate_parts(rate: str) -> tuple[int, int]:
    """(count, seconds) of a rate like "30/h" or "5/10m" (the format backoffice.env.envrate checks)."""
    count, period = rate.split("/")
    unit = {"s": 1, "m": 60, "h": 3600, "d": 86400}[period[-1]]
    return int(count), int(period[:-1] or 1) * unit


def contact_reveal_refuse_if_limited(*, actor: User, appeal: Appeal, reason: str = "") -> None:
    """Refuse a reveal when `actor` has used up CONTACT_REVEAL_RATE: the refusal goes to the
    action log (outcome failure) and ContactRevealLimited is raised.

    The refusal is recorded in a transaction of its own, so call this outside the caller's
    transaction (as appeal_reveal_contact does, and the visit's call start before it
    starts the call): raising inside it would roll the record of the refusal back too."""
    usage = _reveal_usage(actor, increment=False)
    if usage is None or usage["count"] < usage["limit"]:
        return
    limit, seconds = _rate_parts(settings.CONTACT_REVEAL_RATE)
    with transaction.atomic():
        record(
            actor=actor,
            action="appeal.contact_revealed",
            target=appeal,
            reason=reason or "",
            outcome=AuditEvent.Outcome.FAILURE,
            changes={"refused": "rate limit", "rate": settings.CONTACT_REVEAL_RATE},
        )
    raise ContactRevealLimited(
        _(
            "You have already seen %(limit)d citizens' contact details within %(minutes)d minutes, "
            "the most allowed. Try again later; this refusal is kept in the action log."
        )
        % {"limit": limit, "minutes": max(1, seconds // 60)}
    )


def appeal_reveal_contact(*, actor: User, appeal: Appeal, reason: str) -> dict:
    """Show a citizen's full name and phone to someone entitled, with a logged reason, at
    most CONTACT_REVEAL_RATE times per user (a refusal is logged too).

    Departments may reveal the contact of their own task's appeal to call the citizen,
    except for confidential appeals, whose identity never reaches the departments. (It
    lives here, not in apps.appeals, because which appeals a department handles is
    decided by its work orders.)
    """
    reason = require_text(reason, _("Say why you need the citizen's contact details."))
    refusal = permissions.contact_reveal_refusal(actor, appeal)
    if refusal is not None:
        raise NotPermitted(refusal)
    contact_reveal_refuse_if_limited(actor=actor, appeal=appeal, reason=reason)
    with transaction.atomic():
        record(actor=actor, action="appeal.contact_revealed", target=appeal, reason=reason)
    _reveal_usage(actor, increment=True)  # after the record: a failed write shows nothing, costs nothing
    return {"name": appeal.citizen_name, "phone": appeal.citizen_phone}


# --- Department steps ------------------------------------------------------------------------


@transaction.atomic
def task_sign(*, actor: User, task: Task, expected_version: int | None = None) -> Task:
    """签收: department staff take the work order. Only from PENDING_SIGN."""
    task = _lock(task, expected_version)
    permissions.ensure_can_work_on(actor, task)
    _note_misses(task, actor=actor, now=timezone.now())
    old = task.status
    task.move_to(Task.Status.IN_PROGRESS)
    task.signed_at, task.signed_by = timezone.now(), actor
    _save(task, actor=actor, reason=_("signed for"))
    record(actor=actor, action="task.signed", target=task, changes={"status": [old, task.status]})
    return task


@transaction.atomic
def task_request_return(*, actor: User, task: Task, reason: str, expected_version: int | None = None) -> Task:
    """退单: the department says the work order is not theirs, within 2 working days of dispatch."""
    reason = require_text(reason, _("Give the reason and the legal basis for returning the work order."))
    task = _lock(task, expected_version)
    permissions.ensure_can_work_on(actor, task)
    _note_misses(task, actor=actor, now=timezone.now())
    deadline = working_calendar.add_working_days(task.dispatched_at, RETURN_WINDOW_WORKING_DAYS)
    if timezone.now() > deadline:
        raise DomainError(
            _(
                "Returns must be requested within 2 working days of dispatch (by %(deadline)s); "
                "ask the centre to reassign instead."
            )
            % {"deadline": local_minute(deadline)}
        )
    old = task.status
    task.move_to(Task.Status.RETURN_REQUESTED)
    task.return_reason, task.return_requested_at, task.return_requested_by = reason, timezone.now(), actor
    task.return_decided_at = task.return_decided_by = None
    task.return_decision_comment = ""
    _save(task, actor=actor, reason=reason)
    record(
        actor=actor, action="task.return_requested", target=task, reason=reason, changes={"status": [old, task.status]}
    )
    return task


@transaction.atomic
def task_decide_return(
    *,
    actor: User,
    task: Task,
    approve: bool,
    comment: str,
    reassign_to: Department | None = None,
    expected_version: int | None = None,
) -> Task:
    """The dispatcher approves a return and reassigns (改派: a new work order), or rejects it
    and the task goes back to the department (强制派单). Returns the task now responsible."""
    permissions.ensure_dispatcher(actor)
    comment = require_text(comment, _("A decision needs a comment."))
    task = _lock(task, expected_version)
    if task.status != Task.Status.RETURN_REQUESTED:
        raise DomainError(_("This work order has no pending return request."))
    _note_misses(task, actor=actor, now=timezone.now())
    now = timezone.now()
    task.return_decided_at, task.return_decided_by, task.return_decision_comment = now, actor, comment
    if not approve:
        back_to = Task.Status.IN_PROGRESS if task.signed_at else Task.Status.PENDING_SIGN
        task.move_to(back_to)
        _save(task, actor=actor, reason=comment)
        record(
            actor=actor,
            action="task.return_rejected",
            target=task,
            reason=comment,
            changes={"status": [Task.Status.RETURN_REQUESTED, back_to]},
        )
        _notify_department(
            task.department, _("Return refused: %(number)s") % {"number": task.appeal.tracking_number}, comment, task
        )
        return task
    return _return_and_reassign(
        actor=actor, task=task, reassign_to=reassign_to, comment=comment, now=now, action="task.return_approved"
    )


def _return_and_reassign(*, actor, task: Task, reassign_to: Department | None, comment: str, now, action: str) -> Task:
    if reassign_to is None:
        raise DomainError(_("Choose the department that takes the work order instead."))
    if reassign_to.pk == task.department_id:
        raise DomainError(_("Reassign to another department than the one returning it."))
    if not reassign_to.is_active:
        raise DomainError(_("Deactivated departments cannot receive work orders."))
    old = task.status
    task.move_to(Task.Status.RETURNED)
    task.closed_at = now
    _save(task, actor=actor, reason=comment)
    record(
        actor=actor,
        action=action,
        target=task,
        reason=comment,
        changes={"status": [old, Task.Status.RETURNED], "reassigned_to": reassign_to.code},
    )
    new_task = _create_task(
        actor=actor,
        appeal=task.appeal,
        department=reassign_to,
        role=task.role,
        note=_("reassigned after return: %(comment)s") % {"comment": comment},
        now=now,
    )
    task.replaced_by = new_task
    task.save(update_fields=["replaced_by"])  # same transaction; the history row above has the decision
    return new_task


# --- Effects of leaders' approvals (called by apps.authorization in the same transaction) -----


def task_extend(*, actor: User, task: Task, days: int, reason: str) -> Task:
    """Move the resolve limit `days` working days later (an approved extension)."""
    task = _lock(task, None)
    if task.status not in {Task.Status.PENDING_SIGN, Task.Status.IN_PROGRESS, Task.Status.RETURN_REQUESTED}:
        raise DomainError(_("Only open work orders can be extended."))
    old_due = task.resolve_due_at
    task.resolve_due_at = working_calendar.add_working_days(old_due, days)
    task.extended_days += days
    _save(task, actor=actor, reason=reason)
    record(
        actor=actor,
        action="task.extended",
        target=task,
        reason=reason,
        changes={"resolve_due_at": [old_due, task.resolve_due_at], "days": days},
    )
    return task


def task_reassign(*, actor: User, task: Task, to: Department, reason: str) -> Task:
    """An approved reassignment: the task is returned and a new one goes to `to`."""
    task = _lock(task, None)
    return _return_and_reassign(
        actor=actor, task=task, reassign_to=to, comment=reason, now=timezone.now(), action="task.reassigned"
    )


def task_close_unresolvable(*, actor: User, task: Task, reason: str) -> Task:
    """An approved closure as "cannot be resolved": the work order ends with that result.
    When it was the appeal's last open work order the appeal is reviewed; the caller then
    schedules the return visit (apps.followups.services.visit_schedule_when_reviewed)."""
    task = _lock(task, None)
    if task.status not in {Task.Status.IN_PROGRESS, Task.Status.REPLIED}:
        raise DomainError(_("Only work orders in progress or replied can be closed."))
    old = task.status
    task.move_to(Task.Status.DONE)
    task.result = Task.Result.NOT_RESOLVABLE
    task.reply_text = task.reply_text or reason
    task.closed_at = timezone.now()
    _save(task, actor=actor, reason=reason)
    record(
        actor=actor,
        action="task.closed_unresolvable",
        target=task,
        reason=reason,
        changes={"status": [old, Task.Status.DONE]},
    )
    live = Task.objects.filter(appeal=task.appeal).exclude(status=Task.Status.RETURNED)
    if not live.exclude(status=Task.Status.DONE).exists():
        appeal_services.appeal_mark_reviewed(actor=actor, appeal=task.appeal, reason=reason)
    return task


def tasks_escalate(*, actor: User, appeal: Appeal, reason: str) -> int:
    """An escalated appeal must be resolved within 24 hours (DESIGN §5): open work orders'
    resolve limits move earlier where they are later than that."""
    deadline = timezone.now() + timezone.timedelta(hours=24)
    count = 0
    for task in Task.objects.filter(
        appeal=appeal, status__in=[Task.Status.PENDING_SIGN, Task.Status.IN_PROGRESS, Task.Status.RETURN_REQUESTED]
    ):
        task = _lock(task, None)
        if task.resolve_due_at > deadline:
            old = task.resolve_due_at
            task.resolve_due_at = deadline
            _save(task, actor=actor, reason=reason)
            record(
                actor=actor,
                action="task.escalated",
                target=task,
                reason=reason,
                changes={"resolve_due_at": [old, deadline]},
            )
            count += 1
    return count


@transaction.atomic
def task_record_contact(
    *, actor: User, task: Task, contacted_at, method: str, note: str, expected_version: int | None = None
) -> Task:
    """响应: the department contacted the citizen (time and means recorded)."""
    note = require_text(note, _("Note what was said or agreed with the citizen."))
    if method not in Task.ContactMethod.values:
        raise DomainError(_("Choose how the citizen was contacted."))
    task = _lock(task, expected_version)
    permissions.ensure_can_work_on(actor, task)
    _note_misses(task, actor=actor, now=timezone.now())
    if task.status != Task.Status.IN_PROGRESS:
        raise DomainError(_("Sign for the work order before recording contact."))
    now = timezone.now()
    contacted_at = contacted_at or now
    if contacted_at > now or contacted_at < task.dispatched_at:
        raise DomainError(_("The contact time must be between dispatch and now."))
    task.contacted_at, task.contact_method, task.contact_note, task.contacted_by = contacted_at, method, note, actor
    _save(task, actor=actor, reason=_("citizen contacted"))
    record(actor=actor, action="task.contacted", target=task, changes={"method": method, "contacted_at": contacted_at})
    return task


_NEEDS_BASIS = {Task.Result.PARTLY, Task.Result.EXPLAINED, Task.Result.NOT_RESOLVABLE}


@transaction.atomic
def task_reply(
    *,
    actor: User,
    task: Task,
    result: str,
    reply_text: str,
    policy_basis: str = "",
    expected_version: int | None = None,
) -> Task:
    """办结回复: the department reports the result; the centre reviews it next."""
    if result not in Task.Result.values:
        raise DomainError(_("Choose the result."))
    reply_text = require_text(reply_text, _("Write the reply to the citizen."), limit=LONG_TEXT)
    policy_basis = limit_text(policy_basis)
    if result in _NEEDS_BASIS and not policy_basis:
        raise DomainError(_("Cite the policy or legal basis when the matter is not fully resolved."))
    task = _lock(task, expected_version)
    permissions.ensure_can_work_on(actor, task)
    _note_misses(task, actor=actor, now=timezone.now())
    old = task.status
    task.move_to(Task.Status.REPLIED)
    if task.contacted_at is None and not task.appeal.is_anonymous:
        raise DomainError(_("Record the contact with the citizen before replying."))
    task.result, task.reply_text, task.policy_basis = result, reply_text, policy_basis
    task.replied_at, task.replied_by = timezone.now(), actor
    _save(task, actor=actor, reason=_("replied"))
    record(actor=actor, action="task.replied", target=task, changes={"status": [old, task.status], "result": result})
    return task


@transaction.atomic
def task_review(
    *, actor: User, task: Task, accept: bool, comment: str = "", expected_version: int | None = None
) -> Task:
    """审核: the centre accepts the reply, or sends it back with a reason. Accepting the
    appeal's last open work order marks the appeal reviewed; the return visit is the
    caller's next step (apps.followups.services.task_review_and_schedule does both)."""
    permissions.ensure_dispatcher(actor)
    comment = limit_text(comment)
    task = _lock(task, expected_version)
    if task.status != Task.Status.REPLIED:
        raise DomainError(_("Only replied work orders are reviewed."))
    now = timezone.now()
    task.reviewed_at, task.reviewed_by = now, actor
    if not accept:
        comment = require_text(comment, _("Say what is missing from the reply."))
        task.move_to(Task.Status.IN_PROGRESS)
        task.review_comment = comment
        task.sent_back_count += 1
        _save(task, actor=actor, reason=comment)
        record(
            actor=actor,
            action="task.reply_sent_back",
            target=task,
            reason=comment,
            changes={"status": [Task.Status.REPLIED, Task.Status.IN_PROGRESS]},
        )
        _notify_department(
            task.department, _("Reply sent back: %(number)s") % {"number": task.appeal.tracking_number}, comment, task
        )
        return task
    task.move_to(Task.Status.DONE)
    task.review_comment = comment
    task.closed_at = now
    _save(task, actor=actor, reason=comment or _("reply accepted"))
    record(
        actor=actor,
        action="task.reply_accepted",
        target=task,
        reason=comment,
        changes={"status": [Task.Status.REPLIED, Task.Status.DONE]},
    )
    live = Task.objects.filter(appeal=task.appeal).exclude(status=Task.Status.RETURNED)
    if not live.exclude(status=Task.Status.DONE).exists():
        appeal_services.appeal_mark_reviewed(actor=actor, appeal=task.appeal, reason=_("all replies accepted"))
    return task


@transaction.atomic
def task_reopen(*, actor: User, task: Task, reason: str) -> Task:
    """重办: an unsatisfied return visit, for a reason within the department's control, sends
    the accepted work order back to the same department with new contact and resolve limits
    (the department contacts the citizen again) and one more on its reopen counter."""
    reason = require_text(reason)
    task = _lock(task, None)
    if task.status != Task.Status.DONE:
        raise DomainError(_("Only accepted work orders can be reopened."))
    now = timezone.now()
    limits = _limits_for(task.appeal, now)
    _sign_due, contact_due, resolve_due = sla.due_times(now, limits)
    old_resolve = task.resolve_due_at
    task.move_to(Task.Status.IN_PROGRESS)
    task.reopen_count += 1
    task.contact_due_at, task.resolve_due_at = contact_due, resolve_due
    task.contacted_at, task.contact_method, task.contact_note, task.contacted_by = None, "", "", None
    task.replied_at, task.replied_by, task.result = None, None, ""
    task.reviewed_at, task.reviewed_by, task.review_comment, task.closed_at = None, None, "", None
    _save(task, actor=actor, reason=reason)
    record(
        actor=actor,
        action="task.reopened",
        target=task,
        reason=reason,
        changes={
            "status": [Task.Status.DONE, Task.Status.IN_PROGRESS],
            "reopen_count": task.reopen_count,
            "resolve_due_at": [old_resolve, resolve_due],
        },
    )
    _notify_department(
        task.department,
        _("Reopened after the return visit: %(number)s") % {"number": task.appeal.tracking_number},
        reason,
        task,
    )
    return task


# --- The SLA sweep -----------------------------------------------------------------------------


def sla_sweep(*, actor: User, now=None, batch_size: int = 500) -> dict:
    """Mark missed limits and issue reminders (催办) the working day after a miss.

    Reads only tasks whose sweep time has come (indexed), in batches, each batch in its
    own transaction with SKIP LOCKED so a user's write is never blocked. Idempotent: a
    miss is marked once per deadline (the marker holds the deadline it was set for), a
    reminder is unique per task, limit and deadline, and the sweep time moves past what
    was done. Catches up after downtime because
    it works from stored due times, not from timers.
    """
    now = now or timezone.now()
    marked = reminders = 0
    last_id = 0
    while True:
        with transaction.atomic():
            batch = list(
                Task.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("appeal", "department__group")
                .filter(sweep_due_at__lte=now, id__gt=last_id)
                .order_by("id")[:batch_size]
            )
            if not batch:
                break
            for task in batch:
                m, r = _sweep_one(task, actor=actor, now=now)
                marked += m
                reminders += r
            last_id = batch[-1].id
    return {"marked": marked, "reminders": reminders}


def _sweep_one(task: Task, *, actor: User, now) -> tuple[int, int]:
    marked = reminders = 0
    reminded = _reminded(task)
    running = sla.running_deadlines(task)
    for kind, due in running.items():
        if due <= now and not sla.miss_marked(task, kind, due):
            setattr(task, sla.OVERDUE_FIELD[kind], due)
            marked += 1
            record(actor=actor, action="task.limit_missed", target=task, changes={"limit": kind, "due_at": due})
        if sla.miss_marked(task, kind, due) and kind not in reminded and sla.reminder_time(due) <= now:
            reminder = Reminder(task=task, kind=kind, due_at=due, issued_at=now, department=task.department)
            set_history_context(reminder, actor=actor, reason=_("reminder issued by the time-limit sweep"))
            reminder.save()
            reminded.add(kind)
            reminders += 1
            record(actor=actor, action="task.reminded", target=task, changes={"limit": kind, "due_at": due})
            _notify_department(
                task.department,
                _("Reminder (催办): %(number)s") % {"number": task.appeal.tracking_number},
                _("The %(limit)s of %(due)s was missed.")
                % {"limit": Reminder.Kind(kind).label, "due": local_minute(due)},
                task,
            )
    sla.refresh_deadlines(task, reminded_kinds=reminded)
    set_history_context(task, actor=actor, reason=_("time-limit sweep"))
    task.save()
    return marked, reminders


# --- The time-limit rule table ---------------------------------------------------------------


@transaction.atomic
def sla_rule_save(
    *, actor: User, priority: str, appeal_type: str, category, limits: dict, is_active: bool, reason: str, instance=None
):
    """Create or change a time-limit rule. `limits` = {sign|contact|resolve: (amount, unit)}.
    Applies to work orders dispatched afterwards; running ones keep their due times."""
    reason = require_text(reason, _("A reason is required."))
    rule = instance or SlaRule()
    before = (
        {
            "priority": rule.priority,
            "appeal_type": rule.appeal_type,
            "category": rule.category_id,
            "sign": [rule.sign_amount, rule.sign_unit],
            "contact": [rule.contact_amount, rule.contact_unit],
            "resolve": [rule.resolve_amount, rule.resolve_unit],
            "is_active": rule.is_active,
        }
        if rule.pk
        else {}
    )
    clash = SlaRule.objects.filter(priority=priority, appeal_type=appeal_type, category=category, is_active=True)
    if is_active and clash.exclude(pk=rule.pk).exists():
        raise DomainError(_("An active rule with the same priority, type and category exists; change that one."))
    rule.priority, rule.appeal_type, rule.category, rule.is_active = priority, appeal_type, category, is_active
    for kind in ("sign", "contact", "resolve"):
        amount, unit = limits[kind]
        if amount <= 0:
            raise DomainError(_("Every limit must be longer than zero."))
        setattr(rule, f"{kind}_amount", amount)
        setattr(rule, f"{kind}_unit", unit)
    rule.full_clean()
    set_history_context(rule, actor=actor, reason=reason)
    rule.save()
    transaction.on_commit(sla.invalidate_rules)
    after = {
        "priority": priority,
        "appeal_type": appeal_type,
        "category": rule.category_id,
        **{k: list(v) for k, v in limits.items()},
        "is_active": is_active,
    }
    record(actor=actor, action="sla_rule.saved", target=rule, reason=reason, changes={"before": before, "after": after})
    return rule
