"""The second factor (TOTP, django-otp) for the roles that decide, inspect or administer
(MLPS 2.0 8.1.4.1d: two or more factors for administrators and privileged users).

Who needs it is decided here and nowhere else: `SECOND_FACTOR_ROLES` and
`requires_second_factor`. The admin site (backoffice/admin_site.py) refuses those users
until their session has passed the code; the pages that ask for it are there too.
"""

from __future__ import annotations

from base64 import b32encode

from django.db import transaction
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.audit.services import record

# Leaders, inspectors and the administrators. "security_admin" is listed so that a
# security-administration role, when User.Role gains one, needs the second factor from
# its first day.
SECOND_FACTOR_ROLES = frozenset(
    {"dept_leader", "city_leader", "inspector", "system_admin", "audit_admin", "security_admin"}
)
DEVICE_NAME = "TOTP"


def requires_second_factor(user) -> bool:
    """Whether `user` must pass a TOTP code after the password (superusers always)."""
    if not getattr(user, "is_authenticated", False):
        return False
    return getattr(user, "role", "") in SECOND_FACTOR_ROLES or bool(getattr(user, "is_superuser", False))


def is_verified(request) -> bool:
    """Whether this session passed the second factor (django-otp's OTPMiddleware)."""
    user = getattr(request, "user", None)
    check = getattr(user, "is_verified", None)
    return bool(check and check())


def second_factor_done(request) -> bool:
    """The login is complete: the password, and the code where the role needs one."""
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated) and (
        not requires_second_factor(user) or is_verified(request)
    )


def confirmed_device(user) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


@transaction.atomic
def pending_device(user) -> TOTPDevice:
    """The device being enrolled: an unconfirmed one, made on first need with a fresh
    random key; shown until a first code confirms it."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)
    return device


def secret_of(device: TOTPDevice) -> str:
    """The key in base32, grouped by four, as an authenticator app asks to type it."""
    text = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


def qr_svg(device: TOTPDevice) -> str:
    """The otpauth:// URL as an inline SVG QR code, drawn here (no image service)."""
    import io

    import segno

    out = io.BytesIO()
    segno.make(device.config_url, error="m").save(out, kind="svg", scale=5, xmldecl=False, svgns=True, nl=False)
    return out.getvalue().decode()


def _clean(code: str) -> str:
    return "".join(ch for ch in str(code or "") if ch.isdigit())


def verify(request, user, device: TOTPDevice, code: str, *, enrolling: bool) -> bool:
    """Check a code; a right one completes the login (and confirms an enrolling device), a
    wrong one counts toward the lockout like a wrong password. Both are in the action log.
    django-otp refuses a code already used (its time step must be later than the last)."""
    from django.contrib.auth.signals import user_login_failed

    from apps.organization.login import second_factor_passed

    code = _clean(code)
    with transaction.atomic():
        ok = bool(code) and device.verify_token(code)
        if ok:
            if enrolling:
                device.confirmed = True
                device.save(update_fields=["confirmed"])
                # Only one device: any other unconfirmed one is dropped.
                TOTPDevice.objects.filter(user=user, confirmed=False).exclude(pk=device.pk).delete()
                record(actor=user, action="auth.second_factor_enrolled", target=user)
            otp_login(request, device)
            record(actor=user, action="auth.second_factor_passed", target=user)
    if ok:
        second_factor_passed(request, user)
        return True
    # The same signal as a wrong password: axes counts it (per account and address, and
    # per address), and the action log records it as a wrong code (apps.audit.auth_events).
    user_login_failed.send(
        sender=__name__, credentials={"username": user.get_username()}, request=request, second_factor=True
    )
    return False


def forget(request) -> None:
    request.session.pop(DEVICE_ID_SESSION_KEY, None)


__all__ = [
    "SECOND_FACTOR_ROLES",
    "confirmed_device",
    "is_verified",
    "pending_device",
    "qr_svg",
    "requires_second_factor",
    "second_factor_done",
    "verify",
]
