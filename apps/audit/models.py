from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.core.exceptions import AuditBypassError


class AuditEventQuerySet(models.QuerySet):
    """The action log is append-only: no bulk update or delete through the ORM."""

    def update(self, **kwargs):
        raise AuditBypassError("The action log is append-only.")

    def delete(self):
        raise AuditBypassError("The action log is append-only.")

    update.queryset_only = True
    delete.queryset_only = True


class AuditEvent(models.Model):
    """One business or security action: who, in which role, did what to which object,
    why, when, from which request. Hash-chained: `hash` covers `prev_hash`, so an edited,
    deleted or reordered row breaks the chain (see apps.audit.chain)."""

    class Outcome(models.TextChoices):
        SUCCESS = "success", _("success")
        FAILURE = "failure", _("failure")

    seq = models.PositiveBigIntegerField(_("sequence"), unique=True, editable=False)
    occurred_at = models.DateTimeField(_("time"), editable=False)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    actor_name = models.CharField(_("actor name"), max_length=150, blank=True)
    actor_role = models.CharField(_("role"), max_length=32, blank=True)
    action = models.CharField(_("action"), max_length=64)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices, default=Outcome.SUCCESS)
    target_type = models.CharField(_("target type"), max_length=100, blank=True)
    target_id = models.CharField(_("target id"), max_length=64, blank=True)
    target_repr = models.CharField(_("target"), max_length=200, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    changes = models.JSONField(_("before / after"), default=dict, blank=True)
    request_id = models.CharField(_("request id"), max_length=64, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    prev_hash = models.CharField(_("previous hash"), max_length=64)
    hash = models.CharField(_("hash"), max_length=64, unique=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("action log entry")
        verbose_name_plural = _("action log")
        ordering = ["-seq"]
        permissions = [("verify_auditevent", _("Can verify the action log's hash chain"))]
        indexes = [
            # Inspectors: "everything that happened to this object", newest first.
            models.Index(fields=["target_type", "target_id", "-seq"], name="audit_event_target_idx"),
            # Inspectors: "what did this person do in this period".
            models.Index(fields=["actor", "-occurred_at"], name="audit_event_actor_time_idx"),
            # Filter by action kind over a period.
            models.Index(fields=["action", "-occurred_at"], name="audit_event_action_time_idx"),
            # The failures, newest first (few among millions: a filter matching none must
            # not scan the log to count and sort it).
            models.Index(fields=["-seq"], name="audit_event_failure_idx", condition=models.Q(outcome="failure")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(outcome__in=["success", "failure"]), name="audit_event_outcome_valid"
            ),
        ]

    def __str__(self):
        return f"#{self.seq} {self.action} {self.target_repr}".strip()

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AuditBypassError("Action-log entries cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AuditBypassError("Action-log entries cannot be deleted.")


class ChainAlert(models.Model):
    """A break found in the action log's hash chain (nightly or on-demand verification).

    Written by apps.audit.services.chain_check; the audit admin role is notified. Never
    edited: a later verification that passes is its own entry in the action log."""

    detected_at = models.DateTimeField(_("detected at"))
    checked = models.PositiveBigIntegerField(_("entries verified before the break"))
    broken_seq = models.PositiveBigIntegerField(_("first broken entry"))
    problem = models.CharField(_("problem"), max_length=200)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("chain alert")
        verbose_name_plural = _("chain alerts")
        ordering = ["-detected_at"]

    def __str__(self):
        return f"#{self.broken_seq} {self.problem}"
