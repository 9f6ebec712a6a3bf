import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class OutboxMessage(models.Model):
    """A job caused by a business change, written in the same transaction as the change.

    The relay publishes it to Celery with task_id = this id; consumers record the id in
    ProcessedMessage, so a job published twice runs once.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("waiting to be published")
        SENT = "sent", _("published")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    task_name = models.CharField(_("job"), max_length=200)
    payload = models.JSONField(_("arguments"), default=dict)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    available_at = models.DateTimeField(_("next attempt at"), default=timezone.now)
    sent_at = models.DateTimeField(_("published at"), null=True, blank=True)
    attempts = models.PositiveIntegerField(_("publish attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        verbose_name = _("outbox job")
        verbose_name_plural = _("outbox jobs")
        ordering = ["-created_at"]
        indexes = [
            # The relay's query: pending jobs due now, oldest first. Partial, so it stays
            # as small as the backlog however many jobs were ever sent.
            models.Index(
                fields=["available_at", "created_at"],
                name="outbox_pending_due_idx",
                condition=models.Q(status="pending"),
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=["pending", "sent"]), name="outbox_status_valid"),
        ]

    def __str__(self):
        return f"{self.task_name} {self.id}"


class ProcessedMessage(models.Model):
    """Ids of outbox jobs a consumer has already handled (deduplication)."""

    message_id = models.UUIDField(primary_key=True)
    task_name = models.CharField(max_length=200)
    processed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("processed job")
        verbose_name_plural = _("processed jobs")

    def __str__(self):
        return f"{self.task_name} {self.message_id}"
