"""How times read on every page, export and message: the city's time zone, one format.

Also the countdown beside a time limit's light ("还剩 5 小时", "已超期 2 天").
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

MINUTE_FORMAT = "%Y-%m-%d %H:%M"
SECOND_FORMAT = "%Y-%m-%d %H:%M:%S"  # exports, where the order of entries within a minute matters
DAY_FORMAT = "%Y-%m-%d"


def local_minute(value: dt.datetime | None) -> str:
    """"2026-11-30 14:05" in the city's time zone; "" for no time."""
    if value is None:
        return ""
    return timezone.localtime(value).strftime(MINUTE_FORMAT) if timezone.is_aware(value) else value.strftime(
        MINUTE_FORMAT
    )


def local_second(value: dt.datetime) -> str:
    return timezone.localtime(value).strftime(SECOND_FORMAT)


def local_day(value: dt.datetime | dt.date | None) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value) if timezone.is_aware(value) else value
    return value.strftime(DAY_FORMAT)


def _span(delta: dt.timedelta) -> str:
    """The largest whole unit of a span: days from two days up, then hours, then minutes."""
    seconds = int(abs(delta.total_seconds()))
    days, hours, minutes = seconds // 86400, seconds // 3600, max(1, seconds // 60)
    if days >= 2:
        return ngettext("%(n)d day", "%(n)d days", days) % {"n": days}
    if hours >= 1:
        return ngettext("%(n)d hour", "%(n)d hours", hours) % {"n": hours}
    return ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes}


def countdown(due: dt.datetime | None, *, done: dt.datetime | None = None, now: dt.datetime | None = None) -> str:
    """What is left of a limit, or by how much it was missed (also when done late)."""
    if due is None:
        return ""
    if done is not None:
        if done <= due:
            return _("met")
        return _("met %(span)s late") % {"span": _span(done - due)}
    now = now or timezone.now()
    if now <= due:
        return _("%(span)s left") % {"span": _span(due - now)}
    return _("overdue by %(span)s") % {"span": _span(now - due)}
