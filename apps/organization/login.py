"""Strong login (MLPS 2.0 8.1.4.1): last-login bookkeeping, password history and expiry,
and the login throttle (per account and address, plus per address).

The second factor is in apps.organization.second_factor.
"""

from __future__ import annotations

from datetime import timedelta

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_failure_limit
from axes.models import AccessAttempt, AccessFailureLog
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import check_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpResponseRedirect
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from apps.audit.services import record
from apps.core.request_context import current_client_ip

# What of a typed user name the lockout keeps (the user model's own length).
USERNAME_KEPT = 150


def record_last_login(sender, user, **kwargs):
    """Set last_login without a history row (logins are recorded in the action log)."""
    user.last_login = timezone.now()
    user.skip_history_when_saving = True
    try:
        user.save(update_fields=["last_login"])
    finally:
        del user.skip_history_when_saving


# --- The client address -------------------------------------------------------------------


def client_address(request) -> str | None:
    """The client's address for the login throttle: the one RequestContextMiddleware read
    (X-Real-IP from nginx in production, REMOTE_ADDR otherwise), so that the throttle,
    the action log and the progress page's limits agree on who the client is."""
    return current_client_ip() or request.META.get("REMOTE_ADDR")


# --- Passwords: history and expiry --------------------------------------------------------


class PasswordHistoryValidator:
    """Refuses the current password and the ones before it, up to PASSWORD_HISTORY_COUNT in
    all; keeps their hashes when a password is set (Django calls password_changed)."""

    def _count(self) -> int:
        return settings.PASSWORD_HISTORY_COUNT

    def validate(self, password, user=None):
        if user is None or not getattr(user, "pk", None):
            return
        from apps.organization.models import PasswordHistory, User

        stored = User.objects.filter(pk=user.pk).values_list("password", flat=True).first()
        earlier = list(PasswordHistory.objects.filter(user_id=user.pk).values_list("password", flat=True))
        # The current password is the newest row, unless it was set before the history began.
        hashes = (earlier if stored in earlier or not stored else [stored, *earlier])[: self._count()]
        if any(check_password(password, h) for h in hashes):
            raise ValidationError(self.get_help_text(), code="password_reused")

    def password_changed(self, password, user=None):
        if user is None or not user.pk or not user.has_usable_password():
            return
        from apps.organization.models import PasswordHistory

        PasswordHistory.objects.create(user=user, password=user.password)
        # The current password is the newest row; keep as many as are compared.
        keep = PasswordHistory.objects.filter(user=user).values_list("pk", flat=True)[: self._count()]
        PasswordHistory.objects.filter(user=user).exclude(pk__in=list(keep)).delete()

    def get_help_text(self):
        n = self._count()
        return ngettext(
            "Your password must differ from your last password.",
            "Your password must differ from your last %(n)d passwords.",
            n,
        ) % {"n": n}


def password_expired(user) -> bool:
    """Whether `user` must change their password before working (PASSWORD_MAX_AGE_DAYS)."""
    days = settings.PASSWORD_MAX_AGE_DAYS
    if not days or not getattr(user, "is_authenticated", False) or not user.has_usable_password():
        return False
    changed = user.password_changed_at
    return changed is None or timezone.now() - changed > timedelta(days=days)


class PasswordExpiryMiddleware:
    """An expired password sends every admin page to the change-password page (a redirect
    with a message, not a 403), once the login, second factor included, is complete."""

    # Pages an expired password may still open: the change itself, and the way out.
    ALLOWED = ("admin:password_change", "admin:password_change_done", "admin:logout", "admin:login", "admin:jsi18n")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and password_expired(user) and self._login_complete(request) and self._guarded(request):
            messages.warning(
                request,
                _("Your password is more than %(days)d days old. Choose a new one to go on working.")
                % {"days": settings.PASSWORD_MAX_AGE_DAYS},
            )
            return HttpResponseRedirect(reverse("admin:password_change"))
        return self.get_response(request)

    def _guarded(self, request) -> bool:
        try:
            admin_root, login_root = reverse("admin:index"), reverse("admin:login")
            allowed = {reverse(name) for name in self.ALLOWED}
        except NoReverseMatch:  # a URL conf without the admin (some tests)
            return False
        path = request.path
        return path.startswith(admin_root) and path not in allowed and not path.startswith(login_root)

    @staticmethod
    def _login_complete(request) -> bool:
        from apps.organization.second_factor import second_factor_done

        return second_factor_done(request)


@transaction.atomic
def password_change_own(*, user, password: str):
    """A staff member changes their own password (validated by the form; history kept by
    the validator); recorded in the action log."""
    user.set_password(password)
    user.save(update_fields=["password"])
    record(actor=user, action="auth.password_changed", target=user)
    return user


# --- The throttle -------------------------------------------------------------------------


class LoginThrottle(AxesDatabaseHandler):
    """django-axes' database handler with two limits:

    - per account and address (AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]):
      AXES_FAILURE_LIMIT failures lock that account on that address only, so an attacker
      elsewhere cannot lock the administrator out;
    - per address over all accounts: LOGIN_ADDRESS_FAILURE_LIMIT failures within
      LOGIN_ADDRESS_WINDOW (counted in axes' failure log) lock the address for every account,
      so one address cannot guess across accounts without limit.

    A user who needs a second factor has their failures reset only once the code is right
    (not after the password), so that a new password entry does not buy new code guesses.
    """

    def address_failures(self, request) -> int:
        since = timezone.now() - settings.LOGIN_ADDRESS_WINDOW
        # Every failure counts, those while locked too: the lock lasts until the address's
        # last window holds fewer than the limit.
        logged = AccessFailureLog.objects.filter(ip_address=request.axes_ip_address, attempt_time__gte=since).count()
        # While a failure is being recorded, axes writes its log row after counting: count it
        # now, so that the failure that reaches the limit is the one that locks (as per account).
        return logged + (1 if getattr(request, "axes_recording_failure", False) else 0)

    def user_login_failed(self, sender, credentials, request=None, **kwargs):
        # Django's login form does not enforce the user name's length before authenticating,
        # and axes stores what was typed in a 255-character column: a longer guess would
        # fail the insert (a 500 on PostgreSQL). No account has a longer name anyway.
        username_field = get_user_model().USERNAME_FIELD
        typed = credentials.get(username_field)
        if isinstance(typed, str) and len(typed) > USERNAME_KEPT:
            credentials = {**credentials, username_field: typed[:USERNAME_KEPT]}
        if request is not None:
            request.axes_recording_failure = True
        try:
            return super().user_login_failed(sender, credentials, request, **kwargs)
        finally:
            if request is not None:
                request.axes_recording_failure = False

    def get_failures(self, request, credentials=None) -> int:
        pair = super().get_failures(request, credentials)
        if self.address_failures(request) >= settings.LOGIN_ADDRESS_FAILURE_LIMIT:
            request.axes_lock_scope = "address"
            return max(pair, get_failure_limit(request, credentials))
        request.axes_lock_scope = "account"
        return pair

    def user_logged_in(self, sender, request, user, **kwargs):
        from apps.organization.second_factor import requires_second_factor

        if requires_second_factor(user):
            return  # reset by second_factor_passed
        super().user_logged_in(sender, request, user, **kwargs)

    def reset_user_attempts(self, request, credentials=None) -> int:
        # Only this account on this address: a success must not wipe others' failures.
        username = get_client_username(request, credentials)
        count, _ = AccessAttempt.objects.filter(username=username, ip_address=request.axes_ip_address).delete()
        return count


def second_factor_passed(request, user) -> None:
    """The login is complete: forget this account's failures on this address."""
    from axes.handlers.proxy import AxesProxyHandler

    AxesProxyHandler.update_request(request)
    AccessAttempt.objects.filter(username=user.get_username(), ip_address=request.axes_ip_address).delete()


def is_locked(request, username: str) -> bool:
    from axes.handlers.proxy import AxesProxyHandler

    return AxesProxyHandler.is_locked(request, {"username": username})
