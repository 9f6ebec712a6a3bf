"""Who may see and do what in supervision.

- Inspectors (and city leaders, read-only) see every supervision case and accountability
  record; inspectors record findings. Nobody else writes a finding.
- Department staff and leaders see and answer the supervision cases of their own
  department only (exact department, not the subtree: each office answers for itself).
- Department leaders see accountability records about their department subtree.
- The history browser, responsibility timelines and conduct flags need
  `supervision.trace_history` (inspectors).
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from apps.core.exceptions import NotFoundForActor, NotPermitted
from apps.organization.models import User
from apps.supervision.models import AccountabilityRecord, SupervisionCase

R = User.Role
CITYWIDE_READERS = {R.INSPECTOR, R.CITY_LEADER}
DEPARTMENT_ROLES = {R.DEPT_STAFF, R.DEPT_LEADER}


def can_trace(user) -> bool:
    return bool(user.is_active and user.has_perm("supervision.trace_history"))


def ensure_can_trace(user) -> None:
    if not can_trace(user):
        raise NotPermitted(_("Only inspectors trace history and responsibility."))


def is_inspector(user) -> bool:
    return user.is_active and user.role == R.INSPECTOR


def ensure_inspector(user) -> None:
    if not is_inspector(user):
        raise NotPermitted(_("Only inspectors record accountability."))


def visible_cases(user, qs: QuerySet[SupervisionCase] | None = None) -> QuerySet[SupervisionCase]:
    qs = SupervisionCase.objects.all() if qs is None else qs
    if user.is_superuser or user.role in CITYWIDE_READERS:
        return qs
    if user.role in DEPARTMENT_ROLES and user.department_id:
        return qs.filter(department_id=user.department_id)
    return qs.none()


def can_answer(user, case: SupervisionCase) -> bool:
    return bool(
        user.is_active
        and user.role in DEPARTMENT_ROLES
        and user.department_id == case.department_id
        and user.has_perm("supervision.change_supervisioncase")
    )


def ensure_can_answer(user, case: SupervisionCase) -> None:
    if not visible_cases(user).filter(pk=case.pk).exists():
        raise NotFoundForActor(_("No such supervision case."))
    if not can_answer(user, case):
        raise NotPermitted(_("Only the department concerned answers a supervision case."))


def visible_records(user, qs: QuerySet[AccountabilityRecord] | None = None) -> QuerySet[AccountabilityRecord]:
    qs = AccountabilityRecord.objects.all() if qs is None else qs
    if user.is_superuser or user.role in CITYWIDE_READERS:
        return qs
    if user.role == R.DEPT_LEADER and user.department_id:
        return qs.filter(subject_department__path__startswith=user.department.path)
    return qs.none()
