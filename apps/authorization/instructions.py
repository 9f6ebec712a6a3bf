"""Instructions (批示): a leader's instruction on an appeal, which each receiving department
acknowledges (签收) and then reports on (落实情况). DESIGN §1 "flexible adaptation", issue 5.

Services lock the row, check the actor and the state, save with history (actor + reason)
and one action-log entry, and notify through the outbox. Selectors at the end.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.appeals.models import Appeal
from apps.audit.services import record
from apps.authorization.models import Instruction, InstructionReceipt
from apps.core import versioning, working_calendar
from apps.core.admin_links import admin_change_url
from apps.core.exceptions import DomainError, InvalidTransition, NotFoundForActor, NotPermitted
from apps.core.history import set_history_context
from apps.core.text_limits import LONG_TEXT
from apps.core.timefmt import local_minute
from apps.core.validation import require_text
from apps.notifications import services as notifications
from apps.organization.models import Department, User
from apps.organization.services import department_group_name
from apps.tasks.models import Task
from apps.tasks.permissions import DEPARTMENT_ROLES, department_handles_appeal

R = User.Role
URGENT_RESPONSE = dt.timedelta(hours=24)  # escalated and P0 appeals (DESIGN §5)
RESPONSE_WORKING_DAYS = 2
# Roles that read every instruction and receipt (model permissions narrow it further).
READ_ALL_ROLES = {R.CITY_LEADER, R.INSPECTOR, R.DISPATCHER}


def _local(instant) -> str:
    return local_minute(instant)


def _receipt_link(receipt: InstructionReceipt) -> str:
    return admin_change_url(receipt)


# --- Scope ---------------------------------------------------------------------------------


def visible_receipts(user, qs: QuerySet[InstructionReceipt] | None = None) -> QuerySet[InstructionReceipt]:
    """Department roles: their department's receipts (FK), plus those of instructions they
    issued themselves. City leaders, inspectors and the centre: all."""
    qs = InstructionReceipt.objects.all() if qs is None else qs
    if not user.is_authenticated or not user.is_active:
        return qs.none()
    if user.role in READ_ALL_ROLES:
        return qs
    if user.role in DEPARTMENT_ROLES and user.department_id:
        return qs.filter(Q(department_id=user.department_id) | Q(instruction__issued_by=user))
    return qs.none()


def visible_instructions(user, qs: QuerySet[Instruction] | None = None) -> QuerySet[Instruction]:
    """Department roles: instructions their department received (one EXISTS on the
    receipt table) or that they issued."""
    qs = Instruction.objects.all() if qs is None else qs
    if not user.is_authenticated or not user.is_active:
        return qs.none()
    if user.role in READ_ALL_ROLES:
        return qs
    if user.role in DEPARTMENT_ROLES and user.department_id:
        received = Exists(
            InstructionReceipt.objects.filter(instruction=OuterRef("pk"), department_id=user.department_id)
        )
        return qs.filter(received | Q(issued_by=user))
    return qs.none()


def _ensure_receiver(actor: User, receipt: InstructionReceipt) -> None:
    """Only staff and leaders of the receiving department act on a receipt; those who may
    not even see it get "not found"."""
    if actor.is_active and actor.role in DEPARTMENT_ROLES and actor.department_id == receipt.department_id:
        return
    if visible_receipts(actor, InstructionReceipt.objects.filter(pk=receipt.pk)).exists():
        raise NotPermitted(_("Only staff of %(dept)s can answer this instruction.") % {"dept": receipt.department})
    raise NotFoundForActor(_("No such instruction."))


def _ensure_can_issue(actor: User, appeal: Appeal) -> None:
    if not actor.is_active:
        raise NotPermitted(_("This account is deactivated."))
    if actor.role == R.CITY_LEADER:
        return
    handles = department_handles_appeal(actor, appeal)
    if actor.role == R.DEPT_LEADER and handles:
        return
    if actor.role in DEPARTMENT_ROLES and not handles:
        raise NotFoundForActor(_("No such appeal."))  # they may not see it at all
    raise NotPermitted(_("Only city leaders, and leaders of a department handling the appeal, issue instructions."))


def _live_task_departments(appeal: Appeal) -> list[Department]:
    """Departments with a work order on the appeal that was not returned."""
    live = Task.objects.filter(appeal=appeal, department=OuterRef("pk")).exclude(status=Task.Status.RETURNED)
    return list(Department.objects.filter(Exists(live)).order_by("path"))


def default_respond_by(appeal: Appeal, now: dt.datetime) -> dt.datetime:
    """24 hours for escalated and P0 appeals, otherwise two working days."""
    if appeal.is_escalated or appeal.priority == Appeal.Priority.P0:
        return now + URGENT_RESPONSE
    return working_calendar.add_working_days(now, RESPONSE_WORKING_DAYS)


# --- Services ------------------------------------------------------------------------------


@transaction.atomic
def instruction_issue(
    *,
    actor: User,
    appeal: Appeal,
    text: str,
    respond_by: dt.datetime | None = None,
    departments: list[Department] | None = None,
) -> Instruction:
    """批示: a city leader (or the leader of a department handling the appeal, to their own
    units) instructs departments; one receipt per department, each department notified.

    Without `departments`, the departments of the appeal's live work orders receive it.
    """
    text = require_text(text, _("Write the instruction."), limit=LONG_TEXT)
    _ensure_can_issue(actor, appeal)
    now = timezone.now()
    own_units = actor.department.path if actor.role == R.DEPT_LEADER else None
    if departments:
        departments = list({d.pk: d for d in departments}.values())
    else:
        departments = _live_task_departments(appeal)
        if own_units is not None:
            departments = [d for d in departments if d.path.startswith(own_units)]
        if not departments:
            raise DomainError(
                _("The appeal has no work orders yet: choose the departments that receive the instruction.")
            )
    if own_units is not None and any(not d.path.startswith(own_units) for d in departments):
        raise NotPermitted(_("A department leader instructs only their own department and its units."))
    if any(not d.is_active for d in departments):
        raise DomainError(_("Deactivated departments cannot receive instructions."))
    if respond_by is None:
        respond_by = default_respond_by(appeal, now)
    elif respond_by <= now:
        raise DomainError(_("The time to act by must be in the future."))

    instruction = Instruction(appeal=appeal, issued_by=actor, issued_at=now, text=text, respond_by=respond_by)
    set_history_context(instruction, actor=actor, reason=_("instruction issued"))
    instruction.save()
    receipts = []
    for department in sorted(departments, key=lambda d: d.path):
        receipt = InstructionReceipt(instruction=instruction, department=department)
        set_history_context(receipt, actor=actor, reason=_("instruction issued"))
        receipt.save()
        receipts.append(receipt)
    record(
        actor=actor,
        action="instruction.issued",
        target=instruction,
        changes={
            "appeal": appeal.tracking_number,
            "departments": [r.department.code for r in receipts],
            "respond_by": respond_by,
            "text": text,
        },
    )
    for receipt in receipts:
        notifications.notify_group(
            group_name=department_group_name(receipt.department),
            title=_("Instruction (批示) on appeal %(number)s") % {"number": appeal.tracking_number},
            body=_("%(text)s\nAcknowledge it and report what was done by %(due)s.")
            % {"text": text, "due": _local(respond_by)},
            link=_receipt_link(receipt),
        )
    return instruction


def _lock(receipt: InstructionReceipt) -> InstructionReceipt:
    # Receipts carry no version: each step happens once and is refused the second time.
    return versioning.lock(
        InstructionReceipt.objects.select_related("instruction__appeal", "instruction__issued_by", "department"),
        pk=receipt.pk,
        of=("self",),
    )


@transaction.atomic
def instruction_acknowledge(*, actor: User, receipt: InstructionReceipt) -> InstructionReceipt:
    """签收: the receiving department confirms it has the instruction. Once."""
    receipt = _lock(receipt)
    _ensure_receiver(actor, receipt)
    if receipt.acknowledged_at is not None:
        raise InvalidTransition(
            _("%(user)s already acknowledged this instruction at %(time)s.")
            % {"user": receipt.acknowledged_by, "time": _local(receipt.acknowledged_at)}
        )
    now = timezone.now()
    receipt.acknowledged_at, receipt.acknowledged_by = now, actor
    set_history_context(receipt, actor=actor, reason=_("instruction acknowledged"))
    receipt.save(update_fields=["acknowledged_at", "acknowledged_by", "updated_at"])
    record(
        actor=actor,
        action="instruction.acknowledged",
        target=receipt,
        changes={"department": receipt.department.code, "late": now > receipt.instruction.respond_by},
    )
    return receipt


@transaction.atomic
def instruction_record_action(*, actor: User, receipt: InstructionReceipt, note: str) -> InstructionReceipt:
    """落实情况: after acknowledging, the department reports what it did. Once; the leader
    who issued the instruction is notified."""
    note = require_text(note, _("Describe what your department did about the instruction."))
    receipt = _lock(receipt)
    _ensure_receiver(actor, receipt)
    if receipt.acknowledged_at is None:
        raise InvalidTransition(_("Acknowledge the instruction before reporting on it."))
    if receipt.acted_at is not None:
        raise InvalidTransition(
            _("What was done was already reported at %(time)s.") % {"time": _local(receipt.acted_at)}
        )
    now = timezone.now()
    receipt.action_note, receipt.acted_at = note, now
    set_history_context(receipt, actor=actor, reason=note)
    receipt.save(update_fields=["action_note", "acted_at", "updated_at"])
    late = now > receipt.instruction.respond_by
    record(
        actor=actor,
        action="instruction.acted_on",
        target=receipt,
        reason=note,
        changes={"department": receipt.department.code, "late": late},
    )
    instruction = receipt.instruction
    notifications.notify_users(
        user_ids=[instruction.issued_by_id],
        title=_("%(dept)s reported on your instruction on %(number)s")
        % {"dept": receipt.department, "number": instruction.appeal.tracking_number},
        body=note,
        link=_receipt_link(receipt),
    )
    return receipt


# --- Selectors -----------------------------------------------------------------------------

_RECEIPT_RELATED = ["instruction__appeal", "instruction__issued_by", "department", "acknowledged_by"]


def receipt_list_open_for_department(*, department: Department) -> QuerySet[InstructionReceipt]:
    """A department's instructions still to act on, the most urgent first. One query
    (index receipt_dept_open_idx), whatever the number of rows."""
    return (
        InstructionReceipt.objects.filter(department=department, acted_at__isnull=True)
        .select_related(*_RECEIPT_RELATED)
        .order_by("instruction__respond_by", "id")
    )


def receipt_list_for_user(*, user) -> QuerySet[InstructionReceipt]:
    return visible_receipts(user).select_related(*_RECEIPT_RELATED).order_by("instruction__respond_by", "id")


def receipt_is_late(receipt: InstructionReceipt, now: dt.datetime | None = None) -> bool:
    """Acted on after the time set, or still not acted on past it."""
    due = receipt.instruction.respond_by
    if receipt.acted_at is not None:
        return receipt.acted_at > due
    return (now or timezone.now()) > due
