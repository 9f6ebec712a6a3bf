"""Writes of supervision: the ladder sweep, answers to supervision cases, accountability records.

Each service: one transaction, the row locked, actor and state checked, history with a
reason, one action-log entry; notifications leave through the outbox.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.audit.services import record
from apps.core import versioning, working_calendar
from apps.core.admin_links import admin_change_url
from apps.core.exceptions import DomainError, InvalidTransition
from apps.core.history import set_history_context
from apps.core.text_limits import LONG_TEXT
from apps.core.timefmt import local_minute
from apps.core.validation import limit_text, require_text
from apps.notifications import services as notifications
from apps.organization.models import Department, User
from apps.supervision import permissions
from apps.supervision.models import (
    AccountabilityEvidence,
    AccountabilityRecord,
    Level,
    SupervisionCase,
)
from apps.tasks.models import Reminder

# Each step gives the department this many working days to answer; unanswered, the next
# step is raised when the time is up (DESIGN §5: 督办 five working days after 催办).
ANSWER_WORKING_DAYS = 5
NEXT_LEVEL = {Level.REMINDER: Level.NOTICE, Level.NOTICE: Level.CRITICISM}


def _answer_due(raised_at):
    return working_calendar.add_working_days(raised_at, ANSWER_WORKING_DAYS)


def _raise_step(*, actor, task, appeal_id, department_id, limit, level, missed_due_at, raised_at, previous=None):
    """Insert the step unless it exists. The unique (task, limit, missed deadline, level)
    makes this once-only even for two sweeps at once: the loser's insert fails in its
    savepoint."""
    if SupervisionCase.objects.filter(task=task, limit=limit, missed_due_at=missed_due_at, level=level).exists():
        return None
    case = SupervisionCase(
        task=task, appeal_id=appeal_id, department_id=department_id, limit=limit, level=level,
        missed_due_at=missed_due_at, raised_at=raised_at, answer_due_at=_answer_due(raised_at), previous=previous,
    )
    set_history_context(case, actor=actor, reason=_("raised by the supervision sweep"))
    try:
        with transaction.atomic():
            case.save(force_insert=True)
    except IntegrityError:
        return None
    record(
        actor=actor,
        action=f"supervision.{level}_raised",
        target=case,
        changes={"task": task.pk, "limit": limit, "level": level,
                 "answer_due_at": case.answer_due_at},
    )
    group = Department.objects.filter(pk=department_id).values_list("group__name", flat=True).first()
    if group:
        notifications.notify_group(
            group_name=group,
            title=_("%(level)s: answer with a rectification note by %(due)s")
            % {"level": Level(level).label,
               "due": local_minute(case.answer_due_at)},
            body=_("Missed %(limit)s of work order %(task)s.")
            % {"limit": case.get_limit_display(), "task": case.task_id},
            link=admin_change_url(case),
        )
    return case


def supervision_sweep(*, actor: User, now=None, batch_size: int = 500) -> dict:
    """Raise what is due on the ladder, set-based and idempotent.

    1. 催办: every reminder issued by the time-limit sweep (tasks.Reminder, the working day
       after a miss) becomes the first step, if it is not one yet (NOT EXISTS) — those of
       the last SUPERVISION_LOOKBACK_DAYS only: when the ladder goes live on a system with
       a history, year-old misses do not all turn into notices and public criticism at
       once (57,000 cases and their notifications at a million appeals).
    2. 督办 / 通报: a step unanswered at its answer deadline raises the next level, once
       (the unique constraint and get_or_create; `next_step` NOT NULL once raised).
    """
    from django.db.models import Case, CharField, Value, When

    now = now or timezone.now()
    raised = {Level.REMINDER: 0, Level.NOTICE: 0, Level.CRITICISM: 0}
    lookback = now - timedelta(days=settings.SUPERVISION_LOOKBACK_DAYS)
    missing = (
        Reminder.objects.filter(issued_at__lte=now, issued_at__gte=lookback)
        .annotate(
            has_case=Exists(
                SupervisionCase.objects.filter(
                    task=OuterRef("task"),
                    limit=OuterRef("kind"),
                    missed_due_at=OuterRef("due_at"),
                    level=Level.REMINDER,
                )
            )
        )
        .filter(has_case=False)
        .select_related("task")
        .order_by("id")
    )
    while True:
        batch = list(missing[:batch_size])
        if not batch:
            break
        made = 0
        with transaction.atomic():
            for reminder in batch:
                if _raise_step(
                    actor=actor, task=reminder.task, appeal_id=reminder.task.appeal_id,
                    department_id=reminder.department_id, limit=reminder.kind, level=Level.REMINDER,
                    missed_due_at=reminder.due_at, raised_at=reminder.issued_at,
                ):
                    made += 1
        raised[Level.REMINDER] += made
        if len(batch) < batch_size or not made:  # nothing raised: the rest is someone else's
            break
    due = (
        SupervisionCase.objects.filter(answered_at__isnull=True, answer_due_at__lte=now)
        .exclude(level=Level.CRITICISM)
        .filter(next_step__isnull=True)
        .annotate(next_level=Case(
            When(level=Level.REMINDER, then=Value(Level.NOTICE)), default=Value(Level.CRITICISM),
            output_field=CharField(),
        ))
        .select_related("task")
        .order_by("answer_due_at", "id")
    )
    while True:
        batch = list(due[:batch_size])
        if not batch:
            break
        made = 0
        with transaction.atomic():
            for case in batch:
                if _raise_step(
                    actor=actor, task=case.task, appeal_id=case.appeal_id, department_id=case.department_id,
                    limit=case.limit, level=case.next_level, missed_due_at=case.missed_due_at,
                    raised_at=case.answer_due_at, previous=case,
                ):
                    raised[case.next_level] += 1
                    made += 1
        if len(batch) < batch_size or not made:
            break
    return {str(k): v for k, v in raised.items()}


@transaction.atomic
def case_answer(*, actor: User, case: SupervisionCase, note: str, expected_version: int | None = None):
    """The department concerned answers a step with its rectification note (once)."""
    note = require_text(note, _("Say what was rectified and how."), limit=LONG_TEXT)
    permissions.ensure_can_answer(actor, case)
    case = versioning.lock(
        SupervisionCase.objects.all(),
        pk=case.pk,
        expected_version=expected_version,
        stale_message=_("Someone else changed this supervision case after you opened it. Reload and try again."),
    )
    if case.answered_at is not None:
        raise InvalidTransition(_("This supervision case is already answered."))
    now = timezone.now()
    case.rectification_note, case.answered_at, case.answered_by = note, now, actor
    versioning.save(case, actor=actor, reason=note)
    record(
        actor=actor,
        action="supervision.answered",
        target=case,
        reason=note,
        changes={"level": case.level, "late": now > case.answer_due_at},
    )
    return case


# --- Accountability (问责) --------------------------------------------------------------------


def _check_subject(department, person) -> None:
    if person is not None and person.department_id != department.pk:
        raise DomainError(_("The person concerned does not belong to the department concerned."))


def _add_evidence(rec: AccountabilityRecord, *, actor, appeals, entry_refs, reason) -> None:
    from apps.casefile import timeline

    for appeal in appeals or []:
        ev = AccountabilityEvidence(record=rec, appeal=appeal)
        set_history_context(ev, actor=actor, reason=reason)
        ev.save()
    for ref in entry_refs or []:
        ref = ref.strip()
        if not ref:
            continue
        if not timeline.entry_exists(ref):
            raise DomainError(_("No history entry %(ref)s.") % {"ref": ref})
        ev = AccountabilityEvidence(record=rec, entry_ref=ref)
        set_history_context(ev, actor=actor, reason=reason)
        ev.save()


@transaction.atomic
def accountability_record(
    *,
    actor: User,
    subject_department: Department,
    subject_person: User | None,
    finding: str,
    decision: str,
    sanction: str,
    reason: str,
    appeals=(),
    entry_refs=(),
    supersedes: AccountabilityRecord | None = None,
) -> AccountabilityRecord:
    """An inspector records a finding with its evidence. `supersedes` amends a closed record
    (the only way to change one); a record is superseded at most once."""
    permissions.ensure_inspector(actor)
    finding = require_text(finding, _("State the finding."), limit=LONG_TEXT)
    decision = limit_text(decision, limit=LONG_TEXT)
    reason = require_text(reason, _("Give the reason for this change."))
    _check_subject(subject_department, subject_person)
    if sanction not in AccountabilityRecord.Sanction.values:
        raise DomainError(_("Unknown sanction."))
    if supersedes is not None:
        supersedes = AccountabilityRecord.objects.select_for_update().get(pk=supersedes.pk)
        if not supersedes.is_closed:
            raise InvalidTransition(_("An open record is edited, not amended."))
        if AccountabilityRecord.objects.filter(supersedes=supersedes).exists():
            raise InvalidTransition(_("This record is already amended; amend the newest one."))
    if not appeals and not entry_refs and supersedes is None:
        raise DomainError(_("Link the finding to its evidence: appeals or history entries."))
    rec = AccountabilityRecord(
        subject_department=subject_department,
        subject_person=subject_person,
        finding=finding,
        decision=decision,
        sanction=sanction,
        recorded_by=actor,
        recorded_at=timezone.now(),
        supersedes=supersedes,
    )
    set_history_context(rec, actor=actor, reason=reason)
    rec.save()
    _add_evidence(rec, actor=actor, appeals=appeals, entry_refs=entry_refs, reason=reason)
    record(
        actor=actor,
        action="accountability.recorded",
        target=rec,
        reason=reason,
        changes={"department": subject_department.code, "person": subject_person.pk if subject_person else None,
                 "sanction": sanction, "supersedes": supersedes.pk if supersedes else None},
    )
    return rec


def _lock_open(rec: AccountabilityRecord, expected_version) -> AccountabilityRecord:
    rec = versioning.lock(
        AccountabilityRecord.objects.all(),
        pk=rec.pk,
        expected_version=expected_version,
        stale_message=_("Someone else changed this record after you opened it. Reload and try again."),
    )
    if rec.is_closed:
        raise InvalidTransition(_("A closed record is never edited: record a new one that amends it."))
    return rec


@transaction.atomic
def accountability_update(
    *, actor: User, record_: AccountabilityRecord, finding: str, decision: str, sanction: str, reason: str,
    subject_person: User | None = None, appeals=(), entry_refs=(), expected_version: int | None = None,
) -> AccountabilityRecord:
    """Change an open record (finding, decision, sanction, person; add evidence)."""
    permissions.ensure_inspector(actor)
    reason = require_text(reason, _("Give the reason for this change."))
    rec = _lock_open(record_, expected_version)
    _check_subject(rec.subject_department, subject_person)
    if sanction not in AccountabilityRecord.Sanction.values:
        raise DomainError(_("Unknown sanction."))
    before = {"finding": rec.finding, "decision": rec.decision, "sanction": rec.sanction,
              "person": rec.subject_person_id}
    rec.finding = require_text(finding, _("State the finding."), limit=LONG_TEXT)
    rec.decision, rec.sanction, rec.subject_person = limit_text(decision, limit=LONG_TEXT), sanction, subject_person
    versioning.save(rec, actor=actor, reason=reason)
    _add_evidence(rec, actor=actor, appeals=appeals, entry_refs=entry_refs, reason=reason)
    after = {"finding": rec.finding, "decision": rec.decision, "sanction": rec.sanction,
             "person": rec.subject_person_id}
    record(actor=actor, action="accountability.updated", target=rec, reason=reason,
           changes={k: [before[k], after[k]] for k in before if before[k] != after[k]})
    return rec


@transaction.atomic
def accountability_close(
    *, actor: User, record_: AccountabilityRecord, reason: str, expected_version: int | None = None
) -> AccountabilityRecord:
    """Close a record: from now on it is only amended by a new, linked record."""
    permissions.ensure_inspector(actor)
    reason = require_text(reason, _("Give the reason for this change."))
    rec = _lock_open(record_, expected_version)
    if not rec.decision.strip():
        raise DomainError(_("Record the decision before closing."))
    rec.status, rec.closed_at, rec.closed_by = AccountabilityRecord.Status.CLOSED, timezone.now(), actor
    versioning.save(rec, actor=actor, reason=reason)
    record(actor=actor, action="accountability.closed", target=rec, reason=reason,
           changes={"status": ["open", "closed"]})
    return rec
