"""Idempotent Celery consumers for outbox jobs."""

from __future__ import annotations

import functools
import logging
import uuid

from celery import shared_task
from django.db import IntegrityError, transaction

from apps.outbox.models import ProcessedMessage

logger = logging.getLogger(__name__)


def outbox_consumer(name: str, **task_options):
    """Register `func(**payload)` as the Celery task `name`, run at most once per job.

    The job id (the Celery task id, set by the relay) is recorded in ProcessedMessage in
    the same transaction as the handler's writes: a redelivered job finds it and does
    nothing, and a handler that fails leaves no mark, so the retry runs it again.
    """

    def decorator(func):
        @shared_task(name=name, bind=True, **task_options)
        @functools.wraps(func)
        def task(self, **payload):
            message_id = self.request.id
            try:
                message_uuid = uuid.UUID(str(message_id))
            except (TypeError, ValueError):
                message_uuid = None  # called directly (tests, shell): no deduplication
            with transaction.atomic():
                if message_uuid is not None:
                    try:
                        with transaction.atomic():
                            ProcessedMessage.objects.create(message_id=message_uuid, task_name=name)
                    except IntegrityError:
                        logger.info("Job %s (%s) already handled; ignored.", message_id, name)
                        return "duplicate"
                func(**payload)
            return "done"

        return task

    return decorator
