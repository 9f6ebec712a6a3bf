"""Read queries for intake: duplicates, dispatch suggestions, lists."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Q, QuerySet

from apps.appeals.models import Appeal, Category, DispatchRule
from apps.organization.models import Area, Department

DUPLICATE_WINDOW = dt.timedelta(days=30)


def appeal_list_to_dispatch() -> QuerySet[Appeal]:
    return Appeal.objects.filter(status=Appeal.Status.RECEIVED).select_related("category", "area")


def appeal_likely_duplicates(appeal: Appeal, *, limit: int = 10) -> list[Appeal]:
    """Earlier appeals within 30 days with the same phone, or the same area and category."""
    since = appeal.received_at - DUPLICATE_WINDOW
    same_issue = Q(area_id=appeal.area_id, category_id=appeal.category_id)
    if appeal.citizen_phone:
        same_issue |= Q(citizen_phone=appeal.citizen_phone)
    return list(
        Appeal.objects.filter(same_issue, received_at__gte=since, received_at__lte=appeal.received_at)
        .exclude(pk=appeal.pk)
        .exclude(status=Appeal.Status.MERGED)
        .select_related("category", "area")
        .order_by("-received_at")[:limit]
    )


@dataclass
class DispatchSuggestion:
    lead: Department | None
    co: list[Department] = field(default_factory=list)
    rule: DispatchRule | None = None
    explanation: str = ""


def _area_chain(area: Area) -> list[str]:
    return [code for code in area.path.strip("/").split("/") if code]


def _street_office_for(area: Area) -> Department | None:
    codes = _area_chain(area)
    return (
        Department.objects.filter(kind=Department.Kind.STREET_OFFICE, is_active=True, area__code__in=codes)
        .order_by("-area__depth")
        .first()
    )


def _district_government_for(area: Area) -> Department | None:
    codes = _area_chain(area)
    return (
        Department.objects.filter(kind=Department.Kind.DISTRICT_GOVERNMENT, is_active=True, area__code__in=codes)
        .order_by("-area__depth")
        .first()
    )


def dispatch_suggestion(*, category: Category, area: Area, exclude: set[int] | None = None) -> DispatchSuggestion:
    """What the dispatch catalogue says for this category and area.

    The most specific rule wins: the appeal's category (then its ancestors) at the appeal's
    area (then its ancestors), then city-wide. With no rule, or a rule whose lead is the
    excluded department (it has just returned the task), the district government takes it.
    """
    exclude = exclude or set()
    categories = [c for c in category.path.strip("/").split("/") if c]
    areas = _area_chain(area)
    rules = (
        DispatchRule.objects.filter(is_active=True, category__code__in=categories)
        .filter(Q(area__isnull=True) | Q(area__code__in=areas))
        .select_related("category", "area", "lead_department")
        .prefetch_related("co_departments")
    )

    def score(rule):
        return (rule.category.depth, rule.area.depth + 1 if rule.area_id else 0)

    for rule in sorted(rules, key=score, reverse=True):
        lead = _street_office_for(area) if rule.route_to_local_street else rule.lead_department
        if lead is None or not lead.is_active or lead.pk in exclude:
            continue
        co = [d for d in rule.co_departments.all() if d.is_active and d.pk != lead.pk and d.pk not in exclude]
        return DispatchSuggestion(lead=lead, co=co, rule=rule, explanation=str(rule))
    fallback = _district_government_for(area)
    if fallback is not None and fallback.pk in exclude:
        fallback = None
    return DispatchSuggestion(lead=fallback, explanation="兜底: district government of the area")


_TRACKING = __import__("re").compile(r"^\d{8}-\d{6}$")
_PHONE = __import__("re").compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")


def appeal_search(qs: QuerySet[Appeal], query: str) -> QuerySet[Appeal]:
    """Tracking number or phone: exact (unique / indexed). Otherwise words of the content or
    address: every bigram must match (GIN on PostgreSQL, LIKE elsewhere)."""
    from django.db import connection

    from apps.appeals.search import query_tokens

    query = (query or "").strip()
    if not query:
        return qs
    if _TRACKING.match(query):
        return qs.filter(tracking_number=query)
    if _PHONE.match(query):
        return qs.filter(citizen_phone=query)
    terms = query_tokens(query)
    if not terms:
        return qs.none()
    if connection.vendor == "postgresql":
        from django.contrib.postgres.search import SearchQuery, SearchVector

        # Same expression as the GIN index appeal_search_text_gin (migration 0004).
        vector = SearchVector("search_text", config="simple")
        return qs.alias(_search=vector).filter(
            _search=SearchQuery(" & ".join(terms), search_type="raw", config="simple")
        )
    for term in terms:
        qs = qs.filter(search_text__contains=term)
    return qs
