"""Who may see and record return visits.

Return-visit agents work the queue; inspectors (and the centre's dispatchers) read; nobody
in a department sees or touches visits, least of all on their own work orders (404). An
agent who belongs to the handling department may not record that visit (403).
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from apps.core.exceptions import NotFoundForActor, NotPermitted
from apps.followups.models import Visit
from apps.organization.models import User

R = User.Role
READERS = {R.VISIT_AGENT, R.INSPECTOR, R.DISPATCHER}


def visible_visits(user, qs: QuerySet[Visit] | None = None) -> QuerySet[Visit]:
    qs = Visit.objects.all() if qs is None else qs
    if not user.is_authenticated or not user.is_active or user.role not in READERS:
        return qs.none()
    return qs


def ensure_can_record(user, visit: Visit) -> None:
    """Only an active agent, never one of the handling department, and for a re-visit
    never the agent who recorded the original."""
    if not visible_visits(user, Visit.objects.filter(pk=visit.pk)).exists():
        raise NotFoundForActor(_("No such return visit."))
    if user.role != R.VISIT_AGENT:
        raise NotPermitted(_("Only return-visit agents record visits."))
    if user.department_id and user.department_id == visit.department_id:
        raise NotPermitted(_("You belong to the department that handled this appeal; another agent must call."))
    if visit.kind == Visit.Kind.RECHECK and visit.recheck_of and visit.recheck_of.completed_by_id == user.pk:
        raise NotPermitted(_("A re-visit is made by a different agent than the first visit."))


def may_record(user, visit: Visit) -> bool:
    try:
        ensure_can_record(user, visit)
    except (NotFoundForActor, NotPermitted):
        return False
    return True
