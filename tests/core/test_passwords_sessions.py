"""Password rules and session lifetimes (MLPS 2.0 8.1.4.1): mixed character classes,
a sliding idle timeout and an absolute cap on a session's life."""

from __future__ import annotations

import datetime as dt
import time
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError

from apps.core.middleware import SESSION_STARTED_KEY
from apps.core.passwords import CharacterClassValidator
from tests.factories import TEST_PASSWORD

SHANGHAI = ZoneInfo("Asia/Shanghai")


def rejection_codes(password: str, user=None) -> set[str]:
    with pytest.raises(ValidationError) as excinfo:
        validate_password(password, user)
    return {error.code for error in excinfo.value.error_list}


# --- Passwords --------------------------------------------------------------------------


def test_an_all_digit_password_is_rejected():
    codes = rejection_codes("12345678")
    assert {"password_entirely_numeric", "password_too_few_classes"} <= codes


def test_an_all_lower_case_password_is_rejected():
    assert "password_too_few_classes" in rejection_codes("abcdefgh")


def test_a_common_password_is_rejected_even_with_three_character_classes():
    assert rejection_codes("Passw0rd") == {"password_too_common"}


def test_a_password_with_only_two_character_classes_is_rejected():
    assert "password_too_few_classes" in rejection_codes("abc12345")  # also a common password
    # Long and uncommon, but only lower-case letters and digits.
    assert rejection_codes("riverbank8642") == {"password_too_few_classes"}


def test_a_short_password_is_rejected():
    assert "password_too_short" in rejection_codes("Xl#2026")


def test_a_long_mixed_password_is_accepted():
    validate_password("Xlx#2026river")
    validate_password(TEST_PASSWORD)


def test_a_password_like_the_username_is_rejected(dept_staff):
    assert "password_too_similar" in rejection_codes(f"{dept_staff.username}A!", dept_staff)


@pytest.mark.parametrize(
    ("password", "classes"),
    [
        ("abcdefgh", 1),
        ("abcdEFGH", 2),
        ("abcd1234", 2),
        ("abcd!@#$", 2),
        ("abCD1234", 3),
        ("ab12!@#$", 3),
        ("AB12!@#$", 3),
        ("aB1!", 4),
    ],
)
def test_the_character_class_validator_counts_lower_upper_digits_and_symbols(password, classes):
    for minimum in range(1, 5):
        validator = CharacterClassValidator(min_classes=minimum)
        if classes >= minimum:
            validator.validate(password)
        else:
            with pytest.raises(ValidationError):
                validator.validate(password)


def test_the_character_class_rule_is_installed_with_three_classes():
    name = "apps.core.passwords.CharacterClassValidator"
    entries = [v for v in settings.AUTH_PASSWORD_VALIDATORS if v["NAME"] == name]
    assert entries == [{"NAME": name, "OPTIONS": {"min_classes": 3}}]
    assert "3" in CharacterClassValidator(3).get_help_text()


# --- Sessions ---------------------------------------------------------------------------


def test_the_idle_timeout_is_thirty_minutes_renewed_at_most_once_a_minute():
    assert settings.SESSION_COOKIE_AGE == 1800
    assert settings.SESSION_RENEW_INTERVAL == 60
    assert settings.SESSION_ABSOLUTE_TIMEOUT == 12 * 3600


def test_requests_within_the_renewal_interval_do_not_write_the_session(client, system_admin):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    start = dt.datetime(2026, 9, 29, 8, 0, tzinfo=SHANGHAI)
    with time_machine.travel(start, tick=False) as traveller:
        client.force_login(system_admin)
        client.get("/admin/")  # stamps start and renewal: one write
        traveller.shift(dt.timedelta(seconds=30))
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/admin/").status_code == 200
        assert not [q for q in ctx.captured_queries if "django_session" in q["sql"] and "UPDATE" in q["sql"]]
        traveller.shift(dt.timedelta(seconds=31))
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/admin/").status_code == 200
        assert [q for q in ctx.captured_queries if "django_session" in q["sql"] and "UPDATE" in q["sql"]]


def test_the_first_request_stamps_when_the_session_started(client, system_admin):
    client.force_login(system_admin)
    assert SESSION_STARTED_KEY not in client.session
    before = time.time()
    assert client.get("/admin/").status_code == 200
    assert before <= client.session[SESSION_STARTED_KEY] <= time.time()


def test_a_session_within_the_absolute_cap_keeps_working(client, system_admin):
    client.force_login(system_admin)
    session = client.session
    session[SESSION_STARTED_KEY] = time.time() - 11 * 3600
    session.save()
    assert client.get("/admin/").status_code == 200


def test_a_session_older_than_the_absolute_cap_is_logged_out(client, system_admin):
    client.force_login(system_admin)
    session = client.session
    session[SESSION_STARTED_KEY] = time.time() - 13 * 3600
    session.save()

    response = client.get("/admin/")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    assert "next=%2Fadmin%2F" in response["Location"]
    assert "_auth_user_id" not in client.session
    # Logged out for good, not just bounced once.
    assert client.get("/admin/").status_code == 302


def test_the_absolute_cap_follows_the_setting(client, system_admin, settings):
    settings.SESSION_ABSOLUTE_TIMEOUT = 3600
    client.force_login(system_admin)
    session = client.session
    session[SESSION_STARTED_KEY] = time.time() - 2 * 3600
    session.save()
    assert client.get("/admin/").status_code == 302


def test_an_active_user_is_still_logged_out_after_twelve_hours(client, system_admin):
    start = dt.datetime(2026, 9, 29, 8, 0, tzinfo=SHANGHAI)
    with time_machine.travel(start, tick=False) as traveller:
        client.force_login(system_admin)
        assert client.get("/admin/").status_code == 200
        # A request every 25 minutes: never idle for 30 minutes.
        for _ in range(28):  # 28 x 25 min = 11 h 40 min
            traveller.shift(dt.timedelta(minutes=25))
            assert client.get("/admin/").status_code == 200
        traveller.shift(dt.timedelta(minutes=25))  # 12 h 05 min after the start
        response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_the_idle_timeout_slides_with_each_request(client, system_admin):
    start = dt.datetime(2026, 9, 29, 8, 0, tzinfo=SHANGHAI)
    with time_machine.travel(start, tick=False) as traveller:
        client.force_login(system_admin)
        assert client.get("/admin/").status_code == 200
        # Requests that change nothing in the session still renew it: 50 minutes after
        # login, but never 30 minutes idle, the user is still logged in.
        for _ in range(2):
            traveller.shift(dt.timedelta(minutes=25))
            assert client.get("/admin/").status_code == 200
        # 31 minutes without a request: logged out.
        traveller.shift(dt.timedelta(minutes=31))
        response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
