"""Writes to the working-day calendar (system administrators, and the seeding command).

The calendar's models and the working-day arithmetic are in apps.core, below every app
that counts time limits; its writes are here, beside the system account and the system
administrator who keep it, because each one is written to the action log (apps.audit),
which apps.core does not import.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from apps.audit.services import record
from apps.core import working_calendar
from apps.core.history import set_history_context
from apps.core.models import CalendarDay, CalendarYear
from apps.core.validation import require_text


@transaction.atomic
def calendar_year_save(
    *,
    actor,
    year: int,
    is_published: bool,
    note: str = "",
    source: str = CalendarYear.Source.MANUAL,
    reason: str,
    instance: CalendarYear | None = None,
) -> CalendarYear:
    reason = require_text(reason)
    obj = instance or CalendarYear.objects.filter(year=year).first() or CalendarYear(year=year)
    before = {"is_published": obj.is_published, "note": obj.note} if obj.pk else {}
    obj.is_published, obj.note, obj.source = is_published, note, source
    obj.full_clean()
    set_history_context(obj, actor=actor, reason=reason)
    obj.save()
    transaction.on_commit(working_calendar.invalidate_cache)
    record(
        actor=actor,
        action="calendar.year_saved",
        target=obj,
        reason=reason,
        changes={"before": before, "after": {"is_published": is_published, "note": note}},
    )
    return obj


@transaction.atomic
def calendar_day_save(
    *, actor, day: dt.date, kind: str, name: str, reason: str, instance: CalendarDay | None = None
) -> CalendarDay:
    """Enter or correct a holiday or make-up working day."""
    reason = require_text(reason)
    obj = instance or CalendarDay.objects.filter(date=day).first() or CalendarDay(date=day)
    before = {"date": obj.date, "kind": obj.kind, "name": obj.name} if obj.pk else {}
    obj.date, obj.kind, obj.name = day, kind, name
    obj.full_clean()
    set_history_context(obj, actor=actor, reason=reason)
    obj.save()
    transaction.on_commit(working_calendar.invalidate_cache)
    record(
        actor=actor,
        action="calendar.day_saved",
        target=obj,
        reason=reason,
        changes={"before": before, "after": {"date": day, "kind": kind, "name": name}},
    )
    return obj


@transaction.atomic
def calendar_day_delete(*, actor, instance: CalendarDay, reason: str) -> None:
    reason = require_text(reason)
    set_history_context(instance, actor=actor, reason=reason)
    record(
        actor=actor,
        action="calendar.day_deleted",
        target=instance,
        reason=reason,
        changes={"date": instance.date, "kind": instance.kind, "name": instance.name},
    )
    instance.delete()
    transaction.on_commit(working_calendar.invalidate_cache)


def calendar_import_library(*, actor, years: list[int] | None = None, reason: str) -> list[int]:
    """Load holidays and make-up days from the chinese-calendar library for the years it
    covers, and mark those years complete. Existing days are corrected, not duplicated."""
    import chinese_calendar

    covered = sorted({d.year for d in chinese_calendar.holidays})
    # By default the years deadlines and reports still touch; older ones on request.
    default = [y for y in covered if y >= dt.date.today().year - 3]
    wanted = [y for y in (years or default) if y in covered]
    with transaction.atomic():
        for year in wanted:
            for day, name in sorted(chinese_calendar.holidays.items()):
                if day.year == year and day.weekday() < 5:  # weekends are off anyway
                    _import_day(actor, day, CalendarDay.Kind.HOLIDAY, name, reason)
            for day, name in sorted(chinese_calendar.workdays.items()):
                if day.year == year and day.weekday() >= 5:
                    _import_day(actor, day, CalendarDay.Kind.WORKDAY, name, reason)
            existing = CalendarYear.objects.filter(year=year).first()
            if existing is None or not existing.is_published:
                calendar_year_save(
                    actor=actor,
                    year=year,
                    is_published=True,
                    source=CalendarYear.Source.LIBRARY,
                    note="chinese-calendar",
                    reason=reason,
                    instance=existing,
                )
    return wanted


_NAMES_ZH = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "抗战胜利70周年纪念日",
}


def _import_day(actor, day, kind, name, reason):
    name = _NAMES_ZH.get(name, name)
    existing = CalendarDay.objects.filter(date=day).first()
    if existing and existing.kind == kind and existing.name == name:
        return
    calendar_day_save(actor=actor, day=day, kind=kind, name=name, reason=reason, instance=existing)
