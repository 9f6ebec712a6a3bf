"""Reading a case record: one appeal's whole record (inspectors), the case desk's running
timeline (everyone who works the case), and the query across appeals with its exports.

The sources are in `apps.casefile.sources`; what an entry holds and how its values read,
in `apps.casefile.entries`.
"""

from __future__ import annotations

import bisect
import datetime as dt
from dataclasses import replace

from django.db.models import CharField, Value

from apps.casefile import sources as registry
from apps.casefile.entries import Entry
from apps.casefile.sources import HistorySource, Query
from apps.organization.models import User

__all__ = [
    "Entry", "Query", "appeal_timeline", "case_timeline", "decode_cursor", "encode_cursor", "entry_exists",
    "query_iter", "query_page", "sources",
]

ROLE_LABELS = dict(User.Role.choices)
sources = registry.sources

# The steps of the appeal itself that a department working on it reads on its case desk
# (not, e.g., who else looked at the citizen's contact details).
DEPARTMENT_APPEAL_STEPS = {
    "appeal.received", "appeal.dispatched", "appeal.reviewed", "appeal.reopened", "appeal.closed",
    "appeal.escalated",
}


def case_timeline(appeal_id: int, *, department_ids: list[int] | None = None) -> list[Entry]:
    """The case desk's running record, oldest first: the action log's entries about the
    appeal and every object of it (work orders, requests, reminders, instructions,
    consultations, supervision, visits). For a department's reader (`department_ids`),
    the appeal's own steps and what concerns those departments only.

    Two queries: the objects' ids (one UNION over the sources' tables, each by its appeal
    index), then the log by (target type, target id) on its index. (Subqueries inside the
    log's OR would be evaluated row by row over the whole log on PostgreSQL.)"""
    parts = [
        source.objects_of_appeal(appeal_id, department_ids)
        .annotate(target_type=Value(source.audit_target_type, output_field=CharField()))
        .values_list("target_type", "pk")
        .order_by()  # a compound statement's parts may not be ordered (models' Meta.ordering)
        for source in registry.sources()
        if isinstance(source, HistorySource) and source.key != "appeal"
    ]
    targets: dict[str, list[str]] = {"appeals.appeal": [str(appeal_id)]}
    if parts:
        for target_type, pk in parts[0].union(*parts[1:], all=True):
            targets.setdefault(target_type, []).append(str(pk))
    entries = registry.get("audit").for_targets(targets, appeal_id)
    if department_ids is not None:
        entries = [e for e in entries if e.target_type != "appeals.appeal" or e.kind in DEPARTMENT_APPEAL_STEPS]
    return registry.name_links(entries)


def _roles_at_the_time(entries: list[Entry]) -> list[Entry]:
    """History rows know who acted, not in which role or department: take those the person
    held at that moment from the staff's own history (one query), so a department staff
    member promoted to leader last month shows as staff for what they did before. (The
    action log keeps the role at the time itself.)"""
    wanted = {e.actor_id for e in entries if e.actor_id and e.source != "audit"}
    if not wanted:
        return entries
    versions: dict[int, tuple[list, list]] = {}
    rows = (
        User.history.filter(id__in=wanted).order_by("id", "history_date", "history_id")
        .values_list("id", "history_date", "role", "department__name")
    )
    for user_id, at, role, department in rows:
        dates, held = versions.setdefault(user_id, ([], []))
        dates.append(at)
        held.append((role, department))
    for e in entries:
        if e.source == "audit" or e.actor_id not in versions:
            continue
        dates, held = versions[e.actor_id]
        i = bisect.bisect_right(dates, e.at) - 1
        if i >= 0:
            role, department = held[i]
            e.actor_role = str(ROLE_LABELS.get(role, role)) if role else ""
            e.actor_department = department or ""
    return entries


def appeal_timeline(appeal_id: int, *, source_keys: list[str] | None = None) -> list[Entry]:
    """Every entry about one appeal, oldest first."""
    seen: dict[str, set] = {}
    entries: list[Entry] = []
    for source in registry.sources():
        if source_keys and source.key not in source_keys and source.key != "audit":
            continue
        entries.extend(source.for_appeal(appeal_id, seen))
    return sorted(registry.name_links(_roles_at_the_time(entries)), key=lambda e: e.sort_key)


def query_page(query: Query, *, before: tuple | None = None, limit: int = 50) -> tuple[list[Entry], tuple | None]:
    """One page of the cross-appeal query, newest first; returns (entries, cursor of the next page)."""
    if query.department_id and query.actor_ids is None:
        ids = list(User.objects.filter(department_id=query.department_id).values_list("id", flat=True))
        query = replace(query, actor_ids=ids)
    entries: list[Entry] = []
    for source in registry.sources():
        if query.sources and source.key not in query.sources:
            continue
        entries.extend(source.page(query, before, limit + 1))
    entries.sort(key=lambda e: e.sort_key, reverse=True)
    page = entries[:limit]
    cursor = page[-1].sort_key if len(entries) > limit and page else None
    return registry.name_links(_roles_at_the_time(page)), cursor


def query_iter(query: Query, *, max_rows: int, chunk: int = 1000):
    """All entries of a query, newest first, in chunks: memory stays at one chunk."""
    before, sent = None, 0
    while sent < max_rows:
        page, before = query_page(query, before=before, limit=min(chunk, max_rows - sent))
        yield from page
        sent += len(page)
        if before is None:
            return


def encode_cursor(cursor: tuple | None) -> str:
    if cursor is None:
        return ""
    at, rank, pk = cursor
    return f"{at.astimezone(dt.UTC).isoformat()}|{rank}|{pk}"


def decode_cursor(text: str) -> tuple | None:
    try:
        at, rank, pk = text.split("|")
        return dt.datetime.fromisoformat(at), int(rank), int(pk)
    except (ValueError, AttributeError):
        return None


def entry_exists(ref: str) -> bool:
    """"task:123" names history row 123 of the work-order source; "audit:9" action-log row 9."""
    key, _sep, pk = ref.partition(":")
    source = registry.get(key)
    return bool(source and pk.isdigit() and source.exists(int(pk)))
