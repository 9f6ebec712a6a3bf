"""China's official working-day calendar: add working days or working hours to an instant.

A day is a working day when it is Monday-Friday and not a public holiday, or when it is a
make-up working day (调休). Exceptions live in CalendarDay; CalendarYear says whether a
year's schedule is complete. A year without a published schedule falls back to plain
Monday-Friday (the State Council publishes each next year's schedule around November), so
a deadline running into such a year never crashes; the admin warns until it is entered.

The exceptions of a year are cached in the process for a short time: the SLA sweep and
intake compute many deadlines, and the table changes a few times a year.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

logger = logging.getLogger(__name__)

_CACHE_SECONDS = 300
_MAX_SCAN_DAYS = 3660  # ten years: guards a loop against a calendar with no working day


@dataclass(frozen=True)
class _YearSchedule:
    published: bool
    holidays: frozenset[dt.date]
    workdays: frozenset[dt.date]
    loaded_at: float


_cache: dict[int, _YearSchedule] = {}
_lock = threading.Lock()


def invalidate_cache() -> None:
    """Forget cached schedules (called by the calendar services after a change)."""
    with _lock:
        _cache.clear()


def _schedule(year: int) -> _YearSchedule:
    now = time.monotonic()
    cached = _cache.get(year)
    if cached and now - cached.loaded_at < _CACHE_SECONDS:
        return cached
    from apps.core.models import CalendarDay, CalendarYear

    published = CalendarYear.objects.filter(year=year, is_published=True).exists()
    holidays, workdays = set(), set()
    for day, kind in CalendarDay.objects.filter(date__year=year).values_list("date", "kind"):
        (holidays if kind == CalendarDay.Kind.HOLIDAY else workdays).add(day)
    if not published:
        logger.warning("No published holiday schedule for %s: counting Monday-Friday.", year)
    schedule = _YearSchedule(published, frozenset(holidays), frozenset(workdays), now)
    with _lock:
        _cache[year] = schedule
    return schedule


def is_working_day(day: dt.date) -> bool:
    schedule = _schedule(day.year)
    if day in schedule.workdays:
        return True
    if day in schedule.holidays:
        return False
    return day.weekday() < 5


def is_year_published(year: int) -> bool:
    return _schedule(year).published


def next_working_day(day: dt.date) -> dt.date:
    """The first working day strictly after `day`."""
    for _ in range(_MAX_SCAN_DAYS):
        day += dt.timedelta(days=1)
        if is_working_day(day):
            return day
    raise RuntimeError("No working day found in ten years: the calendar table is wrong.")


def _local(instant: dt.datetime) -> dt.datetime:
    if timezone.is_naive(instant):
        raise ValueError("Deadlines are computed from aware datetimes only.")
    return timezone.localtime(instant)


def add_working_days(start: dt.datetime, days: int) -> dt.datetime:
    """The instant `days` working days after `start`, at the same time of day.

    Started on a non-working day, the clock starts at 00:00 of the next working day, so
    "1 working day" from Saturday morning ends at the end of Monday.
    """
    if days < 0:
        raise ValueError("days must not be negative")
    local = _local(start)
    day = local.date()
    if not is_working_day(day):
        day = next_working_day(day)
        local = local.replace(hour=0, minute=0, second=0, microsecond=0)
    for _ in range(days):
        day = next_working_day(day)
    result = dt.datetime.combine(day, local.timetz().replace(tzinfo=None))
    return timezone.make_aware(result, timezone.get_current_timezone())


def _office_blocks(day: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
    tz = timezone.get_current_timezone()
    blocks = []
    for begin, end in settings.WORKING_HOURS:
        b = dt.datetime.combine(day, dt.time.fromisoformat(begin))
        e = dt.datetime.combine(day, dt.time.fromisoformat(end))
        blocks.append((timezone.make_aware(b, tz), timezone.make_aware(e, tz)))
    return blocks


def add_working_hours(start: dt.datetime, hours: float) -> dt.datetime:
    """The instant when `hours` of office time (settings.WORKING_HOURS on working days)
    have passed since `start`."""
    if hours < 0:
        raise ValueError("hours must not be negative")
    remaining = dt.timedelta(hours=hours)
    cursor = _local(start)
    day = cursor.date()
    for _ in range(_MAX_SCAN_DAYS):
        if is_working_day(day):
            for begin, end in _office_blocks(day):
                if cursor >= end:
                    continue
                cursor = max(cursor, begin)
                available = end - cursor
                if remaining <= available:
                    return cursor + remaining
                remaining -= available
                cursor = end
        day += dt.timedelta(days=1)
    raise RuntimeError("No office hours found in ten years: the calendar table is wrong.")


def working_days_between(start: dt.datetime, end: dt.datetime) -> int:
    """Whole working days from `start` to `end` (0 when `end` is within one working day)."""
    count = 0
    while add_working_days(start, count + 1) <= end:
        count += 1
        if count > _MAX_SCAN_DAYS:
            break
    return count


def years_missing_schedule(today: dt.date | None = None) -> list[int]:
    """Years the admin should warn about: this year if not entered, and next year from
    November on (when the State Council's notice is due)."""
    today = today or timezone.localdate()
    years = [today.year]
    if today.month >= 11:
        years.append(today.year + 1)
    return [y for y in years if not is_year_published(y)]
