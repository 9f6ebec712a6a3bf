"""The approval request's page as a case desk (apps.core.admin_desk): what a leader needs
to decide — what is asked and why, the work order's state and limits, who holds the
request, and the running record of the case."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _

from apps.authorization.display import holders_text
from apps.authorization.models import ApprovalRequest
from apps.authorization.selectors import approval_holders
from apps.casefile.timeline import case_timeline
from apps.core.admin_desk import Badge, Desk, Panel
from apps.core.timefmt import local_minute
from apps.tasks import permissions as task_permissions
from apps.tasks.admin_desk import appeal_panel, handling_panel, limits_panel

P = ApprovalRequest.Status
STATUS_TONES = {P.PENDING: "warn", P.APPROVED: "ok", P.REJECTED: "bad", P.WITHDRAWN: ""}


def waiting_hours(request: ApprovalRequest) -> float:
    end = request.decided_at or timezone.now()
    return round((end - request.requested_at).total_seconds() / 3600, 1)


def request_panel(request: ApprovalRequest, holders) -> Panel:
    """What is asked, by whom and why; who holds it now, or who decided and how."""
    pending = request.status == P.PENDING
    return Panel("request", _("The request"), [
        (_("kind"), request.get_kind_display()),
        (_("extension (working days)"), str(request.extension_days) if request.extension_days else ""),
        (_("reassign to"), request.target_department.name if request.target_department_id else ""),
        (_("department concerned"), request.department.name),
        (_("requested by"), f"{request.requested_by.described()} · {local_minute(request.requested_at)}"),
        (_("reason"), request.reason),
        (_("decision held by"), (holders_text(holders) or _("the city leaders")) if pending else ""),
        (_("decided by"), f"{request.decided_by.described()} · {local_minute(request.decided_at)}"
         if request.decided_by_id else ""),
        (_("decision comment"), request.comment),
        (_("times handed up"), str(request.route_level) if request.route_level else ""),
    ])


def approval_desk(request: ApprovalRequest, viewer) -> Desk:
    request = ApprovalRequest.objects.select_related(
        "appeal__category", "appeal__area", "department", "target_department", "requested_by__department",
        "decided_by__department", "task__department", "task__signed_by__department",
        "task__contacted_by__department", "task__replied_by__department",
    ).get(pk=request.pk)
    holders = approval_holders([request.pk]).get(request.pk, []) if request.status == P.PENDING else []
    badges = [
        Badge(request.get_status_display(), STATUS_TONES.get(request.status, "")),
        Badge(_("waited %(hours)s h") % {"hours": waiting_hours(request)},
              "bad" if request.status == P.PENDING and waiting_hours(request) > 8 else ""),
    ]
    main = [request_panel(request, holders), appeal_panel(request.appeal, viewer=viewer)]
    side = []
    if request.task_id:
        task = request.task
        main.append(handling_panel(task))
        side.append(limits_panel(task))
        side.append(Panel("task", _("Work order"), [
            (_("department"), task.department.name),
            (_("status"), task.get_status_display()),
            (_("times reopened"), str(task.reopen_count) if task.reopen_count else ""),
        ]))
    department_ids = [viewer.department_id] if viewer.role in task_permissions.DEPARTMENT_ROLES else None
    return Desk(
        title=_("%(kind)s request · %(number)s") % {"kind": request.get_kind_display(),
                                                     "number": request.appeal.tracking_number},
        subtitle=request.department.name,
        badges=badges,
        main=main,
        side=side,
        timeline=case_timeline(request.appeal_id, department_ids=department_ids),
        timeline_title=_("What happened on this case"),
    )
