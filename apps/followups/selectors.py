"""Reads over return visits: the agents' queue, lists, the inspectors' flags, and the
citizen's progress timeline."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, QuerySet
from django.utils.translation import gettext as _

from apps.appeals.models import Appeal
from apps.followups import permissions
from apps.followups.models import Visit, VisitFlag
from apps.tasks.models import Task


def visit_list_for(user, qs: QuerySet[Visit] | None = None) -> QuerySet[Visit]:
    return permissions.visible_visits(user, qs)


def visit_queue(user, qs: QuerySet[Visit] | None = None) -> QuerySet[Visit]:
    """Scheduled visits, due first (the partial index visit_queue_due_idx)."""
    return (
        visit_list_for(user, qs)
        .filter(status=Visit.Status.SCHEDULED)
        .select_related("appeal", "department", "assigned_to")
        .order_by("due_at", "id")
    )


def with_flag_marker(qs: QuerySet[Visit]) -> QuerySet[Visit]:
    return qs.annotate(is_flagged=Exists(VisitFlag.objects.filter(visit=OuterRef("pk"))))


def flags_for(user, qs: QuerySet[VisitFlag] | None = None) -> QuerySet[VisitFlag]:
    qs = VisitFlag.objects.all() if qs is None else qs
    if not user.is_active or user.role not in {"inspector"}:
        return qs.none()
    return qs.select_related("visit__appeal", "visit__department", "agent")


# --- The citizen's progress page -----------------------------------------------------------


@dataclass(frozen=True)
class Step:
    key: str
    label: str
    when: object  # datetime or None
    done: bool
    note: str = ""


_NO_PHONE = "no-phone"


def progress_timeline(tracking_number: str, phone_last4: str) -> list[Step] | None:
    """The plain-language timeline of one appeal, or None. An unknown number and a wrong
    phone give the same None after the same queries (nothing to tell them apart by)."""
    number = (tracking_number or "").strip()[:20]
    row = (
        Appeal.objects.filter(tracking_number=number)
        .values("id", "citizen_phone", "status", "received_at", "closed_at", "concluded_at")
        .first()
    )
    phone = (row or {}).get("citizen_phone") or ""
    expected = phone[-4:] if len(phone) >= 4 else _NO_PHONE  # anonymous appeals never match
    given = (phone_last4 or "").strip()
    match = hmac.compare_digest(expected.encode(), given.encode()) and expected != _NO_PHONE
    appeal_id = row["id"] if row else -1
    # Always run the same reads, found or not.
    tasks = list(
        Task.objects.filter(appeal_id=appeal_id, role=Task.Role.LEAD)
        .order_by("dispatched_at", "id")
        .values("status", "dispatched_at", "signed_at", "replied_at", "reviewed_at", "reopen_count")
    )
    visits = list(
        Visit.objects.filter(appeal_id=appeal_id)
        .exclude(kind=Visit.Kind.RECHECK)
        .order_by("round")
        .values("status", "completed_at", "due_at", "reopened", "round")
    )
    if row is None or not match:
        return None
    return _steps(row, tasks, visits)


def _steps(row, tasks, visits) -> list[Step]:
    live = [t for t in tasks if t["status"] != "returned"]
    first = tasks[0] if tasks else None
    current = live[-1] if live else None
    status = row["status"]
    steps = [Step("received", _("Received"), row["received_at"], True, _("Your appeal was registered."))]
    if status == Appeal.Status.ANSWERED or (status == Appeal.Status.CLOSED and not tasks and row["concluded_at"]):
        steps.append(Step("replied", _("Answered"), row["concluded_at"], True, _("The centre answered you directly.")))
    elif status == Appeal.Status.REJECTED:
        steps.append(
            Step("replied", _("Not accepted"), row["concluded_at"], True, _("You were told where to take the matter."))
        )
        return steps
    elif status == Appeal.Status.MERGED:
        steps.append(
            Step("replied", _("Merged"), row["concluded_at"], True, _("Handled together with an earlier appeal."))
        )
        return steps
    else:
        steps.append(
            Step(
                "dispatched",
                _("Dispatched"),
                first["dispatched_at"] if first else None,
                first is not None,
                _("Sent to the responsible department."),
            )
        )
        handling = current is not None and (current["signed_at"] is not None)
        reopened = sum(1 for v in visits if v["reopened"])
        steps.append(
            Step(
                "handling",
                _("Being handled"),
                current["signed_at"] if current else None,
                handling,
                _("Handled again after your feedback (%(n)d time(s)).") % {"n": reopened}
                if reopened
                else _("The department is working on it."),
            )
        )
        replied = status in {Appeal.Status.REVIEWED, Appeal.Status.CLOSED}
        steps.append(
            Step(
                "replied",
                _("Replied"),
                current["reviewed_at"] if current and replied else None,
                replied,
                _("The reply was checked by the centre.") if replied else "",
            )
        )
    last_visit = visits[-1] if visits else None
    visited = last_visit is not None and last_visit["status"] != Visit.Status.SCHEDULED
    visit_note = ""
    if last_visit is not None and last_visit["status"] == Visit.Status.SCHEDULED:
        visit_note = _("We will call you back soon.")
    elif last_visit is not None and last_visit["status"] == Visit.Status.UNREACHABLE:
        visit_note = _("We could not reach you by phone.")
    elif visited:
        visit_note = _("Thank you for your feedback.")
    steps.append(
        Step("visited", _("Return visit"), last_visit["completed_at"] if visited else None, visited, visit_note)
    )
    closed = status == Appeal.Status.CLOSED
    steps.append(
        Step("closed", _("Closed"), row["closed_at"] if closed else None, closed, _("Filed.") if closed else "")
    )
    return steps
