"""Who holds which authority (DESIGN §3): city leaders by role, everyone else by delegation.

An authority is a kind of request, a scope (a department subtree, as a path prefix), an
extension limit and a validity. A leader can decide a request, or delegate, only within
an authority they hold at that moment.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext as _

from apps.authorization.models import Delegation, Kind
from apps.core.timefmt import local_day, local_minute
from apps.organization.models import Department, User

# DESIGN §5: extensions are at most 10 working days.
MAX_EXTENSION_DAYS = 10


@dataclass(frozen=True)
class Authority:
    kind: str
    scope_path: str
    max_extension_days: int | None
    valid_until: dt.datetime | None
    delegation: Delegation | None = None  # None: held by role (city leader)

    def covers(self, department: Department, extension_days: int | None) -> bool:
        if not department.path.startswith(self.scope_path):
            return False
        if self.kind == Kind.EXTENSION and extension_days is not None:
            return extension_days <= (self.max_extension_days or 0)
        return True


def holdings(user: User, kind: str, at: dt.datetime | None = None) -> list[Authority]:
    at = at or timezone.now()
    if not user.is_active:
        return []
    held = []
    if user.role == User.Role.CITY_LEADER:
        held.append(Authority(kind, "/", MAX_EXTENSION_DAYS, None))
    for d in Delegation.objects.filter(
        grantee=user, kind=kind, revoked_at__isnull=True, valid_from__lte=at, valid_until__gt=at
    ).select_related("scope"):
        held.append(Authority(kind, d.scope.path, d.max_extension_days, d.valid_until, d))
    return held


def covering(
    user: User, *, kind: str, department: Department, extension_days: int | None = None, at: dt.datetime | None = None
) -> Authority | None:
    for authority in holdings(user, kind, at):
        if authority.covers(department, extension_days):
            return authority
    return None


def refusal(
    user: User, *, kind: str, department: Department, extension_days: int | None = None, at: dt.datetime | None = None
) -> str:
    """Why `user` may not decide: the clearest of out-of-scope, expired, above the limit."""
    at = at or timezone.now()
    label = Kind(kind).label
    all_delegations = list(Delegation.objects.filter(grantee=user, kind=kind).select_related("scope"))
    in_scope = [d for d in all_delegations if department.path.startswith(d.scope.path)]
    if not all_delegations and user.role != User.Role.CITY_LEADER:
        return _("You hold no authority to decide %(kind)s requests.") % {"kind": label}
    if not in_scope:
        return _("%(dept)s is outside the scope of your authority for %(kind)s requests.") % {
            "dept": department,
            "kind": label,
        }
    live = [d for d in in_scope if d.revoked_at is None and d.valid_from <= at < d.valid_until]
    if not live:
        latest = max(in_scope, key=lambda d: d.valid_until)
        if latest.revoked_at is not None:
            return _("Your authority for %(kind)s requests was revoked on %(date)s.") % {
                "kind": label,
                "date": local_day(latest.revoked_at),
            }
        return _("Your authority for %(kind)s requests is valid from %(start)s until %(end)s, not now.") % {
            "kind": label,
            "start": local_minute(latest.valid_from),
            "end": local_minute(latest.valid_until),
        }
    limit = max((d.max_extension_days or 0) for d in live)
    return _("You may approve extensions of at most %(limit)d working days; this request asks for %(days)d.") % {
        "limit": limit,
        "days": extension_days or 0,
    }


def leaders_covering(
    *,
    kind: str,
    department: Department,
    extension_days: int | None = None,
    at: dt.datetime | None = None,
    exclude: User | None = None,
) -> list[User]:
    """Leaders whose delegation covers the request; the city leaders when nobody's does.
    `exclude` (the requester) never decides their own request."""
    at = at or timezone.now()
    delegations = Delegation.objects.filter(
        kind=kind,
        revoked_at__isnull=True,
        valid_from__lte=at,
        valid_until__gt=at,
        grantee__is_active=True,
    ).select_related("scope", "grantee")
    leaders = {}
    for d in delegations:
        authority = Authority(kind, d.scope.path, d.max_extension_days, d.valid_until, d)
        if authority.covers(department, extension_days) and (exclude is None or d.grantee_id != exclude.pk):
            leaders[d.grantee_id] = d.grantee
    if not leaders:
        for leader in User.objects.filter(role=User.Role.CITY_LEADER, is_active=True):
            if exclude is None or leader.pk != exclude.pk:
                leaders[leader.pk] = leader
    return list(leaders.values())


def superiors_of(user: User, kind: str) -> list[User]:
    """Who a stale request goes up to: the grantors of the user's delegations for the kind,
    or the city leaders when the user holds none (or is a city leader's delegate already)."""
    grantors = {
        d.grantor_id: d.grantor
        for d in Delegation.objects.filter(grantee=user, kind=kind).select_related("grantor")
        if d.grantor.is_active
    }
    if user.role == User.Role.CITY_LEADER:
        return []
    if grantors:
        return list(grantors.values())
    return list(User.objects.filter(role=User.Role.CITY_LEADER, is_active=True))
