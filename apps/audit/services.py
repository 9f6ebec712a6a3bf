"""Writing the action log. Every business service calls `record()` inside its transaction."""

from __future__ import annotations

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext

from apps.audit.chain import GENESIS, compute_hash
from apps.audit.models import AuditEvent
from apps.core.request_context import current_client_ip, current_request_id

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
    _lock_chain()
    last = AuditEvent.objects.order_by("-seq").values("seq", "hash").first()
    target_type, target_id, target_repr = _describe(target)
    actor_obj = actor if getattr(actor, "pk", None) else None
    event = AuditEvent(
        seq=(last["seq"] + 1) if last else 1,
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
        prev_hash=last["hash"] if last else GENESIS,
    )
    event.hash = compute_hash(event.prev_hash, event)
    event.save(force_insert=True)
    return event


def chain_check(*, actor, source: str):
    """Verify the whole chain; on a break write a ChainAlert and notify the audit admins.
    The verification itself is logged (outcome success or failure). Returns the report."""
    from apps.audit.chain import verify_chain
    from apps.audit.models import ChainAlert
    from apps.notifications.services import notify_role

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
                link="/admin/audit/chainalert/",
            )
    return report
