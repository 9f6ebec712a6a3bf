"""Rule adaptations (变通): a city leader raises the priority, or shortens the resolve limit,
of new appeals of a category (and its subcategories) in an area (and its sub-areas) for a
limited time. They take effect for appeals registered or dispatched while they are live
and expire by themselves; nothing running is changed. DESIGN §1, issue 5.

Intake calls `adapted_priority`, dispatch calls `adapted_resolve_limit`: one indexed query
each (adaptation_live_idx).
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.appeals.models import Appeal, Category
from apps.audit.services import record
from apps.authorization.models import RuleAdaptation
from apps.core.admin_links import admin_change_url
from apps.core.exceptions import DomainError, InvalidTransition, NotPermitted
from apps.core.history import set_history_context
from apps.core.process_cache import short_lived
from apps.core.timefmt import local_minute
from apps.core.validation import require_text
from apps.notifications import services as notifications
from apps.organization.models import Area, User
from apps.tasks import sla
from apps.tasks.models import LimitUnit

R = User.Role
DEFAULT_PERIOD = dt.timedelta(days=30)
MAX_PERIOD = dt.timedelta(days=90)
Kind = RuleAdaptation.Kind


def _reference_instant() -> dt.datetime:
    """Limits in different units are compared by adding them to one fixed instant (a
    Monday morning of an ordinary week), so the comparison does not depend on today."""
    return timezone.make_aware(dt.datetime(2024, 6, 3, 9, 0), timezone.get_current_timezone())


def limit_length(amount: int, unit: str) -> dt.timedelta:
    """How long a limit lasts, measured from the reference instant."""
    start = _reference_instant()
    return sla.add_limit(start, amount, unit) - start


def _ancestor_codes(node) -> list[str]:
    """Codes of the node and its ancestors, from the materialised path ("/01/0101/010101/")."""
    return [c for c in (node.path if node is not None else "").strip("/").split("/") if c]


def _local(instant) -> str:
    return local_minute(instant)


def _ensure_city_leader(actor: User) -> None:
    if actor.role != R.CITY_LEADER or not actor.is_active:
        raise NotPermitted(_("Only city leaders adapt the rules."))


# --- Services ------------------------------------------------------------------------------


@transaction.atomic
def rule_adaptation_issue(
    *,
    actor: User,
    kind: str,
    category: Category,
    area: Area | None = None,
    priority: str = "",
    resolve_amount: int | None = None,
    resolve_unit: str = "",
    valid_from: dt.datetime | None = None,
    valid_until: dt.datetime | None = None,
    reason: str,
) -> RuleAdaptation:
    """变通: a city leader adapts the rules for new appeals, for at most 90 days (default 30).
    A start in the past means now (no retroactive rules). Dispatchers and operators are told."""
    _ensure_city_leader(actor)
    reason = require_text(reason, _("Say why the rules are adapted (the live data that calls for it)."))
    if kind not in Kind.values:
        raise DomainError(_("Choose what to adapt."))
    if category is None:
        raise DomainError(_("Choose the category the adaptation applies to."))
    now = timezone.now()
    valid_from = max(valid_from or now, now)
    valid_until = valid_until or valid_from + DEFAULT_PERIOD
    if valid_until <= valid_from:
        raise DomainError(_("The adaptation must end after it starts."))
    if valid_until - valid_from > MAX_PERIOD:
        raise DomainError(_("An adaptation lasts at most 90 days; issue a new one if it is still needed."))

    if kind == Kind.RAISE_PRIORITY:
        if priority not in Appeal.Priority.values:
            raise DomainError(_("Choose the priority new appeals get at least."))
        if priority == max(Appeal.Priority.values):
            raise DomainError(
                _("%(priority)s is the lowest priority: raising to it changes nothing.") % {"priority": priority}
            )
        resolve_amount, resolve_unit = None, ""
    else:
        if not resolve_amount or resolve_amount <= 0 or resolve_unit not in LimitUnit.values:
            raise DomainError(_("Give the shorter resolve limit: an amount and a unit."))
        current = _longest_resolve_limit(category)
        if limit_length(resolve_amount, resolve_unit) >= limit_length(*current):
            raise DomainError(
                _(
                    "The adapted limit must be shorter than the resolve limit now in force for this "
                    "category (at most %(amount)s %(unit)s)."
                )
                % {"amount": current[0], "unit": LimitUnit(current[1]).label}
            )
        priority = ""

    adaptation = RuleAdaptation(
        kind=kind,
        category=category,
        area=area,
        priority=priority,
        resolve_amount=resolve_amount,
        resolve_unit=resolve_unit,
        valid_from=valid_from,
        valid_until=valid_until,
        issued_by=actor,
        reason=reason,
    )
    adaptation.full_clean(exclude=["category", "area", "issued_by"], validate_constraints=False)
    set_history_context(adaptation, actor=actor, reason=reason)
    adaptation.save()
    transaction.on_commit(_any_live.clear)
    record(
        actor=actor,
        action="rule_adaptation.issued",
        target=adaptation,
        reason=reason,
        changes={
            "kind": kind,
            "category": category.code,
            "area": area.code if area else None,
            "priority": priority,
            "resolve": [resolve_amount, resolve_unit] if resolve_amount else None,
            "valid_from": valid_from,
            "valid_until": valid_until,
        },
    )
    title = _("Rule adaptation (变通): %(what)s") % {"what": adaptation}
    body = _("From %(start)s until %(end)s. %(reason)s") % {
        "start": _local(valid_from),
        "end": _local(valid_until),
        "reason": reason,
    }
    link = admin_change_url(adaptation)
    for role in (R.OPERATOR, R.DISPATCHER):
        notifications.notify_role(role=role, title=title, body=body, link=link)
    return adaptation


def _longest_resolve_limit(category: Category) -> tuple[int, str]:
    """The longest resolve limit the rule table gives this category (any priority, any
    type): a shortened limit must be shorter than it, or it would shorten nothing."""
    limits = [sla.rule_for(priority=p, appeal_type="", category=category).resolve for p in Appeal.Priority.values]
    return max(limits, key=lambda limit: limit_length(*limit))


@transaction.atomic
def rule_adaptation_revoke(*, actor: User, adaptation: RuleAdaptation, reason: str) -> RuleAdaptation:
    """End a live or scheduled adaptation now. City leaders only; a reason is required."""
    _ensure_city_leader(actor)
    reason = require_text(reason, _("Say why the adaptation is ended early."))
    adaptation = (
        RuleAdaptation.objects.select_for_update(of=("self",)).select_related("category", "area").get(pk=adaptation.pk)
    )
    now = timezone.now()
    if adaptation.revoked_at is not None:
        raise InvalidTransition(
            _("This adaptation was already revoked at %(time)s.") % {"time": _local(adaptation.revoked_at)}
        )
    if adaptation.valid_until <= now:
        raise InvalidTransition(
            _("This adaptation already expired at %(time)s.") % {"time": _local(adaptation.valid_until)}
        )
    adaptation.revoked_at = now
    set_history_context(adaptation, actor=actor, reason=reason)
    adaptation.save(update_fields=["revoked_at", "updated_at"])
    transaction.on_commit(_any_live.clear)
    record(
        actor=actor,
        action="rule_adaptation.revoked",
        target=adaptation,
        reason=reason,
        changes={"revoked_at": now, "valid_until": adaptation.valid_until},
    )
    return adaptation


# --- What intake and dispatch ask ----------------------------------------------------------


def _live_matching(*, kind: str, category: Category, area: Area | None, at: dt.datetime) -> QuerySet[RuleAdaptation]:
    """Live adaptations of `kind` for the category or an ancestor, and the area, an
    ancestor of it, or the whole city."""
    areas = Q(area__isnull=True)
    if area is not None:
        areas |= Q(area__code__in=_ancestor_codes(area))
    return RuleAdaptation.objects.filter(
        kind=kind,
        revoked_at__isnull=True,
        valid_from__lte=at,
        valid_until__gt=at,
        category__code__in=_ancestor_codes(category),
    ).filter(areas)


@short_lived(30)
def _any_live() -> bool:
    """Whether any adaptation is live or scheduled: most of the time none is, and intake and
    dispatch then skip the lookup."""
    return RuleAdaptation.objects.filter(revoked_at__isnull=True, valid_until__gt=timezone.now()).exists()


def adapted_priority(
    *, category: Category, area: Area | None, priority: str, at: dt.datetime
) -> tuple[str, RuleAdaptation | None]:
    """The priority a new appeal gets, and the adaptation that raised it (None: unchanged).

    Adaptations only raise (P0 is the highest); the highest live one wins, then the most
    specific (deeper category, then deeper area), then the newest.
    """
    if not _any_live():
        return priority, None
    best = (
        _live_matching(kind=Kind.RAISE_PRIORITY, category=category, area=area, at=at)
        .filter(priority__lt=priority)  # "P0" < "P1" < ...: only those that raise
        .order_by("priority", F("category__depth").desc(), F("area__depth").desc(nulls_last=True), "-valid_from", "-id")
        .first()
    )
    if best is None:
        return priority, None
    return best.priority, best


def adapted_resolve_limit(
    *, category: Category, area: Area | None, at: dt.datetime
) -> tuple[int, str, RuleAdaptation] | None:
    """The shortest live shortened resolve limit for the category and area, or None.

    The caller applies it only when it ends before the limit of the rule table (an
    adaptation never lengthens a limit)."""
    if not _any_live():
        return None
    candidates = list(
        _live_matching(kind=Kind.SHORTEN_LIMIT, category=category, area=area, at=at).order_by("-valid_from", "-id")
    )
    if not candidates:
        return None
    best = min(candidates, key=lambda a: limit_length(a.resolve_amount, a.resolve_unit))
    return best.resolve_amount, best.resolve_unit, best


# --- Selectors -----------------------------------------------------------------------------


def rule_adaptation_list_live(*, at: dt.datetime | None = None) -> QuerySet[RuleAdaptation]:
    at = at or timezone.now()
    return (
        RuleAdaptation.objects.filter(revoked_at__isnull=True, valid_from__lte=at, valid_until__gt=at)
        .select_related("category", "area", "issued_by")
        .order_by("valid_until", "id")
    )
