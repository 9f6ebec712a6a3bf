"""The hash chain over the action log.

hash(n) = SHA-256(prev_hash(n) || canonical JSON of entry n), with prev_hash(1) = 64 zeros.
`seq` is assigned under a lock, gap-free, so a deleted row shows as a gap and a reordered
or edited row as a mismatch.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass

GENESIS = "0" * 64


def canonical_payload(event) -> bytes:
    """The fields the hash covers, as stable JSON (sorted keys, no whitespace, UTC time)."""
    occurred = event.occurred_at
    payload = {
        "seq": event.seq,
        "occurred_at": occurred.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "actor_id": event.actor_id,
        "actor_name": event.actor_name,
        "actor_role": event.actor_role,
        "action": event.action,
        "outcome": event.outcome,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "target_repr": event.target_repr,
        "reason": event.reason,
        "changes": event.changes,
        "request_id": event.request_id,
        "ip_address": event.ip_address,
    }
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def compute_hash(prev_hash: str, event) -> str:
    return hashlib.sha256(prev_hash.encode() + canonical_payload(event)).hexdigest()


def _utc():
    import datetime as dt

    return dt.UTC


@dataclass
class ChainReport:
    checked: int
    broken_seq: int | None = None
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_seq is None


def verify_chain(*, batch_size: int = 5000) -> ChainReport:
    """Walk the whole log in seq order and report the first broken link."""
    from apps.audit.models import AuditEvent

    expected_prev = GENESIS
    expected_seq = 1
    checked = 0
    for event in AuditEvent.objects.order_by("seq").iterator(chunk_size=batch_size):
        if event.seq != expected_seq:
            return ChainReport(checked, event.seq, f"missing entries: expected #{expected_seq}, found #{event.seq}")
        if event.prev_hash != expected_prev:
            return ChainReport(checked, event.seq, "previous-hash link does not match the entry before it")
        if compute_hash(event.prev_hash, event) != event.hash:
            return ChainReport(checked, event.seq, "content does not match its hash (entry altered)")
        expected_prev = event.hash
        expected_seq += 1
        checked += 1
    return ChainReport(checked)
