"""Read queries for intake: duplicates, dispatch suggestions, lists."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Q, QuerySet

from apps.appeals.models import Appeal, Category, DispatchRule
from apps.core.encrypted import blind_index
from apps.core.personal_data import id_number_is_valid
from apps.core.process_cache import short_lived
from apps.organization.models import Area, Department

DUPLICATE_WINDOW = dt.timedelta(days=30)


def appeal_list_to_dispatch() -> QuerySet[Appeal]:
    return Appeal.objects.filter(status=Appeal.Status.RECEIVED).select_related("category", "area")


def appeal_likely_duplicates(appeal: Appeal, *, limit: int = 10) -> list[Appeal]:
    """Earlier appeals within 30 days with the same phone, or the same area and category."""
    since = appeal.received_at - DUPLICATE_WINDOW
    same_issue = Q(area_id=appeal.area_id, category_id=appeal.category_id)
    phone_index = blind_index("phone", appeal.citizen_phone)  # the phone itself is ciphertext
    if phone_index:
        same_issue |= Q(citizen_phone_index=phone_index)
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


@dataclass(frozen=True)
class _Catalogue:
    """The active dispatch catalogue and the local governments, indexed for lookups."""

    rules: dict[str, list[DispatchRule]]  # category code → its active rules
    departments: dict[int, Department]  # active departments by id
    street_office: dict[str, Department]  # area code → street office serving it
    district_government: dict[str, Department]  # area code → district government serving it


@short_lived(30)
def _catalogue() -> _Catalogue:
    """Read once per process every 30 s (a few hundred rules, a few thousand departments):
    dispatch is then pure lookups. Catalogue edits in this process clear it at once."""
    departments = {d.pk: d for d in Department.objects.filter(is_active=True).select_related("area")}
    street, district = {}, {}
    for d in departments.values():
        if d.kind == Department.Kind.STREET_OFFICE:
            street.setdefault(d.area.code, d)
        elif d.kind == Department.Kind.DISTRICT_GOVERNMENT:
            district.setdefault(d.area.code, d)
    rules: dict[str, list[DispatchRule]] = {}
    for rule in (
        DispatchRule.objects.filter(is_active=True)
        .select_related("category", "area")
        .prefetch_related("co_departments")
    ):
        rules.setdefault(rule.category.code, []).append(rule)
    return _Catalogue(rules, departments, street, district)


def invalidate_catalogue() -> None:
    """Forget this process's copy of the dispatch catalogue (after an edit, on commit)."""
    _catalogue.clear()


def _nearest(index: dict[str, Department], area_codes: list[str]) -> Department | None:
    for code in reversed(area_codes):  # the area itself first, then up the tree
        if code in index:
            return index[code]
    return None


def dispatch_suggestion(*, category: Category, area: Area, exclude: set[int] | None = None) -> DispatchSuggestion:
    """What the dispatch catalogue says for this category and area.

    The most specific rule wins: the appeal's category (then its ancestors) at the appeal's
    area (then its ancestors), then city-wide. With no rule, or a rule whose lead is the
    excluded department (it has just returned the task), the district government takes it.
    """
    exclude = exclude or set()
    catalogue = _catalogue()
    areas = _area_chain(area)
    area_set = set(areas)
    rules = [
        rule
        for code in [c for c in category.path.strip("/").split("/") if c]
        for rule in catalogue.rules.get(code, [])
        if rule.area_id is None or rule.area.code in area_set
    ]

    def score(rule):
        return (rule.category.depth, rule.area.depth + 1 if rule.area_id else 0)

    for rule in sorted(rules, key=score, reverse=True):
        if rule.route_to_local_street:
            lead = _nearest(catalogue.street_office, areas)
        else:
            lead = catalogue.departments.get(rule.lead_department_id)
        if lead is None or lead.pk in exclude:
            continue
        co = [
            catalogue.departments[d.pk]
            for d in rule.co_departments.all()
            if d.pk in catalogue.departments and d.pk != lead.pk and d.pk not in exclude
        ]
        return DispatchSuggestion(lead=lead, co=co, rule=rule, explanation=str(rule))
    fallback = _nearest(catalogue.district_government, areas)
    if fallback is not None and fallback.pk in exclude:
        fallback = None
    return DispatchSuggestion(lead=fallback, explanation="兜底: district government of the area")


_TRACKING = __import__("re").compile(r"^\d{8}-\d{6}$")
_PHONE = __import__("re").compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")
_ID_NUMBER = __import__("re").compile(r"^\d{17}[\dXx]$")
CONTACT_PERMISSION = "appeals.view_citizen_contact"


def contact_number_kind(query: str) -> str:
    """'phone' or 'id_number' when the whole term is a citizen's full number, else ''."""
    query = (query or "").strip()
    if _PHONE.match(query):
        return "phone"
    if _ID_NUMBER.match(query) and id_number_is_valid(query.upper()):
        return "id_number"
    return ""


def may_search_by_contact(user) -> bool:
    return bool(user is not None and user.is_active and user.has_perm(CONTACT_PERMISSION))


def contact_search_refused(user, query: str, *, by_phone: bool = True) -> bool:
    """The term is a full phone or ID number that `user` may not look citizens up by (the
    list then says it searched the words only)."""
    return bool(contact_number_kind(query)) and not (by_phone and may_search_by_contact(user))


def appeal_search(qs: QuerySet[Appeal], query: str, *, user=None, by_phone: bool = True) -> QuerySet[Appeal]:
    """Tracking number: exact (unique). A full phone or ID number: exact, through the blind
    index, only for `user` holding appeals.view_citizen_contact, and recorded in the action
    log (who, the number masked, when); without `user`, or for anyone else, or with
    `by_phone=False` (departments), the number is only words of the content. Partial
    numbers never match a phone: the column is ciphertext and refuses such lookups.
    Otherwise words of the content or address: every bigram must match (GIN on
    PostgreSQL, LIKE elsewhere)."""
    from django.db import connection

    from apps.appeals.search import query_tokens

    query = (query or "").strip()
    if not query:
        return qs
    if _TRACKING.match(query):
        return qs.filter(tracking_number=query)
    kind = contact_number_kind(query)
    if kind and by_phone and may_search_by_contact(user):
        from apps.appeals.services import appeal_contact_searched

        appeal_contact_searched(actor=user, kind=kind, number=query)
        if kind == "phone":
            return qs.filter(citizen_phone_index=blind_index("phone", query))
        return qs.filter(citizen_id_number_index=blind_index("id_number", query))
    terms = query_tokens(query)
    if not terms:
        return qs.none()
    if connection.vendor == "postgresql":
        from django.contrib.postgres.search import SearchQuery, SearchVectorField
        from django.db.models.expressions import RawSQL

        # The stored tsvector of migration 0007 (GIN-indexed; not a model field). Named
        # without its table: as a subquery (the work-order list's search) the appeals table
        # is aliased (U0), and no table joined to it has a column of that name.
        vector = RawSQL('"search_vector"', [], output_field=SearchVectorField())
        return qs.alias(_search=vector).filter(
            _search=SearchQuery(" & ".join(terms), search_type="raw", config="simple")
        )
    for term in terms:
        qs = qs.filter(search_text__contains=term)
    return qs
