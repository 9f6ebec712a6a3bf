"""Return visits (回访): scheduling, calls, outcomes, reopening (重办) and closing.

Each function: lock the row, check the actor and the state (and the version the user
saw), write with history and one action-log entry, queue messages through the outbox.

Followups sit above appeals and tasks, whose services know nothing of visits: the steps
that lead to a visit (a direct answer, the review of the last reply) are orchestrated
here, by `appeal_answer_and_sample` and `task_review_and_schedule`.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.appeals import services as appeal_services
from apps.appeals.models import Appeal
from apps.audit.services import record
from apps.core import versioning, working_calendar
from apps.core.admin_links import admin_change_url
from apps.core.exceptions import DomainError, InvalidTransition
from apps.core.history import set_history_context
from apps.core.text_limits import clip
from apps.core.validation import limit_text, require_text
from apps.followups import citizen_messages, permissions
from apps.followups.models import SATISFIED_GRADES, Satisfaction, Visit, VisitAttempt
from apps.notifications import services as notifications
from apps.organization.models import User
from apps.organization.selectors import staff_list
from apps.tasks import services as task_services
from apps.tasks.models import Task

MAX_ATTEMPTS = 3
# A call started this long ago by someone else may be taken over (they left it).
TAKEOVER_MINUTES = 60


def is_sampled(key: str, rate: float, *, salt: str | None = None) -> bool:
    """Deterministic sampling: the same key always gets the same answer (reproducible,
    and an operator cannot steer an appeal in or out)."""
    if rate <= 0:
        return False
    if rate >= 1:
        return True
    salt = settings.FOLLOWUP_SAMPLE_SALT if salt is None else salt
    digest = hashlib.sha256(f"{salt}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < rate


def _due(now):
    return working_calendar.add_working_days(now, 1)


def _lock(visit: Visit, expected_version: int | None) -> Visit:
    return versioning.lock(
        Visit.objects.select_related("appeal", "task", "department", "recheck_of"),
        pk=visit.pk,
        expected_version=expected_version,
        stale_message=_("Someone else changed this return visit after you opened it. Reload and try again."),
        of=("self",),
    )


def _save(visit: Visit, *, actor, reason: str) -> None:
    versioning.save(visit, actor=actor, reason=reason)


def _create(*, actor, appeal: Appeal, kind: str, task: Task | None, reason: str, recheck_of=None) -> Visit:
    now = timezone.now()
    rounds = Visit.objects.filter(appeal=appeal).exclude(kind=Visit.Kind.RECHECK).count()
    visit = Visit(
        appeal=appeal,
        task=task,
        department_id=task.department_id if task else (recheck_of.department_id if recheck_of else None),
        kind=kind,
        round=recheck_of.round if recheck_of else rounds + 1,
        recheck_of=recheck_of,
        scheduled_at=now,
        due_at=_due(now),
    )
    set_history_context(visit, actor=actor, reason=reason)
    visit.save()
    record(
        actor=actor,
        action="visit.scheduled",
        target=visit,
        reason=reason,
        changes={"appeal": appeal.tracking_number, "kind": kind, "round": visit.round, "due_at": visit.due_at},
    )
    return visit


def visit_schedule(*, actor: User, appeal: Appeal) -> Visit:
    """For a reviewed appeal (every work order accepted): a visit is due the next working
    day. At most one open visit per appeal."""
    open_visit = Visit.objects.filter(appeal=appeal, status=Visit.Status.SCHEDULED).exclude(kind=Visit.Kind.RECHECK)
    existing = open_visit.first()
    if existing is not None:
        return existing
    lead = (
        Task.objects.filter(appeal=appeal, role=Task.Role.LEAD)
        .exclude(status=Task.Status.RETURNED)
        .select_related("department")
        .first()
    )
    visit = _create(actor=actor, appeal=appeal, kind=Visit.Kind.REPLY, task=lead, reason=_("reply accepted"))
    citizen_messages.queue(appeal, "reply_ready")
    citizen_messages.queue(appeal, "visit_coming", due_at=visit.due_at)
    return visit


def visit_schedule_when_reviewed(*, actor: User, appeal: Appeal) -> Visit | None:
    """After a step that may have accepted an appeal's last work order (a review, an
    approved closure): once the appeal is reviewed, its return visit is scheduled.
    Nothing while work orders are still open."""
    reviewed = Appeal.objects.filter(pk=appeal.pk, status=Appeal.Status.REVIEWED).first()
    return visit_schedule(actor=actor, appeal=reviewed) if reviewed is not None else None


@transaction.atomic
def task_review_and_schedule(
    *, actor: User, task: Task, accept: bool, comment: str = "", expected_version: int | None = None
) -> Task:
    """审核 and what follows it: tasks.services.task_review accepts the reply (or sends it
    back); when that was the appeal's last open work order the appeal is now reviewed and
    the citizen's return visit is scheduled, in the same transaction."""
    task = task_services.task_review(
        actor=actor, task=task, accept=accept, comment=comment, expected_version=expected_version
    )
    if accept:
        visit_schedule_when_reviewed(actor=actor, appeal=task.appeal)
    return task


@transaction.atomic
def appeal_answer_and_sample(
    *, actor: User, appeal: Appeal, answer: str, expected_version: int | None = None
) -> Appeal:
    """直接答复 and what follows it: appeals.services.appeal_answer_directly answers the
    appeal at intake, then, in the same transaction, a sample is kept for a return visit
    and the others close (visit_sample_direct_answer). Returns the appeal as it now is."""
    appeal = appeal_services.appeal_answer_directly(
        actor=actor, appeal=appeal, answer=answer, expected_version=expected_version
    )
    visit_sample_direct_answer(actor=actor, appeal=appeal)
    appeal.refresh_from_db()
    return appeal


def visit_sample_direct_answer(*, actor: User, appeal: Appeal) -> Visit | None:
    """A direct answer is called back when sampled (FOLLOWUP_DIRECT_ANSWER_SAMPLE_RATE,
    deterministic by tracking number); otherwise the appeal closes now."""
    if is_sampled(appeal.tracking_number, settings.FOLLOWUP_DIRECT_ANSWER_SAMPLE_RATE):
        visit = _create(
            actor=actor, appeal=appeal, kind=Visit.Kind.DIRECT, task=None, reason=_("direct answer sampled")
        )
        citizen_messages.queue(appeal, "visit_coming", due_at=visit.due_at)
        return visit
    appeal_services.appeal_close(actor=actor, appeal=appeal, reason=_("direct answer, not sampled for a return visit"))
    return None


def visit_schedule_recheck(*, actor: User, visit: Visit) -> Visit:
    """A second agent calls the citizen again (the re-visit sample). Changes no appeal."""
    return _create(
        actor=actor,
        appeal=visit.appeal,
        kind=Visit.Kind.RECHECK,
        task=None,
        reason=_("re-visit sample"),
        recheck_of=visit,
    )


def _ensure_scheduled(visit: Visit) -> None:
    if visit.status != Visit.Status.SCHEDULED:
        raise InvalidTransition(
            _("This return visit is “%(status)s”; nothing more can be recorded on it.")
            % {"status": visit.get_status_display()}
        )


@transaction.atomic
def visit_start_call(*, actor: User, visit: Visit, expected_version: int | None = None) -> Visit:
    """The agent takes the visit and starts the call (the time is the formality checks' start)."""
    visit = _lock(visit, expected_version)
    permissions.ensure_can_record(actor, visit)
    _ensure_scheduled(visit)
    now = timezone.now()
    if (
        visit.assigned_to_id not in (None, actor.pk)
        and visit.call_started_at
        and now - visit.call_started_at < timezone.timedelta(minutes=TAKEOVER_MINUTES)
    ):
        raise DomainError(_("%(agent)s is calling this citizen now; try again later.") % {"agent": visit.assigned_to})
    visit.assigned_to, visit.call_started_at = actor, now
    _save(visit, actor=actor, reason=_("call started"))
    record(actor=actor, action="visit.call_started", target=visit)
    return visit


@transaction.atomic
def visit_call_contact(*, actor: User, visit: Visit) -> dict | None:
    """The citizen's name and phone for the agent now in the call (lists show them masked),
    logged like every reveal; None for an appeal without a phone."""
    visit = Visit.objects.select_related("appeal").get(pk=visit.pk)
    if visit.assigned_to_id != actor.pk or visit.call_started_at is None or visit.status != Visit.Status.SCHEDULED:
        raise DomainError(_("Start the call first, then record what happened."))
    if not visit.appeal.citizen_phone:
        return None
    return task_services.appeal_reveal_contact(actor=actor, appeal=visit.appeal, reason=_("return visit call"))


def _attempt(visit: Visit, *, actor, reached: bool, note: str, now) -> VisitAttempt:
    if visit.assigned_to_id != actor.pk or visit.call_started_at is None:
        raise DomainError(_("Start the call first, then record what happened."))
    attempt = VisitAttempt(
        visit=visit,
        number=visit.attempt_count + 1,
        agent=actor,
        started_at=visit.call_started_at,
        recorded_at=now,
        reached=reached,
        note=note,
    )
    set_history_context(attempt, actor=actor, reason=_("citizen reached") if reached else _("citizen not reached"))
    attempt.save()
    visit.attempt_count += 1
    visit.call_started_at = None
    return attempt


def _attempt_lines(visit: Visit) -> list[str]:
    return [
        f"#{a.number} {timezone.localtime(a.recorded_at):%Y-%m-%d %H:%M} {a.agent.get_username()}: {a.note}"
        for a in visit.attempts.select_related("agent").order_by("number")
    ]


@transaction.atomic
def visit_record_unreached(*, actor: User, visit: Visit, note: str, expected_version: int | None = None) -> Visit:
    """The citizen did not answer. Up to three attempts, each on a different day; the third
    closes the visit as unreachable (the attempts listed) and the appeal with it."""
    note = require_text(note, _("Note how you tried (number called, what happened)."))
    visit = _lock(visit, expected_version)
    permissions.ensure_can_record(actor, visit)
    _ensure_scheduled(visit)
    now = timezone.now()
    today = timezone.localdate(now)
    tried_today = any(
        timezone.localtime(at).date() == today for at in visit.attempts.values_list("recorded_at", flat=True)
    )
    if tried_today:
        raise DomainError(_("This citizen was already tried today; try again on another working day."))
    _attempt(visit, actor=actor, reached=False, note=note, now=now)
    if visit.attempt_count < MAX_ATTEMPTS:
        visit.due_at = _due(now)
        _save(visit, actor=actor, reason=_("citizen not reached (attempt %(n)d)") % {"n": visit.attempt_count})
        record(
            actor=actor, action="visit.not_reached", target=visit, reason=note, changes={"attempt": visit.attempt_count}
        )
        return visit
    visit.status, visit.completed_at, visit.completed_by = Visit.Status.UNREACHABLE, now, actor
    lines = _attempt_lines(visit)
    reason = _("unreachable after %(n)d attempts") % {"n": visit.attempt_count}
    _save(visit, actor=actor, reason=reason + ": " + "; ".join(lines))
    record(
        actor=actor,
        action="visit.unreachable",
        target=visit,
        reason=reason,
        changes={"status": ["scheduled", "unreachable"], "attempts": lines},
    )
    if visit.kind != Visit.Kind.RECHECK:
        # The attempts' notes are each up to the limit: the appeal's reason is cut to it
        # (the notes stay whole on the attempts and in the entry above).
        appeal_services.appeal_close(actor=actor, appeal=visit.appeal, reason=clip(reason + ": " + "; ".join(lines)))
    return visit


@transaction.atomic
def visit_record_outcome(
    *,
    actor: User,
    visit: Visit,
    resolved: bool,
    satisfaction: str,
    citizen_words: str,
    fault: str = "",
    fault_note: str = "",
    expected_version: int | None = None,
) -> Visit:
    """The citizen was reached: resolved or not, the grade, their words. Unresolved or
    unsatisfied for a reason within the department's control reopens the work order;
    outside it, the reason is recorded and the appeal closes."""
    if satisfaction not in Satisfaction.values:
        raise DomainError(_("Choose the citizen's satisfaction grade."))
    citizen_words = require_text(citizen_words, _("Write down what the citizen said."))
    unhappy = resolved is False or satisfaction not in SATISFIED_GRADES
    visit = _lock(visit, expected_version)
    permissions.ensure_can_record(actor, visit)
    _ensure_scheduled(visit)
    if unhappy and visit.kind != Visit.Kind.RECHECK:
        if fault not in {Visit.Fault.DEPARTMENT, Visit.Fault.OUTSIDE}:
            raise DomainError(_("Say whether the reason is within the department's control or outside it."))
        fault_note = require_text(fault_note, _("Explain the reason for the dissatisfaction."))
        if fault == Visit.Fault.DEPARTMENT and visit.task_id is None:
            raise DomainError(
                _(
                    "No department handled this appeal (it was answered directly); "
                    "choose “outside the department's control”."
                )
            )
    else:
        fault, fault_note = "", limit_text(fault_note)
    now = timezone.now()
    _attempt(visit, actor=actor, reached=True, note=citizen_words, now=now)
    visit.resolved, visit.satisfaction, visit.citizen_words = resolved, satisfaction, citizen_words
    visit.fault, visit.fault_note = fault, fault_note
    visit.status, visit.completed_at, visit.completed_by = Visit.Status.DONE, now, actor
    reopen = unhappy and fault == Visit.Fault.DEPARTMENT and visit.kind == Visit.Kind.REPLY
    visit.reopened = reopen
    _save(visit, actor=actor, reason=_("visited: %(grade)s") % {"grade": Satisfaction(satisfaction).label})
    record(
        actor=actor,
        action="visit.recorded",
        target=visit,
        reason=fault_note,
        changes={
            "status": ["scheduled", "done"],
            "resolved": resolved,
            "satisfaction": satisfaction,
            "fault": fault,
            "reopen": reopen,
        },
    )
    if visit.kind == Visit.Kind.RECHECK:
        return visit
    if reopen:
        _reopen(actor=actor, visit=visit, reason=fault_note)
    else:
        appeal_services.appeal_close(
            actor=actor,
            appeal=visit.appeal,
            reason=_("return visit recorded: %(grade)s") % {"grade": Satisfaction(satisfaction).label},
        )
    return visit


def _reopen(*, actor: User, visit: Visit, reason: str) -> None:
    """重办 and its ladder: the second reopen tells the department's leaders, the third
    escalates the appeal to the city government."""
    appeal_services.appeal_reopen(actor=actor, appeal=visit.appeal, reason=reason)
    task = task_services.task_reopen(actor=actor, task=visit.task, reason=reason)
    number = visit.appeal.tracking_number
    if task.reopen_count == 2:
        leaders = list(
            staff_list(department=task.department, role=User.Role.DEPT_LEADER)
            .filter(is_active=True)
            .values_list("pk", flat=True)
        )
        notifications.notify_users(
            user_ids=leaders,
            title=_("Reopened a second time: %(number)s") % {"number": number},
            body=reason,
            link=admin_change_url(task),
        )
        record(
            actor=actor, action="visit.reopen_leader_notified", target=task, reason=reason, changes={"leaders": leaders}
        )
    elif task.reopen_count >= 3:
        escalation = clip(
            _("Reopened %(n)d times after return visits: %(reason)s") % {"n": task.reopen_count, "reason": reason}
        )
        appeal = Appeal.objects.get(pk=visit.appeal_id)
        if appeal.is_escalated:
            notifications.notify_role(
                role=User.Role.CITY_LEADER,
                title=_("Escalated appeal reopened again: %(number)s") % {"number": number},
                body=escalation,
                link=admin_change_url(appeal),
            )
        else:
            appeal_services.appeal_escalate(actor=actor, appeal=appeal, reason=escalation)
            task_services.tasks_escalate(actor=actor, appeal=appeal, reason=escalation)
    citizen_messages.queue(visit.appeal, "reopened")
