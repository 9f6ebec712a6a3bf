"""The merged record of an appeal, and queries across appeals: a registry of sources.

Each source is one small class reading one history table (or the action log) and turning
its rows into `Entry` objects with field-level before/after, actor, actor's role, reason
and time. The appeal timeline asks every source for the rows of one appeal (one query per
source, plus one for the previous versions of rows whose predecessor was not fetched);
the cross-appeal query asks every source for one page (keyset: newest first, constant
cost per page whatever the depth).

A new app plugs in with `register(MySource())` in its AppConfig.ready(), e.g. followups'
return visits after the merge:

    class VisitSource(HistorySource):
        key, rank = "visit", 90
        label = _("return visit")
        model_path = "followups.ReturnVisit"
        appeal_lookup = "appeal_id"
        audit_target_type = "followups.returnvisit"
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any

from django.apps import apps
from django.db import connections
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.audit.actions import action_label
from apps.organization.models import User

IGNORED_FIELDS = {"updated_at", "version", "next_due_at", "sweep_due_at", "search_text", "created_at"}
HISTORY_TYPES = {"+": _("created"), "~": _("changed"), "-": _("deleted")}


@dataclass
class Change:
    field: str
    label: str
    old: Any
    new: Any


@dataclass
class Entry:
    at: dt.datetime
    source: str
    rank: int
    pk: int
    source_label: str
    object_id: Any
    object_label: str
    kind: str
    kind_label: str
    actor_id: int | None
    actor_name: str
    actor_role: str
    reason: str
    changes: list[Change] = field(default_factory=list)
    appeal_id: int | None = None

    @property
    def ref(self) -> str:
        return f"{self.source}:{self.pk}"

    @property
    def sort_key(self) -> tuple:
        return (self.at, self.rank, self.pk)

    @property
    def changes_text(self) -> str:
        return "; ".join(f"{c.label}: {_fmt(c.old)} → {_fmt(c.new)}" for c in self.changes)


def _fmt(value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    return str(value)


@dataclass
class Query:
    """Filters of the cross-appeal query. `until` is exclusive."""

    person_id: int | None = None
    department_id: int | None = None
    sources: list[str] | None = None
    action: str = ""
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    # The department's staff, resolved once per page (see query_page): each source then
    # reads its (history_user_id, history_date) index per person instead of joining users.
    actor_ids: list[int] | None = None


# --- Sources --------------------------------------------------------------------------------


class Source:
    key = ""
    rank = 0
    label = ""

    def for_appeal(self, appeal_id: int, seen: dict[str, set]) -> list[Entry]:
        raise NotImplementedError

    def page(self, query: Query, before: tuple | None, limit: int) -> list[Entry]:
        raise NotImplementedError

    def exists(self, pk: int) -> bool:
        raise NotImplementedError


def _keyset(date_field: str, pk_field: str, rank: int, before: tuple | None) -> Q:
    """Rows strictly after `before` = (at, rank, pk) in newest-first order."""
    if before is None:
        return Q()
    at, b_rank, b_pk = before
    q = Q(**{f"{date_field}__lt": at})
    if rank < b_rank:
        q |= Q(**{date_field: at})
    elif rank == b_rank:
        q |= Q(**{date_field: at, f"{pk_field}__lt": b_pk})
    return q


def _use_lateral(model, query: Query) -> bool:
    return query.actor_ids is not None and connections[model.objects.db].vendor == "postgresql"


def _lateral_top(model, *, user_col, date_col, pk_col, query: Query, before, rank: int, limit: int,
                 extra: tuple[str, list] | None = None) -> list[int]:
    """PostgreSQL, department queries: the newest `limit` row ids of a list of people.

    Each person's (user, date) index range is read newest first, at most `limit` rows
    (LATERAL), and the few results merged. A plain `user IN (...) ORDER BY date LIMIT n`
    makes the planner walk the whole period on the date index hoping to meet the
    department's rows early, or sort every row of a busy department.
    """
    connection_quote = connections[model.objects.db].ops.quote_name
    table = connection_quote(model._meta.db_table)
    u, d, k = connection_quote(user_col), connection_quote(date_col), connection_quote(pk_col)
    where, params = [f"t.{u} = p.id"], []
    if query.since:
        where.append(f"t.{d} >= %s")
        params.append(query.since)
    if query.until:
        where.append(f"t.{d} < %s")
        params.append(query.until)
    if before is not None:
        at, b_rank, b_pk = before
        if rank < b_rank:
            where.append(f"t.{d} <= %s")
            params.append(at)
        elif rank == b_rank:
            where.append(f"(t.{d} < %s OR (t.{d} = %s AND t.{k} < %s))")
            params += [at, at, b_pk]
        else:
            where.append(f"t.{d} < %s")
            params.append(at)
    if extra:
        where.append(extra[0])
        params += extra[1]
    sql = (
        f"SELECT r.pk FROM unnest(%s::bigint[]) AS p(id) CROSS JOIN LATERAL ("
        f"SELECT t.{k} AS pk, t.{d} AS at FROM {table} t WHERE {' AND '.join(where)} "
        f"ORDER BY t.{d} DESC, t.{k} DESC LIMIT %s) r ORDER BY r.at DESC, r.pk DESC LIMIT %s"
    )
    with connections[model.objects.db].cursor() as cursor:
        cursor.execute(sql, [list(query.actor_ids), *params, limit, limit])
        return [row[0] for row in cursor.fetchall()]


class HistorySource(Source):
    """A simple-history table. Subclasses say which model and how its rows reach an appeal."""

    model_path = ""  # "app_label.ModelName" of the business model
    appeal_lookup = ""  # lookup on the historical model giving the appeal id
    audit_target_type = ""  # AuditEvent.target_type of the business model
    resolve_fk = {"department": "organization.Department"}  # FK fields shown by name

    @property
    def model(self):
        return apps.get_model(self.model_path)

    @property
    def history_model(self):
        return self.model.history.model

    def _fields(self):
        return [
            f for f in self.history_model._meta.concrete_fields
            if not f.name.startswith("history_") and f.name not in IGNORED_FIELDS
        ]

    def _base(self):
        return self.history_model.objects.select_related("history_user")

    def for_appeal(self, appeal_id: int, seen: dict[str, set]) -> list[Entry]:
        rows = list(self._base().filter(**{self.appeal_lookup: appeal_id}).order_by("history_date", "history_id"))
        seen.setdefault(self.audit_target_type, set()).update(str(r.id) for r in rows)
        return self._entries(rows, appeal_id=appeal_id)

    def filtered(self, query: Query):
        qs = self._base()
        if query.person_id:
            qs = qs.filter(history_user_id=query.person_id)
        if query.actor_ids is not None:
            qs = qs.filter(history_user_id__in=query.actor_ids)
        elif query.department_id:
            qs = qs.filter(history_user__department_id=query.department_id)
        if query.since:
            qs = qs.filter(history_date__gte=query.since)
        if query.until:
            qs = qs.filter(history_date__lt=query.until)
        return qs

    def page(self, query: Query, before, limit: int) -> list[Entry]:
        if query.action:
            return []  # action kinds are action-log entries
        hm = self.history_model
        # The version before each row (same object, next lower history id): one correlated
        # lookup on the object-id index, so diffs need no query per row.
        prev = hm.objects.filter(id=OuterRef("id"), history_id__lt=OuterRef("history_id")).order_by("-history_id")
        if _use_lateral(hm, query):
            ids = _lateral_top(hm, user_col="history_user_id", date_col="history_date", pk_col="history_id",
                               query=query, before=before, rank=self.rank, limit=limit)
            qs = self._base().filter(history_id__in=ids) if ids else hm.objects.none()
        else:
            qs = self.filtered(query).filter(_keyset("history_date", "history_id", self.rank, before))
        qs = qs.annotate(prev_history_id=Subquery(prev.values("history_id")[:1]))
        return self._entries(list(qs.order_by("-history_date", "-history_id")[:limit]))

    def exists(self, pk: int) -> bool:
        return self.history_model.objects.filter(history_id=pk).exists()

    def object_label(self, row) -> str:
        return f"{self.model._meta.verbose_name} #{row.id}"

    def _entries(self, rows, appeal_id=None) -> list[Entry]:
        """Field-level changes from consecutive versions of each object: the previous
        version is in `rows` (appeal timeline) or fetched in one query (query pages)."""
        fields = self._fields()
        by_obj: dict[Any, list] = {}
        for row in sorted(rows, key=lambda r: (r.history_date, r.history_id)):
            by_obj.setdefault(row.id, []).append(row)
        wanted = [getattr(r, "prev_history_id", None) for r in rows]
        have = {r.history_id for r in rows}
        missing = [w for w in wanted if w and w not in have]
        fetched = (
            {r.history_id: r for r in self.history_model.objects.filter(history_id__in=missing)} if missing else {}
        )
        previous: dict[int, Any] = {}
        for chain in by_obj.values():
            for i, row in enumerate(chain):
                p = getattr(row, "prev_history_id", None)
                if p is not None:
                    previous[row.history_id] = fetched.get(p) or next((r for r in chain if r.history_id == p), None)
                elif i > 0 and not hasattr(row, "prev_history_id"):
                    previous[row.history_id] = chain[i - 1]
        names = self._names(rows, list(previous.values()), fields)
        entries = []
        for row in rows:
            before = previous.get(row.history_id)
            changes = []
            for f in fields:
                new = getattr(row, f.attname)
                old = getattr(before, f.attname) if before is not None else None
                if before is not None and old == new:
                    continue
                if before is None and row.history_type == "+" and new in (None, "", 0, False):
                    continue
                changes.append(Change(f.name, str(f.verbose_name), self._show(f, old, names),
                                      self._show(f, new, names)))
            user = row.history_user
            entries.append(Entry(
                at=row.history_date, source=self.key, rank=self.rank, pk=row.history_id,
                source_label=str(self.label), object_id=row.id, object_label=self.object_label(row),
                kind=row.history_type, kind_label=str(HISTORY_TYPES.get(row.history_type, row.history_type)),
                actor_id=row.history_user_id,
                actor_name=(user.name or user.username) if user else "",
                actor_role=(user.get_role_display() if user and user.role else ""),
                reason=row.history_change_reason or "",
                changes=changes,
                appeal_id=appeal_id if appeal_id is not None else self._appeal_id(row),
            ))
        return entries

    def _appeal_id(self, row):
        attname = self.appeal_lookup if "__" not in self.appeal_lookup else None
        return getattr(row, attname, None) if attname else None

    def _names(self, rows, more, fields) -> dict:
        """Names of departments and users the changed FKs point to: one query per target model."""
        wanted: dict[str, set] = {}
        for f in fields:
            if f.is_relation and f.name in self.resolve_fk:
                ids = {getattr(r, f.attname) for r in [*rows, *more] if r is not None} - {None}
                wanted.setdefault(self.resolve_fk[f.name], set()).update(ids)
        names = {}
        for label, ids in wanted.items():
            model = apps.get_model(label)
            names[label] = dict(model.objects.filter(pk__in=ids).values_list("pk", "name"))
        return names

    def _show(self, f, value, names):
        if value is None:
            return None
        if f.is_relation and f.name in self.resolve_fk:
            return names.get(self.resolve_fk[f.name], {}).get(value, value)
        if f.choices:
            return str(dict(f.flatchoices).get(value, value))
        return value


class AppealSource(HistorySource):
    key, rank, label = "appeal", 10, _("appeal")
    model_path, appeal_lookup, audit_target_type = "appeals.Appeal", "id", "appeals.appeal"
    # Masked: the timeline is read by inspectors but exported; citizens' data stays out.
    hidden = {"citizen_name", "citizen_phone", "citizen_id_number", "address", "content"}

    def _fields(self):
        return [f for f in super()._fields() if f.name not in self.hidden]

    def _appeal_id(self, row):
        return row.id

    def object_label(self, row) -> str:
        return row.tracking_number


class TaskSource(HistorySource):
    key, rank, label = "task", 20, _("work order")
    model_path, appeal_lookup, audit_target_type = "tasks.Task", "appeal_id", "tasks.task"
    resolve_fk = {"department": "organization.Department"}

    def object_label(self, row) -> str:
        return f"{_('work order')} #{row.id}"


class ReminderSource(HistorySource):
    key, rank, label = "reminder", 30, _("reminder (催办)")
    model_path, appeal_lookup, audit_target_type = "tasks.Reminder", "task__appeal_id", "tasks.reminder"

    def _appeal_id(self, row):
        return None


class ApprovalSource(HistorySource):
    key, rank, label = "approval", 40, _("approval request")
    model_path, appeal_lookup, audit_target_type = (
        "authorization.ApprovalRequest", "appeal_id", "authorization.approvalrequest")


class InstructionSource(HistorySource):
    key, rank, label = "instruction", 50, _("instruction (批示)")
    model_path, appeal_lookup, audit_target_type = "authorization.Instruction", "appeal_id", "authorization.instruction"


class ReceiptSource(HistorySource):
    key, rank, label = "receipt", 55, _("instruction receipt")
    model_path, appeal_lookup, audit_target_type = (
        "authorization.InstructionReceipt", "instruction__appeal_id", "authorization.instructionreceipt")

    def _appeal_id(self, row):
        return None


class ConsultationSource(HistorySource):
    key, rank, label = "consultation", 60, _("consultation (会商)")
    model_path, appeal_lookup, audit_target_type = (
        "authorization.Consultation", "appeal_id", "authorization.consultation")


class InviteSource(HistorySource):
    key, rank, label = "invite", 65, _("consultation invitation")
    model_path, appeal_lookup, audit_target_type = (
        "authorization.ConsultationInvite", "consultation__appeal_id", "authorization.consultationinvite")

    def _appeal_id(self, row):
        return None


class SupervisionCaseSource(HistorySource):
    key, rank, label = "supervision", 70, _("supervision case")
    model_path, appeal_lookup, audit_target_type = (
        "supervision.SupervisionCase", "appeal_id", "supervision.supervisioncase")


class VisitSource(HistorySource):
    key, rank, label = "visit", 75, _("return visit (回访)")
    model_path, appeal_lookup, audit_target_type = "followups.Visit", "appeal_id", "followups.visit"
    resolve_fk = {"department": "organization.Department"}

    def object_label(self, row) -> str:
        return f"{_('return visit')} #{row.id}"


class VisitAttemptSource(HistorySource):
    key, rank, label = "visit_attempt", 76, _("return-visit call")
    model_path, appeal_lookup, audit_target_type = (
        "followups.VisitAttempt", "visit__appeal_id", "followups.visitattempt")

    def _appeal_id(self, row):
        return None


_ROLE_LABELS = dict(User.Role.choices)


class AuditSource(Source):
    """Action-log entries about the appeal and the objects the other sources found (work
    orders, requests, ...): permission grants, reveals, misses and reminders are here."""

    key, rank, label = "audit", 100, _("action log")

    def _entry(self, e, appeal_id=None) -> Entry:
        changes = []
        if isinstance(e.changes, dict):
            for name, value in e.changes.items():
                if isinstance(value, list) and len(value) == 2:
                    changes.append(Change(name, name, value[0], value[1]))
                else:
                    changes.append(Change(name, name, None, value))
        return Entry(
            at=e.occurred_at, source=self.key, rank=self.rank, pk=e.pk, source_label=str(self.label),
            object_id=e.target_id, object_label=e.target_repr or e.target_type, kind=e.action,
            kind_label=action_label(e.action),
            actor_id=e.actor_id, actor_name=(e.actor.name if e.actor and e.actor.name else e.actor_name),
            # The role at the time of the entry (kept by the log), in the reader's language.
            actor_role=str(_ROLE_LABELS.get(e.actor_role, e.actor_role)), reason=e.reason,
            changes=changes, appeal_id=appeal_id,
        )

    def for_appeal(self, appeal_id: int, seen: dict[str, set]) -> list[Entry]:
        from apps.audit.models import AuditEvent

        seen.setdefault("appeals.appeal", set()).add(str(appeal_id))
        q = Q()
        for target_type, ids in seen.items():
            if target_type and ids:
                q |= Q(target_type=target_type, target_id__in=sorted(ids))
        rows = AuditEvent.objects.filter(q).select_related("actor").order_by("seq")
        return [self._entry(e, appeal_id) for e in rows]

    def page(self, query: Query, before, limit: int) -> list[Entry]:
        from apps.audit.models import AuditEvent

        if _use_lateral(AuditEvent, query):
            extra = ("t.action = %s", [query.action]) if query.action else None
            ids = _lateral_top(AuditEvent, user_col="actor_id", date_col="occurred_at", pk_col="id", query=query,
                               before=before, rank=self.rank, limit=limit, extra=extra)
            rows = AuditEvent.objects.select_related("actor").filter(pk__in=ids).order_by("-occurred_at", "-id")
            return [self._entry(e) for e in rows]
        qs = AuditEvent.objects.select_related("actor")
        if query.person_id:
            qs = qs.filter(actor_id=query.person_id)
        if query.actor_ids is not None:
            qs = qs.filter(actor_id__in=query.actor_ids)
        elif query.department_id:
            qs = qs.filter(actor__department_id=query.department_id)
        if query.action:
            qs = qs.filter(action=query.action)
        if query.since:
            qs = qs.filter(occurred_at__gte=query.since)
        if query.until:
            qs = qs.filter(occurred_at__lt=query.until)
        qs = qs.filter(_keyset("occurred_at", "id", self.rank, before)).order_by("-occurred_at", "-id")[:limit]
        return [self._entry(e) for e in qs]

    def exists(self, pk: int) -> bool:
        from apps.audit.models import AuditEvent

        return AuditEvent.objects.filter(pk=pk).exists()


_REGISTRY: dict[str, Source] = {}


def register(source: Source) -> Source:
    _REGISTRY[source.key] = source
    return source


def sources() -> list[Source]:
    """Registered sources, the action log last (it uses what the others found)."""
    return sorted(_REGISTRY.values(), key=lambda s: s.rank)


for _source in (
    AppealSource(), TaskSource(), ReminderSource(), ApprovalSource(), InstructionSource(), ReceiptSource(),
    ConsultationSource(), InviteSource(), SupervisionCaseSource(), VisitSource(), VisitAttemptSource(),
    AuditSource(),
):
    register(_source)


# --- Reads ------------------------------------------------------------------------------------


def _roles_at_the_time(entries: list[Entry]) -> list[Entry]:
    """History rows know who acted, not in which role: take the role the person held at
    that moment from the staff's own history (one query), so a department staff member
    promoted to leader last month shows as staff for what they did before. (The action
    log keeps the role at the time itself.)"""
    import bisect

    from apps.organization.models import User

    wanted = {e.actor_id for e in entries if e.actor_id and e.source != "audit"}
    if not wanted:
        return entries
    versions: dict[int, tuple[list, list]] = {}
    rows = (
        User.history.filter(id__in=wanted).order_by("id", "history_date", "history_id")
        .values_list("id", "history_date", "role")
    )
    for user_id, at, role in rows:
        dates, roles = versions.setdefault(user_id, ([], []))
        dates.append(at)
        roles.append(role)
    for e in entries:
        if e.source == "audit" or e.actor_id not in versions:
            continue
        dates, roles = versions[e.actor_id]
        i = bisect.bisect_right(dates, e.at) - 1
        if i >= 0:
            e.actor_role = str(_ROLE_LABELS.get(roles[i], roles[i])) if roles[i] else ""
    return entries


def appeal_timeline(appeal_id: int, *, source_keys: list[str] | None = None) -> list[Entry]:
    """Every entry about one appeal, oldest first."""
    seen: dict[str, set] = {}
    entries: list[Entry] = []
    for source in sources():
        if source_keys and source.key not in source_keys and source.key != "audit":
            continue
        entries.extend(source.for_appeal(appeal_id, seen))
    return sorted(_roles_at_the_time(entries), key=lambda e: e.sort_key)


def query_page(query: Query, *, before: tuple | None = None, limit: int = 50) -> tuple[list[Entry], tuple | None]:
    """One page of the cross-appeal query, newest first; returns (entries, cursor of the next page)."""
    if query.department_id and query.actor_ids is None:
        from apps.organization.models import User

        ids = list(User.objects.filter(department_id=query.department_id).values_list("id", flat=True))
        query = replace(query, actor_ids=ids)
    entries: list[Entry] = []
    for source in sources():
        if query.sources and source.key not in query.sources:
            continue
        entries.extend(source.page(query, before, limit + 1))
    entries.sort(key=lambda e: e.sort_key, reverse=True)
    page = entries[:limit]
    cursor = page[-1].sort_key if len(entries) > limit and page else None
    return _roles_at_the_time(page), cursor


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
    source = _REGISTRY.get(key)
    return bool(source and pk.isdigit() and source.exists(int(pk)))
