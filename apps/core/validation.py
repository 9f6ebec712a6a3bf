"""Small input checks shared by every app's services."""

from django.utils.translation import gettext as _

from apps.core.exceptions import DomainError
from apps.core.text_limits import SHORT_TEXT


def limit_text(value: str | None, *, limit: int = SHORT_TEXT) -> str:
    """The stripped text (possibly empty), or DomainError when it is longer than `limit`
    (apps.core.text_limits: SHORT_TEXT for reasons and notes, LONG_TEXT for contents)."""
    value = (value or "").strip()
    if len(value) > limit:
        raise DomainError(
            _("The text is too long: %(length)d characters, at most %(limit)d are allowed.")
            % {"length": len(value), "limit": limit}
        )
    return value


def require_text(value: str | None, message: str | None = None, *, limit: int = SHORT_TEXT) -> str:
    """The stripped text, or DomainError (shown to the user) when it is empty or longer
    than `limit`.

    Every decision and change in the product carries a reason: this is the one check.
    """
    value = limit_text(value, limit=limit)
    if not value:
        raise DomainError(message or _("A reason is required."))
    return value
