"""Who held an appeal at each stage, for how long, which limits were missed and by whom,
and which extensions were approved by whom: computed from the history, not typed in.

Four queries whatever the number of work orders: its work orders' history rows, its work
orders (current due times), its extension requests and its return visits.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.authorization.models import ApprovalRequest
from apps.core import working_calendar
from apps.followups.models import Visit
from apps.tasks.models import Task

# Who holds a work order in each status: the department, or the centre (reviewing a reply).
DEPARTMENT_HOLDS = {"pending_sign", "in_progress", "return_requested"}
CENTRE_HOLDS = {"replied"}
TERMINAL = {"done", "returned"}
STAGE_LABELS = {
    "intake": _("centre: intake and dispatch"),
    "pending_sign": _("waiting to be signed for"),
    "in_progress": _("in progress"),
    "return_requested": _("return requested"),
    "replied": _("replied, under review by the centre"),
    "visit": _("centre: return visit"),
}
# Why a work order's resolve limit moved (only approved extensions are extensions).
LIMIT_CHANGE_LABELS = {
    "extension": _("extension approved"),
    "reopen": _("new limits after reopening (重办)"),
    "escalation": _("24-hour limit after escalation"),
    "other": _("other change"),
}


def working_hours_between(start: dt.datetime, end: dt.datetime) -> float:
    """Office hours (settings.WORKING_HOURS on working days) between two instants."""
    if end <= start:
        return 0.0
    tz = timezone.get_current_timezone()
    total = dt.timedelta()
    day = timezone.localtime(start).date()
    last = timezone.localtime(end).date()
    while day <= last:
        if working_calendar.is_working_day(day):
            for begin, finish in settings.WORKING_HOURS:
                b = timezone.make_aware(dt.datetime.combine(day, dt.time.fromisoformat(begin)), tz)
                e = timezone.make_aware(dt.datetime.combine(day, dt.time.fromisoformat(finish)), tz)
                lo, hi = max(b, start), min(e, end)
                if hi > lo:
                    total += hi - lo
        day += dt.timedelta(days=1)
    return round(total.total_seconds() / 3600, 2)


@dataclass
class Stage:
    key: str
    label: str
    holder: str  # department or centre name
    holder_kind: str  # "centre" or "department"
    task_id: int | None
    person: str  # who acted to end it (or started it)
    start: dt.datetime
    end: dt.datetime | None  # None: still running

    @property
    def hours(self) -> float:
        end = self.end or timezone.now()
        return round((end - self.start).total_seconds() / 3600, 2)

    @property
    def working_hours(self) -> float:
        return working_hours_between(self.start, self.end or timezone.now())


@dataclass
class Miss:
    task_id: int
    department: str
    limit: str
    limit_label: str
    due_at: dt.datetime
    done_at: dt.datetime | None  # when the action finally happened (None: not yet)
    responsible: str  # the department, and the person who held the order if any

    @property
    def late_hours(self) -> float:
        end = self.done_at or timezone.now()
        return round((end - self.due_at).total_seconds() / 3600, 2)


@dataclass
class Extension:
    task_id: int
    department: str
    old_due: dt.datetime
    new_due: dt.datetime
    changed_by: str
    changed_by_role: str
    at: dt.datetime
    reason: str
    requested_by: str = ""
    approved_by: str = ""
    days: int | None = None
    kind: str = "extension"  # a key of LIMIT_CHANGE_LABELS

    @property
    def kind_label(self) -> str:
        return str(LIMIT_CHANGE_LABELS.get(self.kind, self.kind))


@dataclass
class Responsibility:
    stages: list[Stage] = field(default_factory=list)
    misses: list[Miss] = field(default_factory=list)
    extensions: list[Extension] = field(default_factory=list)  # approved extensions
    limit_changes: list[Extension] = field(default_factory=list)  # reopening, escalation, other


def _name(user) -> str:
    return (user.name or user.username) if user else ""


def appeal_responsibility(appeal) -> Responsibility:
    result = Responsibility()
    tasks = list(
        Task.objects.filter(appeal=appeal)
        .select_related("department", "signed_by", "contacted_by", "replied_by", "dispatched_by")
        .order_by("dispatched_at", "id")
    )
    history = list(
        Task.history.model.objects.filter(appeal_id=appeal.pk)
        .select_related("history_user")
        .order_by("history_date", "history_id")
    )
    requests = list(
        ApprovalRequest.objects.filter(appeal=appeal, kind="extension", status="approved")
        .select_related("requested_by", "decided_by")
        .order_by("decided_at")
    )
    visits = list(
        Visit.objects.filter(appeal=appeal).select_related("completed_by", "assigned_to").order_by("round", "id")
    )
    centre = _("service centre")
    first = min(tasks, key=lambda t: (t.dispatched_at, t.pk), default=None)
    # Intake ends when a dispatcher dispatches (named: they ended it) or the appeal is
    # concluded at intake (answered, not accepted, merged) by whoever concluded it.
    intake_end = first.dispatched_at if first else appeal.concluded_at
    ended_by = first.dispatched_by if first else appeal.concluded_by
    result.stages.append(Stage(
        key="intake", label=str(STAGE_LABELS["intake"]), holder=str(centre), holder_kind="centre", task_id=None,
        person=_name(ended_by) or _name(appeal.received_by), start=appeal.received_at, end=intake_end,
    ))
    by_task: dict[int, list] = {}
    for row in history:
        by_task.setdefault(row.id, []).append(row)
    task_by_id = {t.pk: t for t in tasks}
    for task in tasks:
        rows = by_task.get(task.pk, [])
        current = None
        for row in rows:
            if current is not None and row.status == current.key:
                continue
            if current is not None:
                current.end = row.history_date
                current.person = current.person or _name(row.history_user)
            if row.status in TERMINAL:
                current = None
                continue
            department_holds = row.status in DEPARTMENT_HOLDS
            current = Stage(
                key=row.status, label=str(STAGE_LABELS.get(row.status, row.status)),
                holder=str(task.department) if department_holds else str(centre),
                holder_kind="department" if department_holds else "centre",
                task_id=task.pk, person="", start=row.history_date, end=None,
            )
            result.stages.append(current)
        # Limits missed, and by whom: the due time against the moment the action happened.
        holder = _name(task.signed_by)
        checks = [
            ("sign", _("sign-for limit"), task.sign_due_at, task.signed_at, task.sign_overdue_at, ""),
            ("contact", _("contact limit"), task.contact_due_at, task.contacted_at, task.contact_overdue_at, holder),
            ("resolve", _("resolve limit"), task.resolve_due_at, task.replied_at, task.resolve_overdue_at, holder),
        ]
        for key, label, due, done, marked, person in checks:
            if task.status == "returned" and done is None:
                continue  # handed on: the next department's order carries the limits
            if marked is not None or (done is not None and done > due) or (done is None and due < timezone.now()
                                                                           and task.is_open):
                responsible = f"{task.department} · {person}" if person else str(task.department)
                result.misses.append(Miss(task.pk, str(task.department), key, str(label), marked or due, done,
                                          responsible))
    # The centre's return visits: from scheduling to the recorded outcome.
    for visit in visits:
        result.stages.append(Stage(
            key="visit", label=str(STAGE_LABELS["visit"]), holder=str(centre), holder_kind="centre",
            task_id=visit.task_id, person=_name(visit.completed_by or visit.assigned_to), start=visit.scheduled_at,
            end=visit.completed_at,
        ))
    result.stages.sort(key=lambda s: (s.start, s.key != "intake"))
    # Every change of a resolve due time in the history: an approved extension (with who
    # asked and who approved), new limits after reopening, the 24-hour escalation limit.
    for task_id, rows in by_task.items():
        for before, after in zip(rows, rows[1:], strict=False):
            if after.resolve_due_at == before.resolve_due_at:
                continue
            task = task_by_id.get(task_id)
            change = Extension(
                task_id=task_id, department=str(task.department) if task else "", old_due=before.resolve_due_at,
                new_due=after.resolve_due_at, changed_by=_name(after.history_user),
                changed_by_role=after.history_user.get_role_display() if after.history_user else "",
                at=after.history_date, reason=after.history_change_reason or "",
            )
            if (after.reopen_count or 0) > (before.reopen_count or 0):
                change.kind = "reopen"  # new limits of a reopening (even minutes after an extension)
                result.limit_changes.append(change)
                continue
            approval = next((r for r in requests if r.task_id == task_id and r.decided_at
                             and abs((r.decided_at - after.history_date).total_seconds()) < 60), None)
            if approval is not None and after.resolve_due_at > before.resolve_due_at:
                change.requested_by, change.approved_by = _name(approval.requested_by), _name(approval.decided_by)
                change.days = approval.extension_days
                result.extensions.append(change)
                continue
            if appeal.is_escalated and after.resolve_due_at <= after.history_date + dt.timedelta(hours=24, minutes=1):
                change.kind = "escalation"
            else:
                change.kind = "other"
            result.limit_changes.append(change)
    result.extensions.sort(key=lambda e: e.at)
    result.limit_changes.sort(key=lambda e: e.at)
    return result
