"""Action-log entries for generated history, hash-chained like apps.audit.services.record().

The generator knows an appeal's whole life when it makes it (a reply three days later, a
reminder next Monday), but the log must be in time order like a real one. Entries wait
until the generator has moved past their time (`take_until`), then get the next `seq`,
the previous hash and their own hash (apps.audit.chain.compute_hash), in time order. The
chain continues from the last entry in the table when the ActionLog is created; the
caller writes the rows in the order given, before anyone else appends (the generator
holds the chain's lock).
"""

from __future__ import annotations

import datetime as dt
import itertools
from operator import itemgetter

from django.db import connection

from apps.audit.chain import GENESIS, compute_hash
from apps.audit.models import AuditEvent
from apps.audit.services import forget_chain_head

_UTC = dt.UTC
_SUCCESS = AuditEvent.Outcome.SUCCESS.value


def json_time(value: dt.datetime) -> str:
    """A datetime as DjangoJSONEncoder writes it (what record() stores after its round trip)."""
    text = value.isoformat()
    if value.microsecond:
        text = text[:23] + text[26:]
    if text.endswith("+00:00"):
        text = text.removesuffix("+00:00") + "Z"
    return text


class Entry:
    """The fields compute_hash reads, without the cost of a model instance (millions of them)."""

    __slots__ = ("seq", "occurred_at", "actor_id", "actor_name", "actor_role", "action", "outcome",
                 "target_type", "target_id", "target_repr", "reason", "changes", "request_id", "ip_address")

    def __init__(self, occurred_at, actor, action, target_type, target_id, target_repr, reason, changes):
        self.seq = 0
        self.occurred_at = occurred_at
        self.actor_id, self.actor_name, self.actor_role = actor
        self.action = action
        self.outcome = _SUCCESS
        self.target_type = target_type
        self.target_id = target_id
        self.target_repr = target_repr
        self.reason = reason
        self.changes = changes
        self.request_id = ""
        self.ip_address = None


class ActionLog:
    """Collects entries out of order, writes them chained and in time order."""

    def __init__(self):
        self._pending: list = []
        self._tie = itertools.count()
        last = AuditEvent.objects.order_by("-seq").values("seq", "hash").first()
        self.seq = last["seq"] if last else 0
        self.prev_hash = last["hash"] if last else GENESIS

    def __len__(self) -> int:
        return len(self._pending)

    def add(self, occurred_at: dt.datetime, actor: tuple, action: str, target: tuple, *, reason: str = "",
            changes: dict | None = None) -> None:
        """`actor` = (id, username, role); `target` = (type, id, repr). `changes` must be plain
        JSON already (use json_time for datetimes)."""
        entry = Entry(occurred_at, actor, action, target[0], str(target[1]), target[2][:200], reason or "",
                      changes or {})
        self._pending.append((occurred_at, next(self._tie), entry))

    def take_until(self, moment: dt.datetime | None) -> list[dict]:
        """Chain every entry up to `moment` (all of them when None): their rows, in order."""
        if moment is None:
            ready, self._pending = self._pending, []
        else:
            ready = [p for p in self._pending if p[0] <= moment]
            self._pending = [p for p in self._pending if p[0] > moment]
        ready.sort(key=itemgetter(0, 1))
        if ready:
            # These rows go in behind record()'s back: it must not reuse a head it remembers.
            forget_chain_head()
        rows = []
        for _at, _tie, entry in ready:
            self.seq += 1
            entry.seq = self.seq
            digest = compute_hash(self.prev_hash, entry)
            rows.append({
                "seq": entry.seq, "occurred_at": entry.occurred_at, "actor_id": entry.actor_id,
                "actor_name": entry.actor_name, "actor_role": entry.actor_role, "action": entry.action,
                "outcome": entry.outcome, "target_type": entry.target_type, "target_id": entry.target_id,
                "target_repr": entry.target_repr, "reason": entry.reason, "changes": entry.changes,
                "request_id": "", "ip_address": None, "prev_hash": self.prev_hash, "hash": digest,
            })
            self.prev_hash = digest
        return rows


def chain_lock_key() -> int:
    from apps.audit import services

    return services._CHAIN_LOCK_KEY


class hold_chain_lock:
    """Hold the action log's append lock for the whole run (PostgreSQL), so a real
    record() in another process waits instead of forking the chain. Session-level: the
    generator commits batch by batch."""

    def __enter__(self):
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_lock(%s)", [chain_lock_key()])
        return self

    def __exit__(self, *exc):
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [chain_lock_key()])
        return False
