"""Read queries over the organisation."""

from __future__ import annotations

from django.db.models import QuerySet

from apps.organization.models import Department, User


def department_get_by_code(code: str) -> Department | None:
    return Department.objects.filter(code=code).first()


def department_list_active() -> QuerySet[Department]:
    return Department.objects.filter(is_active=True).select_related("parent", "area")


def department_subtree(department: Department) -> QuerySet[Department]:
    return Department.objects.subtree_of(department)


def staff_list(*, department: Department | None = None, role: str | None = None) -> QuerySet[User]:
    qs = User.objects.filter(is_service_account=False).select_related("department")
    if department is not None:
        qs = qs.filter(department=department)
    if role is not None:
        qs = qs.filter(role=role)
    return qs

