"""Security events (login, logout, failed login, lockout) go to the action log (MLPS 8.1.4.3a)."""

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db import transaction
from django.dispatch import receiver

from apps.audit.models import AuditEvent
from apps.audit.services import record


@receiver(user_logged_in, dispatch_uid="audit_login")
def _logged_in(sender, request, user, **kwargs):
    with transaction.atomic():
        record(actor=user, action="auth.login", target=user)


@receiver(user_logged_out, dispatch_uid="audit_logout")
def _logged_out(sender, request, user, **kwargs):
    if user is not None:
        with transaction.atomic():
            record(actor=user, action="auth.logout", target=user)


@receiver(user_login_failed, dispatch_uid="audit_login_failed")
def _login_failed(sender, credentials, request=None, **kwargs):
    with transaction.atomic():
        record(
            actor=None,
            action="auth.login_failed",
            outcome=AuditEvent.Outcome.FAILURE,
            changes={"username": str(credentials.get("username", ""))[:150]},
        )


@receiver(user_locked_out, dispatch_uid="audit_locked_out")
def _locked_out(sender, request, username, ip_address, **kwargs):
    with transaction.atomic():
        record(
            actor=None,
            action="auth.locked_out",
            outcome=AuditEvent.Outcome.FAILURE,
            changes={"username": str(username or "")[:150]},
        )
