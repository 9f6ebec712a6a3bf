"""Small input checks shared by every app's services."""

from django.utils.translation import gettext as _

from apps.core.exceptions import DomainError


def require_text(value: str | None, message: str | None = None) -> str:
    """The stripped text, or DomainError (shown to the user) when it is empty.

    Every decision and change in the product carries a reason: this is the one check.
    """
    value = (value or "").strip()
    if not value:
        raise DomainError(message or _("A reason is required."))
    return value
