"""Reads for leaders: their queue of requests, their own figures, and the appeals they may
pick for an instruction or a consultation."""

from __future__ import annotations

import datetime as dt
import statistics

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from apps.appeals.models import Appeal
from apps.appeals.selectors import appeal_search
from apps.authorization.models import ApprovalRequest, ApprovalRequestUserObjectPermission, Delegation
from apps.organization.models import User
from apps.tasks import permissions as task_permissions


def routed_to(user: User) -> Exists:
    return Exists(
        ApprovalRequestUserObjectPermission.objects.filter(
            content_object=OuterRef("pk"), user=user, permission__codename="decide_approvalrequest"
        )
    )


def approval_list_for(user: User, qs: QuerySet[ApprovalRequest] | None = None) -> QuerySet[ApprovalRequest]:
    """What a user may see: inspectors and city leaders everything; leaders what is routed to
    them; department staff their department's requests; the centre what it raised."""
    qs = ApprovalRequest.objects.all() if qs is None else qs
    if user.role in {User.Role.INSPECTOR, User.Role.CITY_LEADER}:
        return qs
    if user.role == User.Role.DEPT_LEADER:
        return qs.filter(Q(department_id=user.department_id) | Q(requested_by=user) | routed_to(user))
    if user.role in task_permissions.DEPARTMENT_ROLES:
        return qs.filter(department_id=user.department_id)
    if user.role in {User.Role.DISPATCHER, User.Role.OPERATOR}:
        return qs.filter(requested_by=user)
    return qs.none()


def appeal_list_to_pick(user: User, *, term: str = "") -> QuerySet[Appeal]:
    """The appeals `user` may pick when issuing an instruction (批示) or opening a
    consultation (会商), newest first, matching `term`: the appeals they may see.

    City leaders: escalated and P0 appeals (as on the appeal pages). Department leaders:
    appeals with a work order of their department or shared with it (one EXISTS over
    tasks.permissions.visible_tasks), found by tracking number or words, never by a
    citizen's phone. Anyone else: none (the services check the rest).
    """
    qs = Appeal.objects.select_related("category", "area").order_by("-received_at", "-id")
    if not user.is_authenticated or not user.is_active:
        return qs.none()
    if user.role == User.Role.CITY_LEADER:
        return appeal_search(qs.filter(Q(is_escalated=True) | Q(priority=Appeal.Priority.P0)), term)
    if user.role == User.Role.DEPT_LEADER and user.department_id:
        handled = task_permissions.visible_tasks(user).filter(appeal=OuterRef("pk"))
        return appeal_search(qs.filter(Exists(handled)), term, by_phone=False)
    return qs.none()


def approval_queue(user: User, qs: QuerySet[ApprovalRequest] | None = None) -> QuerySet[ApprovalRequest]:
    """Pending requests routed to `user`, most urgent first: the work order's resolve limit,
    then how long it has waited."""
    qs = ApprovalRequest.objects.all() if qs is None else qs
    return (
        qs.filter(status=ApprovalRequest.Status.PENDING)
        .filter(routed_to(user))
        .order_by(F("task__resolve_due_at").asc(nulls_last=True), "requested_at", "id")
    )


def leader_figures(user: User, *, days: int = 90) -> dict:
    """Pending count, median hours to decide and share approved over the last `days`
    (three queries whatever the number of requests)."""
    since = timezone.now() - dt.timedelta(days=days)
    pending = approval_queue(user).count()
    decided = ApprovalRequest.objects.filter(decided_by=user, decided_at__gte=since)
    counts = decided.aggregate(total=Count("id"), approved=Count("id", filter=Q(status="approved")))
    durations = [(d - r).total_seconds() / 3600 for r, d in decided.values_list("requested_at", "decided_at")[:5000]]
    return {
        "pending": pending,
        "decided": counts["total"],
        "median_hours": round(statistics.median(durations), 1) if durations else None,
        "share_approved": round(100 * counts["approved"] / counts["total"]) if counts["total"] else None,
        "days": days,
    }


def delegation_list_for(user: User, qs: QuerySet[Delegation] | None = None) -> QuerySet[Delegation]:
    qs = Delegation.objects.all() if qs is None else qs
    if user.role in {User.Role.INSPECTOR, User.Role.CITY_LEADER}:
        return qs
    return qs.filter(Q(grantee=user) | Q(grantor=user))


def approval_holders(request_ids) -> dict[int, list[User]]:
    """Who holds each pending request now: the leaders it is routed to (one query). City
    leaders may decide any request besides; the pages say so."""
    holders: dict[int, list[User]] = {}
    grants = (
        ApprovalRequestUserObjectPermission.objects.filter(
            content_object_id__in=list(request_ids), permission__codename="decide_approvalrequest"
        )
        .select_related("user__department")
        .order_by("content_object_id", "user__name", "user_id")
    )
    for grant in grants:
        holders.setdefault(grant.content_object_id, []).append(grant.user)
    return holders
