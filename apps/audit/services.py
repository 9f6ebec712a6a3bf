"""Writing the action log. Every business service calls `record()` inside its transaction."""

from __future__ import annotations

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from apps.audit.chain import GENESIS, compute_hash, verify_chain
from apps.audit.models import AuditEvent, ChainAlert
from apps.core.request_context import current_client_ip, current_request_id
from apps.notifications.services import notify_role

# Any constant: the key of the PostgreSQL advisory lock that serialises chain appends.
_CHAIN_LOCK_KEY = 7_345_120_001


def _lock_chain() -> None:
    """Serialise appends so each entry sees the previous hash.

    PostgreSQL: a transaction-scoped advisory lock, released at commit. SQLite: the
    connection already holds the database write lock (transaction_mode=IMMEDIATE).
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK_KEY])


class _ChainHead:
    """The last entry this transaction appended, so the next `record()` in the same
    transaction needs neither the lock (already held until commit) nor a read of the head.

    It is registered as an on-commit callback and counts as valid only while it is still in
    the connection's pending on-commit list: Django empties that list at commit and
    rollback, and drops the callbacks of a rolled-back savepoint, which is exactly when the
    head it remembers may no longer be the chain's head. Run at commit, it forgets itself.
    """

    __slots__ = ("seq", "hash", "connection")

    def __init__(self, seq: int, hash: str, connection) -> None:
        self.seq, self.hash, self.connection = seq, hash, connection

    def __call__(self) -> None:
        if getattr(self.connection, "xlx_chain_head", None) is self:
            self.connection.xlx_chain_head = None

    def is_live(self) -> bool:
        # Newest first: the marker was registered by the latest record(), a few callbacks back.
        return any(callback is self for _sids, callback, _robust in reversed(self.connection.run_on_commit))


def _chain_head() -> tuple[int, str] | None:
    """(seq, hash) of the chain's last entry, with the chain locked for this transaction."""
    conn = transaction.get_connection()
    head = getattr(conn, "xlx_chain_head", None)
    if head is not None and head.is_live():
        return head.seq, head.hash
    _lock_chain()
    last = AuditEvent.objects.order_by("-seq").values_list("seq", "hash").first()
    return tuple(last) if last else None


def _remember_head(event: AuditEvent) -> None:
    # A new marker per entry (not the old one updated in place): an entry written inside a
    # savepoint that rolls back must take its marker with it, leaving no valid head.
    conn = transaction.get_connection()
    conn.xlx_chain_head = _ChainHead(event.seq, event.hash, conn)
    transaction.on_commit(conn.xlx_chain_head)


def forget_chain_head() -> None:
    """For code that appends to the chain without `record()` (the city generator's bulk
    writer): the next `record()` in this transaction must read the head again."""
    transaction.get_connection().xlx_chain_head = None


def _describe(target) -> tuple[str, str, str]:
    if target is None:
        return "", "", ""
    meta = target._meta
    return f"{meta.app_label}.{meta.model_name}", str(target.pk), str(target)[:200]


def _plain(changes: dict[str, Any] | None) -> dict:
    # Round-trip through JSON now, so the hash is computed over exactly what is stored.
    return json.loads(json.dumps(changes or {}, cls=DjangoJSONEncoder, ensure_ascii=False))


def record(
    *,
    actor,
    action: str,
    target=None,
    reason: str = "",
    changes: dict[str, Any] | None = None,
    outcome: str = AuditEvent.Outcome.SUCCESS,
) -> AuditEvent:
    """Append one entry to the action log, inside the caller's transaction.

    Must run in the same transaction as the change it records: if the change rolls back,
    so does the entry, and if the entry cannot be written the change fails (fail closed).
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit.record() must run inside the transaction of the change it records.")
    last = _chain_head()
    target_type, target_id, target_repr = _describe(target)
    actor_obj = actor if getattr(actor, "pk", None) else None
    event = AuditEvent(
        seq=(last[0] + 1) if last else 1,
        occurred_at=timezone.now(),
        actor=actor_obj,
        actor_name=(actor_obj.get_username() if actor_obj else ""),
        actor_role=(getattr(actor_obj, "role", "") or "") if actor_obj else "",
        action=action,
        outcome=outcome,
        target_type=target_type,
        target_id=target_id,
        target_repr=target_repr,
        reason=reason or "",
        changes=_plain(changes),
        request_id=current_request_id(),
        ip_address=current_client_ip(),
        prev_hash=last[1] if last else GENESIS,
    )
    event.hash = compute_hash(event.prev_hash, event)
    event.save(force_insert=True)
    _remember_head(event)
    return event


def chain_check(*, actor, source: str):
    """Verify the whole chain; on a break write a ChainAlert and notify the audit admins.
    The verification itself is logged (outcome success or failure). Returns the report."""
    report = verify_chain()
    with transaction.atomic():
        record(
            actor=actor,
            action="audit.chain_verified",
            outcome=AuditEvent.Outcome.SUCCESS if report.ok else AuditEvent.Outcome.FAILURE,
            changes={"checked": report.checked, "broken_seq": report.broken_seq, "problem": report.problem,
                     "source": source},
        )
        if not report.ok:
            ChainAlert.objects.create(
                detected_at=timezone.now(), checked=report.checked, broken_seq=report.broken_seq,
                problem=report.problem[:200],
            )
            notify_role(
                role="audit_admin",
                title=gettext("Action log broken at entry #%(seq)d") % {"seq": report.broken_seq},
                body=report.problem,
                link=reverse("admin:audit_chainalert_changelist"),
            )
    return report
