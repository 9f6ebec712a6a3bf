"""Where a case record comes from: a registry of sources.

Each source reads one history table (or the action log) and turns its rows into
`Entry` objects with field-level before/after, actor, the actor's role and department,
reason and time. An appeal's record asks every source for the rows of one appeal (one
query per source, plus one for earlier versions and one per kind of linked row named);
the cross-appeal query asks every source for one page (keyset: newest first, constant
cost per page whatever the depth).

A source also says how its objects reach an appeal (`appeal_lookup`) and a department
(`department_lookup`): the case desk shows a department's reader only what concerns their
department. Sources are listed at the bottom; a new kind of record adds a class there.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.db import connections
from django.db.models import OuterRef, Q, Subquery
from django.utils.translation import gettext_lazy as _

from apps.audit.actions import action_label
from apps.casefile.entries import Change, Entry
from apps.organization.models import User

IGNORED_FIELDS = {"id", "updated_at", "version", "next_due_at", "sweep_due_at", "search_text", "created_at"}
HISTORY_TYPES = {"+": _("created"), "~": _("changed"), "-": _("deleted")}


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


# How a linked row is named in a record: the field holding its name (one query per kind).
LINK_NAMES = {
    "organization.department": "name",
    "organization.area": "name",
    "appeals.category": "full_name",
    "appeals.appeal": "tracking_number",
}


def link_names(model, ids) -> dict:
    """{pk: name} of the rows of `model`: people by name (or login), others by their name
    field, anything else as "<verbose name> #<id>"."""
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    label = model._meta.label_lower
    if label == User._meta.label_lower:
        return {pk: name or username for pk, name, username in
                model.objects.filter(pk__in=ids).values_list("pk", "name", "username")}
    name_field = LINK_NAMES.get(label)
    if name_field:
        return dict(model.objects.filter(pk__in=ids).values_list("pk", name_field))
    return {pk: f"{model._meta.verbose_name} #{pk}" for pk in ids}


def name_links(entries: list[Entry]) -> list[Entry]:
    """Replace the ids and codes of linked rows in every change by names: one query per
    kind of row named on the page (departments, areas, categories, people, ...), however
    many entries and sources the page holds."""
    def as_list(value):
        return value if isinstance(value, list) else [value]

    wanted: dict[tuple[str, str], set] = {}
    for e in entries:
        for c in e.changes:
            if c.link is not None:
                wanted.setdefault(c.link, set()).update(
                    v for value in (c.old, c.new) for v in as_list(value) if v is not None and v != "")
    names: dict[tuple[str, str], dict] = {}
    for (label, key), values in wanted.items():
        model = apps.get_model(label)
        if key == "code":
            name_field = LINK_NAMES.get(label.lower(), "name")
            names[(label, key)] = dict(model.objects.filter(code__in=values).values_list("code", name_field))
        else:
            names[(label, key)] = link_names(model, values)
    for e in entries:
        for c in e.changes:
            if c.link is not None:
                found = names.get(c.link, {})
                c.old, c.new = (
                    [found.get(v, v) for v in value] if isinstance(value, list) else found.get(value, value)
                    for value in (c.old, c.new)
                )
                c.link = None
    return entries


def _user_text(user) -> tuple[str, str, str]:
    """(name, role label today, department name) of a user row with its department."""
    if user is None:
        return "", "", ""
    department = user.department.name if user.department_id and user.department else ""
    return (user.name or user.username), (user.get_role_display() if user.role else ""), department


class HistorySource(Source):
    """A simple-history table. Subclasses say which model and how its rows reach an appeal
    (`appeal_lookup`) and a department (`department_lookup`, "" = not a department's)."""

    model_path = ""  # "app_label.ModelName" of the business model
    appeal_lookup = ""  # lookup on the historical model giving the appeal id
    department_lookup = ""  # lookup on the business model giving the department concerned
    audit_target_type = ""  # AuditEvent.target_type of the business model

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
        return self.history_model.objects.select_related("history_user__department")

    def objects_of_appeal(self, appeal_id: int, department_ids: list[int] | None = None):
        """The business rows of one appeal (for a department's reader: theirs only)."""
        qs = self.model.objects.filter(**{self.appeal_lookup: appeal_id})
        if department_ids is not None:
            if not self.department_lookup:
                return qs.none()
            qs = qs.filter(**{f"{self.department_lookup}__in": department_ids})
        return qs

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
                link = (f.related_model._meta.label_lower, "pk") if f.is_relation and f.related_model else None
                changes.append(Change(f.name, str(f.verbose_name), self._show(f, old), self._show(f, new), link))
            name, role, department = _user_text(row.history_user)
            entries.append(Entry(
                at=row.history_date, source=self.key, rank=self.rank, pk=row.history_id,
                source_label=str(self.label), object_id=row.id, object_label=self.object_label(row),
                kind=row.history_type, kind_label=str(HISTORY_TYPES.get(row.history_type, row.history_type)),
                actor_id=row.history_user_id, actor_name=name, actor_role=role, actor_department=department,
                reason=row.history_change_reason or "",
                changes=changes,
                appeal_id=appeal_id if appeal_id is not None else self._appeal_id(row),
                target_type=self.audit_target_type,
            ))
        return entries

    def _appeal_id(self, row):
        """The appeal of a row in a cross-appeal query, when the row holds it itself (rows
        reaching it through another table, e.g. "task__appeal_id", leave it unknown)."""
        attname = self.appeal_lookup if "__" not in self.appeal_lookup else None
        return getattr(row, attname, None) if attname else None

    def _show(self, f, value):
        if value is None or f.is_relation:
            return value  # linked rows are named for the whole page at once (name_links)
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
    department_lookup = "department"

    def object_label(self, row) -> str:
        return f"{_('work order')} #{row.id}"


class ReminderSource(HistorySource):
    key, rank, label = "reminder", 30, _("reminder (催办)")
    model_path, appeal_lookup, audit_target_type = "tasks.Reminder", "task__appeal_id", "tasks.reminder"
    department_lookup = "department"


class ApprovalSource(HistorySource):
    key, rank, label = "approval", 40, _("approval request")
    model_path, appeal_lookup, audit_target_type = (
        "authorization.ApprovalRequest", "appeal_id", "authorization.approvalrequest")
    department_lookup = "task__department"


class InstructionSource(HistorySource):
    key, rank, label = "instruction", 50, _("instruction (批示)")
    model_path, appeal_lookup, audit_target_type = "authorization.Instruction", "appeal_id", "authorization.instruction"
    department_lookup = "receipts__department"


class ReceiptSource(HistorySource):
    key, rank, label = "receipt", 55, _("instruction receipt")
    model_path, appeal_lookup, audit_target_type = (
        "authorization.InstructionReceipt", "instruction__appeal_id", "authorization.instructionreceipt")
    department_lookup = "department"


class ConsultationSource(HistorySource):
    key, rank, label = "consultation", 60, _("consultation (会商)")
    model_path, appeal_lookup, audit_target_type = (
        "authorization.Consultation", "appeal_id", "authorization.consultation")
    department_lookup = "invites__department"


class InviteSource(HistorySource):
    key, rank, label = "invite", 65, _("consultation invitation")
    model_path, appeal_lookup, audit_target_type = (
        "authorization.ConsultationInvite", "consultation__appeal_id", "authorization.consultationinvite")
    department_lookup = "department"


class SupervisionCaseSource(HistorySource):
    key, rank, label = "supervision", 70, _("supervision case")
    model_path, appeal_lookup, audit_target_type = (
        "supervision.SupervisionCase", "appeal_id", "supervision.supervisioncase")
    department_lookup = "department"


class VisitSource(HistorySource):
    key, rank, label = "visit", 75, _("return visit (回访)")
    model_path, appeal_lookup, audit_target_type = "followups.Visit", "appeal_id", "followups.visit"
    department_lookup = "department"

    def object_label(self, row) -> str:
        return f"{_('return visit')} #{row.id}"


class VisitAttemptSource(HistorySource):
    key, rank, label = "visit_attempt", 76, _("return-visit call")
    model_path, appeal_lookup, audit_target_type = (
        "followups.VisitAttempt", "visit__appeal_id", "followups.visitattempt")
    department_lookup = "visit__department"


_ROLE_LABELS = dict(User.Role.choices)
# Action-log keys that name a field under another name on the object concerned.
AUDIT_KEY_FIELDS = {"method": "contact_method", "route": "reject_route", "reassigned_to": "department"}
# Action-log keys of no business meaning to a reader (bookkeeping of the services).
# (The citizen's phone, even masked, stays out of every record shown: DESIGN §7.)
AUDIT_HIDDEN_KEYS = {"version", "phone"}


class AuditSource(Source):
    """Action-log entries about the appeal and the objects the other sources found (work
    orders, requests, ...): permission grants, reveals, misses and reminders are here."""

    key, rank, label = "audit", 100, _("action log")

    def _field_of(self, target_type: str, key: str):
        """The model field an action-log key records (for its label and choices), if any."""
        try:
            model = apps.get_model(target_type)
        except (LookupError, ValueError):
            return None
        name = AUDIT_KEY_FIELDS.get(key, key)
        try:
            return model._meta.get_field(name)
        except Exception:  # FieldDoesNotExist: a key of the log's own (e.g. "days")
            return None

    def _show(self, f, value):
        if f is not None and f.choices and isinstance(value, str):
            return str(dict(f.flatchoices).get(value, value))
        return value

    def _changes(self, e) -> list[Change]:
        if not isinstance(e.changes, dict):
            return []
        changes = []
        for name, value in e.changes.items():
            if name in AUDIT_HIDDEN_KEYS:
                continue
            f = self._field_of(e.target_type, name)
            label = str(f.verbose_name) if f is not None and not f.is_relation else str(
                AUDIT_KEY_LABELS.get(name, f.verbose_name if f is not None else name))
            if name in VALUE_LABELS:
                value = [VALUE_LABELS[name].get(v, v) for v in value] if isinstance(value, list) else (
                    VALUE_LABELS[name].get(value, value))
            link = (CODE_KEYS[name], "code") if name in CODE_KEYS else None
            if isinstance(value, list) and len(value) == 2 and name not in LIST_KEYS:
                changes.append(Change(name, label, self._show(f, value[0]), self._show(f, value[1]), link))
            elif value not in (None, "", [], {}):  # nothing recorded under that key: no line
                changes.append(Change(name, label, None, self._show(f, value), link))
        return changes

    def _entries(self, rows, appeal_id=None) -> list[Entry]:
        return [self._entry(e, appeal_id) for e in rows]

    def _entry(self, e, appeal_id=None) -> Entry:
        actor = e.actor
        return Entry(
            at=e.occurred_at, source=self.key, rank=self.rank, pk=e.pk, source_label=str(self.label),
            object_id=e.target_id, object_label=e.target_repr or e.target_type, kind=e.action,
            kind_label=action_label(e.action),
            actor_id=e.actor_id, actor_name=(actor.name or actor.username) if actor else e.actor_name,
            # The role at the time of the entry (kept by the log), in the reader's language.
            actor_role=str(_ROLE_LABELS.get(e.actor_role, e.actor_role)), reason=e.reason,
            actor_department=actor.department.name if actor and actor.department_id else "",
            changes=self._changes(e), appeal_id=appeal_id, target_type=e.target_type,
        )

    def _base(self):
        from apps.audit.models import AuditEvent

        return AuditEvent.objects.select_related("actor__department")

    def for_appeal(self, appeal_id: int, seen: dict[str, set]) -> list[Entry]:
        seen.setdefault("appeals.appeal", set()).add(str(appeal_id))
        q = Q()
        for target_type, ids in seen.items():
            if target_type and ids:
                q |= Q(target_type=target_type, target_id__in=sorted(ids))
        return self._entries(self._base().filter(q).order_by("seq"), appeal_id)

    def for_targets(self, targets: dict[str, Any], appeal_id: int) -> list[Entry]:
        """Entries about the given objects: {target type: ids or a subquery of ids as text}."""
        q = Q()
        for target_type, ids in targets.items():
            q |= Q(target_type=target_type, target_id__in=ids)
        return self._entries(self._base().filter(q).order_by("seq"), appeal_id)

    def page(self, query: Query, before, limit: int) -> list[Entry]:
        from apps.audit.models import AuditEvent

        if _use_lateral(AuditEvent, query):
            extra = ("t.action = %s", [query.action]) if query.action else None
            ids = _lateral_top(AuditEvent, user_col="actor_id", date_col="occurred_at", pk_col="id", query=query,
                               before=before, rank=self.rank, limit=limit, extra=extra)
            return self._entries(self._base().filter(pk__in=ids).order_by("-occurred_at", "-id"))
        qs = self._base()
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
        return self._entries(qs)

    def exists(self, pk: int) -> bool:
        from apps.audit.models import AuditEvent

        return AuditEvent.objects.filter(pk=pk).exists()


# Labels of the action log's own keys (not fields of the object concerned).
AUDIT_KEY_LABELS = {
    "days": _("working days"),
    "limit": _("limit"),
    "level": _("level"),
    "leaders": _("leaders"),
    "lead": _("lead department"),
    "co": _("co-handling departments"),
    "reassigned_to": _("reassigned to"),
    "attempt": _("attempt"),
    "attempts": _("attempts"),
    "round": _("round"),
    "kind": _("kind"),
    "due_at": _("due"),
    "late": _("late"),
    "appeal": _("appeal"),
    "task": _("work order"),
    "grantee": _("delegated to"),
    "scope": _("scope"),
    "departments": _("departments"),
    "suggested": _("the dispatch catalogue suggested"),
    "follows_rule": _("as the catalogue suggests"),
    "reopen_count": _("times reopened"),
}
# Keys holding codes of reference rows (shown by name).
CODE_KEYS = {
    **{key: "organization.Department" for key in
       ("department", "lead", "co", "suggested", "reassigned_to", "scope", "target_department")},
    "category": "appeals.Category",
    "area": "organization.Area",
}
# Codes of the log's own keys, in words.
VALUE_LABELS = {
    "limit": {"sign": _("sign-for limit"), "contact": _("contact limit"), "resolve": _("resolve limit")},
}
# Keys whose value is a list of names, never a [before, after] pair.
LIST_KEYS = {"leaders", "co", "departments", "attempts"}


_REGISTRY: dict[str, Source] = {}


def register(source: Source) -> Source:
    _REGISTRY[source.key] = source
    return source


def sources() -> list[Source]:
    """Registered sources, the action log last (it uses what the others found)."""
    return sorted(_REGISTRY.values(), key=lambda s: s.rank)


def get(key: str) -> Source | None:
    return _REGISTRY.get(key)


for _source in (
    AppealSource(), TaskSource(), ReminderSource(), ApprovalSource(), InstructionSource(), ReceiptSource(),
    ConsultationSource(), InviteSource(), SupervisionCaseSource(), VisitSource(), VisitAttemptSource(),
    AuditSource(),
):
    register(_source)
