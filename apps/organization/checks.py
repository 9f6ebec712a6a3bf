"""System checks for the separation of duties (MLPS 2.0 8.1.4.2 d: no super administrator,
three administrators with disjoint rights). They run on every `manage.py check`, the
deployment check (`check --deploy`) and before `migrate`.

The checks that read staff accounts skip silently when the tables do not exist yet (a
fresh database before its first migrate): there is nobody to warn about.
"""

from __future__ import annotations

from django.core.checks import Error, Warning, register
from django.db import DatabaseError


@register("security")
def administrators_are_separate(app_configs=None, **kwargs):
    """The role table itself: the three administrators share nothing but their own inbox."""
    from apps.organization import roles

    return [
        Error(
            f"Roles {first} and {second} share permissions: {', '.join(sorted(common))}.",
            hint="The system, security and audit administrators' duties must be disjoint (roles.ROLE_PERMISSIONS).",
            obj="apps.organization.roles",
            id="xlx.E001",
        )
        for first, second, common in roles.administrator_overlaps()
    ]


@register("security")
def no_active_superuser(app_configs=None, **kwargs):
    """A superuser holds every right at once, the three administrators' together: use one
    only to install the first administrators, then deactivate it."""
    from apps.organization.models import User

    try:
        names = list(User.objects.filter(is_active=True, is_superuser=True).values_list("username", flat=True)[:20])
    except DatabaseError:
        return []
    if not names:
        return []
    return [
        Warning(
            f"Active superuser account(s): {', '.join(names)}.",
            hint=(
                "A superuser bypasses the separation of duties. Give the person a role (system, security or "
                "audit administrator) and deactivate the superuser, or clear is_superuser."
            ),
            obj="organization.User",
            id="xlx.W001",
        )
    ]


@register("security")
def nobody_holds_two_roles(app_configs=None, **kwargs):
    """Roles are granted only through organization.services (one role group per person, no
    permission of one's own); a group or permission added by hand in the shell shows here."""
    from django.db.models import Count, Q

    from apps.organization.models import User
    from apps.organization.roles import ROLE_GROUP_PREFIX

    try:
        names = list(
            User.objects.filter(is_active=True)
            .annotate(role_groups=Count("groups", filter=Q(groups__name__startswith=ROLE_GROUP_PREFIX)))
            .filter(Q(role_groups__gt=1) | Q(user_permissions__isnull=False))
            .values_list("username", flat=True)
            .distinct()[:20]
        )
    except DatabaseError:
        return []
    if not names:
        return []
    return [
        Warning(
            f"Account(s) holding more than their one role: {', '.join(names)}.",
            hint="Remove the extra role groups and personal permissions; grant roles in the staff admin.",
            obj="organization.User",
            id="xlx.W002",
        )
    ]
