"""The transactional outbox: enqueue jobs with the change, publish them after commit.

Services never call Celery. `enqueue()` writes a row in the caller's transaction and asks
for a publish right after commit; if the broker is down that publish fails quietly, the
row stays pending, and the periodic relay publishes it once the broker is back.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.outbox.models import OutboxMessage

logger = logging.getLogger(__name__)

_MAX_BACKOFF = timedelta(minutes=5)


def enqueue(task_name: str, **payload) -> OutboxMessage:
    """Write a job in the current transaction; it is published only if the transaction commits."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("outbox.enqueue() must run inside the transaction of the change that causes the job.")
    message = OutboxMessage.objects.create(task_name=task_name, payload=payload)
    if settings.OUTBOX_PUBLISH_ON_COMMIT:
        transaction.on_commit(lambda: publish(message.id))
    return message


def celery_app():
    from backoffice.celery import app

    return app


def _send(message: OutboxMessage) -> None:
    app = celery_app()
    if app.conf.task_always_eager:
        # Development/test mode without a broker: run the consumer in-process.
        app.tasks[message.task_name].apply(kwargs=message.payload, task_id=str(message.id))
        return
    # retry=False: fail fast when the broker is down; the relay retries later.
    app.send_task(message.task_name, kwargs=message.payload, task_id=str(message.id), retry=False)


def publish(message_id: uuid.UUID) -> bool:
    """Publish one pending job. Never raises: a failure leaves it pending with a backoff."""
    try:
        with transaction.atomic():
            message = (
                OutboxMessage.objects.select_for_update(skip_locked=True)
                .filter(pk=message_id, status=OutboxMessage.Status.PENDING)
                .first()
            )
            if message is None:  # already published, or another relay holds it
                return False
            return _publish_locked(message)
    except Exception:  # the database itself failed; the relay will retry
        logger.exception("Outbox publish of %s failed", message_id)
        return False


def _publish_locked(message: OutboxMessage) -> bool:
    message.attempts += 1
    try:
        _send(message)
    except Exception as exc:  # broker down or refusing: keep the job, back off
        backoff = min(timedelta(seconds=2 ** min(message.attempts, 10)), _MAX_BACKOFF)
        message.available_at = timezone.now() + backoff
        message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        message.save(update_fields=["attempts", "available_at", "last_error"])
        logger.warning("Outbox job %s (%s) not published: %s", message.id, message.task_name, message.last_error)
        return False
    message.status = OutboxMessage.Status.SENT
    message.sent_at = timezone.now()
    message.last_error = ""
    message.save(update_fields=["attempts", "status", "sent_at", "last_error"])
    return True


@dataclass
class RelayResult:
    published: int = 0
    failed: int = 0


def relay_pending(*, limit: int = 500) -> RelayResult:
    """Publish pending jobs that are due, oldest first. Stops at the first broker failure
    (the broker is most likely down; hammering it helps nobody)."""
    result = RelayResult()
    now = timezone.now()
    ids = list(
        OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING, available_at__lte=now)
        .order_by("available_at", "created_at")
        .values_list("id", flat=True)[:limit]
    )
    for message_id in ids:
        if publish(message_id):
            result.published += 1
        else:
            still_pending = OutboxMessage.objects.filter(pk=message_id, status=OutboxMessage.Status.PENDING).exists()
            if still_pending:
                result.failed += 1
                break
    return result
