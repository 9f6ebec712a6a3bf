"""The official working-day calendar (DESIGN §5): holidays, make-up working days (调休),
office hours, and the Monday-Friday fallback for a year whose schedule is not entered."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
import time_machine
from django.core.exceptions import ValidationError

from apps.audit.models import AuditEvent
from apps.core import working_calendar
from apps.core.models import CalendarDay, CalendarYear
from apps.core.working_calendar import (
    add_working_days,
    add_working_hours,
    is_working_day,
    is_year_published,
    next_working_day,
    years_missing_schedule,
)
from apps.organization.calendar import calendar_day_delete, calendar_day_save, calendar_year_save

SHANGHAI = ZoneInfo("Asia/Shanghai")
# The calendar warning in templates/admin/base_site.html (its wording is translated).
_WARNING = re.compile(r'<ul class="messagelist"><li class="warning">(.*?)</li></ul>', re.S)


def at(year, month, day, hour=0, minute=0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


@pytest.fixture
def calendar_2026(holidays_2026):
    """2025 and 2026 loaded from the library, with no stale cached schedule."""
    working_calendar.invalidate_cache()


# --- The library data the tests rely on ---------------------------------------------------


def test_the_library_has_the_2026_national_day_schedule_these_tests_assume():
    for offset in range(7):
        day = dt.date(2026, 10, 1) + dt.timedelta(days=offset)
        assert chinese_calendar.holidays.get(day) == "National Day", day
    assert dt.date(2026, 9, 20).weekday() == 6 and dt.date(2026, 9, 20) in chinese_calendar.workdays
    assert dt.date(2026, 10, 10).weekday() == 5 and dt.date(2026, 10, 10) in chinese_calendar.workdays
    assert dt.date(2026, 10, 8) not in chinese_calendar.holidays
    assert not any(day.year == 2027 for day in chinese_calendar.holidays)


def test_it_imports_weekday_holidays_and_weekend_make_up_days_and_publishes_the_years(calendar_2026):
    assert CalendarDay.objects.get(date=dt.date(2026, 10, 1)).kind == CalendarDay.Kind.HOLIDAY
    assert CalendarDay.objects.get(date=dt.date(2026, 10, 1)).name == "国庆节"
    assert CalendarDay.objects.get(date=dt.date(2026, 9, 20)).kind == CalendarDay.Kind.WORKDAY
    assert CalendarDay.objects.get(date=dt.date(2026, 10, 10)).kind == CalendarDay.Kind.WORKDAY
    # Weekend holidays are off anyway and are not stored.
    assert not CalendarDay.objects.filter(date=dt.date(2026, 10, 3)).exists()
    assert set(CalendarYear.objects.filter(is_published=True).values_list("year", flat=True)) == {2025, 2026}


# --- Working days -----------------------------------------------------------------------


def test_it_treats_the_national_day_week_as_holidays_and_the_make_up_weekend_days_as_working_days(calendar_2026):
    for offset in range(7):
        assert not is_working_day(dt.date(2026, 10, 1) + dt.timedelta(days=offset))
    assert is_working_day(dt.date(2026, 9, 20))  # Sunday, make-up day
    assert is_working_day(dt.date(2026, 10, 10))  # Saturday, make-up day
    assert is_working_day(dt.date(2026, 9, 30))  # ordinary Wednesday
    assert not is_working_day(dt.date(2026, 10, 11))  # ordinary Sunday
    assert not is_working_day(dt.date(2026, 9, 19))  # ordinary Saturday


def test_next_working_day_skips_the_national_day_holiday(calendar_2026):
    assert next_working_day(dt.date(2026, 9, 30)) == dt.date(2026, 10, 8)
    assert next_working_day(dt.date(2026, 10, 9)) == dt.date(2026, 10, 10)
    assert next_working_day(dt.date(2026, 10, 10)) == dt.date(2026, 10, 12)
    assert next_working_day(dt.date(2026, 9, 18)) == dt.date(2026, 9, 20)


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        (0, at(2026, 9, 30, 10)),
        (1, at(2026, 10, 8, 10)),
        (2, at(2026, 10, 9, 10)),
        (3, at(2026, 10, 10, 10)),  # Saturday make-up working day
        (4, at(2026, 10, 12, 10)),
    ],
)
def test_a_task_dispatched_the_day_before_national_day_skips_the_holiday(calendar_2026, days, expected):
    assert add_working_days(at(2026, 9, 30, 10), days) == expected


def test_one_working_day_from_friday_before_a_make_up_saturday_ends_on_the_saturday(calendar_2026):
    assert add_working_days(at(2026, 10, 9, 10), 1) == at(2026, 10, 10, 10)
    assert add_working_days(at(2026, 9, 18, 10), 1) == at(2026, 9, 20, 10)  # make-up Sunday


def test_a_task_started_on_a_holiday_runs_until_the_end_of_the_first_working_day(calendar_2026):
    assert add_working_days(at(2026, 10, 3, 15), 1) == at(2026, 10, 9, 0)
    # With no days to add, the clock stands at the start of the first working day.
    assert add_working_days(at(2026, 10, 3, 15), 0) == at(2026, 10, 8, 0)


def test_working_days_are_counted_in_china_time_whatever_the_input_zone(calendar_2026):
    start = dt.datetime(2026, 9, 30, 2, 0, tzinfo=dt.UTC)  # 10:00 in Shanghai
    result = add_working_days(start, 1)
    assert result == at(2026, 10, 8, 10)
    assert result.utcoffset() == dt.timedelta(hours=8)
    # 23:30 UTC on Wednesday 30 September is already Thursday 1 October (a holiday) in China.
    late = dt.datetime(2026, 9, 30, 23, 30, tzinfo=dt.UTC)
    assert add_working_days(late, 1) == at(2026, 10, 9, 0)


def test_a_negative_number_of_working_days_is_refused(calendar_2026):
    with pytest.raises(ValueError):
        add_working_days(at(2026, 9, 30, 10), -1)


# --- Working hours ----------------------------------------------------------------------


def test_working_hours_skip_the_lunch_break(calendar_2026):
    assert add_working_hours(at(2026, 9, 29, 11), 2) == at(2026, 9, 29, 15)


def test_working_hours_started_during_lunch_start_at_two(calendar_2026):
    assert add_working_hours(at(2026, 9, 29, 12, 30), 0.5) == at(2026, 9, 29, 14, 30)


def test_working_hours_started_before_the_office_opens_start_at_half_past_eight(calendar_2026):
    assert add_working_hours(at(2026, 9, 29, 7), 1) == at(2026, 9, 29, 9, 30)


def test_working_hours_carry_over_the_evening_to_the_next_morning(calendar_2026):
    assert add_working_hours(at(2026, 9, 28, 17), 1) == at(2026, 9, 29, 9)
    assert add_working_hours(at(2026, 9, 28, 20), 1) == at(2026, 9, 29, 9, 30)


def test_a_full_working_day_is_seven_hours(calendar_2026):
    assert add_working_hours(at(2026, 9, 29, 8, 30), 7) == at(2026, 9, 29, 17, 30)
    assert add_working_hours(at(2026, 9, 29, 8, 30), 7.5) == at(2026, 9, 30, 9)


def test_working_hours_carry_over_the_national_day_holiday(calendar_2026):
    assert add_working_hours(at(2026, 9, 30, 17), 1) == at(2026, 10, 8, 9)
    assert add_working_hours(at(2026, 10, 5, 10), 1) == at(2026, 10, 8, 9, 30)


def test_working_hours_count_on_a_make_up_saturday(calendar_2026):
    assert add_working_hours(at(2026, 10, 9, 17), 1) == at(2026, 10, 10, 9)


def test_working_hours_follow_the_configured_office_hours(calendar_2026, settings):
    settings.WORKING_HOURS = [("09:00", "17:00")]
    assert add_working_hours(at(2026, 9, 29, 16), 2) == at(2026, 9, 30, 10)


# --- Naive datetimes --------------------------------------------------------------------


def test_naive_datetimes_are_refused(calendar_2026):
    with pytest.raises(ValueError):
        add_working_days(dt.datetime(2026, 9, 30, 10), 1)
    with pytest.raises(ValueError):
        add_working_hours(dt.datetime(2026, 9, 30, 10), 1)


# --- A year whose schedule is not entered -------------------------------------------------


def test_a_year_without_a_schedule_falls_back_to_monday_to_friday(calendar_2026):
    assert not is_year_published(2027)
    # 1 January 2027 would be New Year's Day, but 2027's schedule is unknown: a Friday works.
    assert is_working_day(dt.date(2027, 1, 1))
    assert add_working_days(at(2026, 12, 31, 10), 1) == at(2027, 1, 1, 10)
    assert add_working_days(at(2026, 12, 31, 10), 2) == at(2027, 1, 4, 10)
    assert add_working_hours(at(2026, 12, 31, 17), 1) == at(2027, 1, 1, 9)


def test_it_warns_about_next_year_only_from_november(calendar_2026):
    assert years_missing_schedule(dt.date(2026, 11, 26)) == [2027]
    assert years_missing_schedule(dt.date(2026, 11, 1)) == [2027]
    assert years_missing_schedule(dt.date(2026, 10, 31)) == []
    assert years_missing_schedule(dt.date(2025, 12, 1)) == []  # 2026 is loaded


def test_it_warns_about_this_year_when_its_schedule_is_missing(calendar_2026):
    assert years_missing_schedule(dt.date(2027, 3, 1)) == [2027]
    assert years_missing_schedule(dt.date(2027, 12, 1)) == [2027, 2028]


def test_it_uses_today_in_china_when_no_date_is_given(calendar_2026):
    # 17:00 UTC on 31 October is already 1 November in Shanghai.
    with time_machine.travel(dt.datetime(2026, 10, 31, 17, 0, tzinfo=dt.UTC), tick=False):
        assert years_missing_schedule() == [2027]
    with time_machine.travel(dt.datetime(2026, 10, 31, 15, 0, tzinfo=dt.UTC), tick=False):
        assert years_missing_schedule() == []


def test_an_unpublished_year_with_some_days_entered_still_counts_as_missing(calendar_2026, system_actor):
    calendar_year_save(actor=system_actor, year=2027, is_published=False, reason="notice not out yet")
    calendar_day_save(
        actor=system_actor,
        day=dt.date(2027, 1, 1),
        kind=CalendarDay.Kind.HOLIDAY,
        name="元旦",
        reason="known in advance",
    )
    working_calendar.invalidate_cache()
    assert years_missing_schedule(dt.date(2026, 11, 26)) == [2027]
    # The days entered so far are already used.
    assert not is_working_day(dt.date(2027, 1, 1))


def _admin_page(client, user):
    client.force_login(user)
    return client.get("/admin/")


def calendar_warning(response) -> str | None:
    """The text of the missing-schedule warning on an admin page, or None."""
    match = _WARNING.search(response.content.decode())
    return match.group(1).strip() if match else None


@time_machine.travel(dt.datetime(2026, 11, 26, 10, 0, tzinfo=SHANGHAI), tick=False)
def test_the_admin_warns_the_system_admin_that_next_years_schedule_is_missing(calendar_2026, client, system_admin):
    response = _admin_page(client, system_admin)
    assert response.status_code == 200
    assert response.context["calendar_missing_years"] == [2027]
    warning = calendar_warning(response)
    assert warning is not None and "2027" in warning
    assert "2026" not in warning


@time_machine.travel(dt.datetime(2026, 11, 26, 10, 0, tzinfo=SHANGHAI), tick=False)
def test_the_admin_warns_the_inspector_who_can_view_the_calendar(calendar_2026, client, inspector):
    response = _admin_page(client, inspector)
    assert response.status_code == 200
    warning = calendar_warning(response)
    assert warning is not None and "2027" in warning


@time_machine.travel(dt.datetime(2026, 11, 26, 10, 0, tzinfo=SHANGHAI), tick=False)
def test_the_admin_does_not_warn_users_who_cannot_see_the_calendar(calendar_2026, client, dept_staff):
    response = _admin_page(client, dept_staff)
    assert response.status_code == 200
    assert not response.context.get("calendar_missing_years")
    assert calendar_warning(response) is None


@time_machine.travel(dt.datetime(2026, 10, 15, 10, 0, tzinfo=SHANGHAI), tick=False)
def test_the_admin_does_not_warn_before_november(calendar_2026, client, system_admin):
    response = _admin_page(client, system_admin)
    assert response.status_code == 200
    assert calendar_warning(response) is None


@time_machine.travel(dt.datetime(2026, 11, 26, 10, 0, tzinfo=SHANGHAI), tick=False)
def test_entering_next_years_schedule_removes_the_warning_and_applies_its_holidays(
    calendar_2026, client, system_admin, system_actor, django_capture_on_commit_callbacks
):
    # Computed (and cached) before the schedule is entered: Monday-Friday.
    assert is_working_day(dt.date(2027, 1, 1))
    assert add_working_days(at(2026, 12, 31, 10), 1) == at(2027, 1, 1, 10)
    assert years_missing_schedule(dt.date(2026, 11, 26)) == [2027]

    # Each service invalidates the cache on commit: no stale Monday-Friday answer.
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        calendar_day_save(
            actor=system_actor, day=dt.date(2027, 1, 1), kind=CalendarDay.Kind.HOLIDAY, name="元旦", reason="notice"
        )
    assert callbacks
    assert not is_working_day(dt.date(2027, 1, 1))
    assert add_working_days(at(2026, 12, 31, 10), 1) == at(2027, 1, 4, 10)
    assert years_missing_schedule(dt.date(2026, 11, 26)) == [2027]  # not complete yet

    with django_capture_on_commit_callbacks(execute=True):
        calendar_year_save(actor=system_actor, year=2027, is_published=True, note="国办发明电〔2026〕", reason="notice")
    assert years_missing_schedule(dt.date(2026, 11, 26)) == []
    assert not is_working_day(dt.date(2027, 1, 1))

    response = _admin_page(client, system_admin)
    assert response.status_code == 200
    assert calendar_warning(response) is None


def test_deleting_a_holiday_makes_the_day_a_working_day_again(
    calendar_2026, system_actor, django_capture_on_commit_callbacks
):
    assert not is_working_day(dt.date(2026, 10, 1))
    with django_capture_on_commit_callbacks(execute=True):
        calendar_day_delete(
            actor=system_actor, instance=CalendarDay.objects.get(date=dt.date(2026, 10, 1)), reason="entered by mistake"
        )
    assert is_working_day(dt.date(2026, 10, 1))
    assert AuditEvent.objects.filter(action="calendar.day_deleted", reason="entered by mistake").exists()


def test_a_years_schedule_is_read_from_the_database_once(calendar_2026, django_assert_num_queries):
    is_working_day(dt.date(2026, 10, 1))
    with django_assert_num_queries(0):
        assert add_working_days(at(2026, 9, 30, 10), 3) == at(2026, 10, 10, 10)
        assert not is_working_day(dt.date(2026, 10, 2))


# --- Editing the calendar -----------------------------------------------------------------


def test_a_make_up_working_day_on_a_weekday_is_refused(calendar_2026, system_actor):
    with pytest.raises(ValidationError) as excinfo:
        calendar_day_save(
            actor=system_actor, day=dt.date(2026, 10, 12), kind=CalendarDay.Kind.WORKDAY, name="国庆节", reason="typo"
        )
    assert "kind" in excinfo.value.message_dict
    assert not CalendarDay.objects.filter(date=dt.date(2026, 10, 12)).exists()
    assert not AuditEvent.objects.filter(action="calendar.day_saved", reason="typo").exists()


def test_a_make_up_working_day_on_a_weekend_is_accepted(db, system_actor):
    day = calendar_day_save(
        actor=system_actor, day=dt.date(2027, 2, 6), kind=CalendarDay.Kind.WORKDAY, name="春节", reason="notice"
    )
    working_calendar.invalidate_cache()
    assert day.pk is not None
    assert is_working_day(dt.date(2027, 2, 6))  # a Saturday


def test_editing_the_calendar_without_a_reason_is_refused(db, system_actor):
    from apps.core.exceptions import DomainError

    with pytest.raises(DomainError):
        calendar_day_save(
            actor=system_actor, day=dt.date(2027, 1, 1), kind=CalendarDay.Kind.HOLIDAY, name="元旦", reason="  "
        )
    assert not CalendarDay.objects.exists()


def test_editing_the_calendar_keeps_history_and_writes_the_action_log(db, system_admin):
    day = calendar_day_save(
        actor=system_admin,
        day=dt.date(2027, 1, 1),
        kind=CalendarDay.Kind.HOLIDAY,
        name="元旦",
        reason="国务院办公厅通知",
    )
    calendar_day_save(
        actor=system_admin,
        day=dt.date(2027, 1, 1),
        kind=CalendarDay.Kind.HOLIDAY,
        name="元旦节",
        reason="correct the name",
        instance=day,
    )

    history = list(day.history.order_by("history_id"))
    assert [h.history_type for h in history] == ["+", "~"]
    assert [h.history_user_id for h in history] == [system_admin.pk, system_admin.pk]
    assert [h.history_change_reason for h in history] == ["国务院办公厅通知", "correct the name"]
    assert history[-1].name == "元旦节"

    events = list(AuditEvent.objects.filter(action="calendar.day_saved").order_by("seq"))
    assert len(events) == 2
    last = events[-1]
    assert last.actor_id == system_admin.pk
    assert last.target_type == "core.calendarday"
    assert last.target_id == str(day.pk)
    assert last.reason == "correct the name"
    assert last.changes["before"]["name"] == "元旦"
    assert last.changes["after"]["name"] == "元旦节"
