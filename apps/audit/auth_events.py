"""Security events go to the action log (MLPS 8.1.4.3a): login, logout, a wrong password,
a wrong second-factor code, a lockout (of an account on an address, or of an address).
The right code, the enrolment of a device and a password change are recorded by the
services that do them (apps.organization.second_factor, apps.organization.login)."""

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
def _login_failed(sender, credentials, request=None, second_factor=False, **kwargs):
    with transaction.atomic():
        record(
            actor=None,
            # A wrong code comes after the right password: worth telling apart.
            action="auth.second_factor_failed" if second_factor else "auth.login_failed",
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
            # "account": this account on this address; "address": this address for every
            # account (apps.organization.login.LoginThrottle).
            changes={
                "username": str(username or "")[:150],
                "address": str(ip_address or "")[:64],
                "scope": getattr(request, "axes_lock_scope", "account"),
            },
        )
