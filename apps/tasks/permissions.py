"""Who may see and work on which work orders (DESIGN §7).

Department scope is the task's department FK: one indexed join. guardian rows on
TaskGroupObjectPermission carry the exceptions (a co-handling department sees the lead
task). Missing and forbidden look the same: NotFoundForActor (404).
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext as _

from apps.core.exceptions import NotFoundForActor, NotPermitted
from apps.organization.models import User
from apps.tasks.models import Task, TaskGroupObjectPermission

R = User.Role
CENTRE_READERS = {R.OPERATOR, R.DISPATCHER, R.VISIT_AGENT, R.INSPECTOR}
DEPARTMENT_ROLES = {R.DEPT_STAFF, R.DEPT_LEADER}


def _shared_with(user) -> Exists:
    """guardian grant of view_task on the task to one of the user's groups."""
    return Exists(
        TaskGroupObjectPermission.objects.filter(
            content_object=OuterRef("pk"), group__user=user, permission__codename="view_task"
        )
    )


def visible_tasks(user, qs: QuerySet[Task] | None = None, *, include_shared: bool = True) -> QuerySet[Task]:
    """The tasks `user` may see. Department roles: their department's tasks (FK), plus
    tasks shared with their department when include_shared (an EXISTS on the direct-FK
    grant table, never guardian's get_objects_for_user)."""
    qs = Task.objects.all() if qs is None else qs
    if not user.is_authenticated or not user.is_active:
        return qs.none()
    if user.role in CENTRE_READERS:
        return qs
    if user.role in DEPARTMENT_ROLES and user.department_id:
        own = Q(department_id=user.department_id)
        return qs.filter(own | _shared_with(user)) if include_shared else qs.filter(own)
    if user.role == R.CITY_LEADER:
        # Escalated appeals (P0 ones are escalated at intake) and nothing else.
        return qs.filter(Q(appeal__is_escalated=True) | Q(appeal__priority="P0"))
    return qs.none()


def can_view(user, task: Task) -> bool:
    return visible_tasks(user, Task.objects.filter(pk=task.pk)).exists()


def ensure_can_view(user, task: Task) -> None:
    if not can_view(user, task):
        raise NotFoundForActor(_("No such work order."))


def ensure_can_work_on(user, task: Task) -> None:
    """Department staff and leaders act on their own department's tasks only."""
    if user.role in DEPARTMENT_ROLES and user.department_id == task.department_id and user.is_active:
        return
    ensure_can_view(user, task)  # 404 if they may not even see it
    raise NotPermitted(_("Only staff of %(dept)s can act on this work order.") % {"dept": task.department})


def ensure_dispatcher(user) -> None:
    if user.role != R.DISPATCHER or not user.is_active:
        raise NotPermitted(_("Only the centre's dispatchers can do this."))


def contact_reveal_refusal(user, appeal) -> str | None:
    """Why `user` may not see the citizen's full name and phone of `appeal`, or None if they
    may (DESIGN §7). The centre's roles holding the permission may; a department may for an
    appeal it handles (a work order not returned), never for a confidential one; nobody for
    an anonymous appeal (there is nothing to show). The button and the service both ask here."""
    if appeal.is_anonymous:
        return _("This appeal is anonymous: there are no contact details to show.")
    if user.has_perm("appeals.view_citizen_contact"):
        return None
    if user.role in DEPARTMENT_ROLES and user.is_active:
        if appeal.is_confidential:
            return _("This appeal is confidential: the centre contacts the citizen for you.")
        if department_handles_appeal(user, appeal):
            return None
    return _("You may not see this citizen's contact details.")


def can_reveal_contact(user, appeal) -> bool:
    return contact_reveal_refusal(user, appeal) is None


def department_handles_appeal(user, appeal) -> bool:
    return (
        user.role in DEPARTMENT_ROLES
        and Task.objects.filter(appeal=appeal, department_id=user.department_id).exclude(status="returned").exists()
    )
