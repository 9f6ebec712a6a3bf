import re

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

# A path on this site: one slash, then URL characters only (RFC 3986) — no "//host",
# no backslash (browsers read "/\host" as "//host"), no scheme such as "javascript:".
_INTERNAL_PATH = re.compile(r"/(?![/\\])[A-Za-z0-9\-._~/?#\[\]@!$&'()*+,;=%]*")


class Notification(models.Model):
    """A message to one staff member, shown in their admin inbox."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recipient"), on_delete=models.PROTECT, related_name="notifications"
    )
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("message"), blank=True)
    link = models.CharField(_("link"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("sent at"), auto_now_add=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    # The outbox job that produced it: a redelivered job adds no second copy.
    source_job = models.UUIDField(_("source job"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at"]
        indexes = [
            # The inbox: my unread notifications, newest first.
            models.Index(fields=["recipient", "read_at", "-created_at"], name="notif_inbox_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["source_job", "recipient"], name="notif_one_per_job_and_recipient"),
        ]

    def __str__(self):
        # Shown in page titles, breadcrumbs and lists: a number quoted in the title masked.
        from apps.core.personal_data import mask_text

        return mask_text(self.title)

    @property
    def internal_link(self) -> str:
        """The link when it is a path on this site, else "": only such links are ever
        rendered as links or followed (producers write relative admin paths)."""
        return self.link if _INTERNAL_PATH.fullmatch(self.link or "") else ""
