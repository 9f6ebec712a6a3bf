"""Shared fixtures: a small organisation with one user per role, and an outsider; and the
test client, which completes the second factor the way a person would."""

from __future__ import annotations

import pytest
from django.test import Client

from backoffice.celery import app as celery_app
from tests import factories


@pytest.fixture(autouse=True, scope="session")
def _flush_is_sanctioned_maintenance():
    # PostgreSQL: history tables and the action log refuse TRUNCATE (apps.supervision.
    # immutability); the flush after a transactional test is sanctioned maintenance.
    from apps.supervision.immutability import sanction_test_flush

    sanction_test_flush()


@pytest.fixture(autouse=True)
def _fast_and_isolated(settings):
    # Argon2 is the production hasher (asserted in test_security); MD5 keeps tests fast.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Outbox jobs run in-process unless a test brings a real broker (tests/reliability).
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    from apps.core import process_cache, working_calendar

    working_calendar.invalidate_cache()
    process_cache.clear_all()
    # Service messages are asserted in English (the source language); page tests that
    # check Chinese send Accept-Language: zh-hans, which the locale middleware honours.
    from django.utils import translation

    translation.activate("en")
    yield
    translation.deactivate()
    celery_app.conf.task_always_eager = previous
    working_calendar.invalidate_cache()
    process_cache.clear_all()


class SecondFactorClient(Client):
    """Django's test client, for users whose role needs a second factor
    (apps.organization.second_factor):

    - force_login(user) also passes the second factor with the user's confirmed TOTP device
      (made on first need), as the code page does (django_otp.login);
    - a login through the form that lands on the code page types the device's current code
      there, as the person would, and returns that answer.

    Tests of the second factor itself use django.test.Client, which does neither."""

    def force_login(self, user, backend=None):
        super().force_login(user, backend)
        from django_otp import DEVICE_ID_SESSION_KEY

        from apps.organization.second_factor import requires_second_factor

        if requires_second_factor(user):
            session = self.session
            session[DEVICE_ID_SESSION_KEY] = totp_device(user).persistent_id
            session.save()

    def post(self, path, data=None, *args, **kwargs):
        from django.urls import reverse

        response = super().post(path, data, *args, **kwargs)
        login = reverse("admin:login")
        steps = (reverse("admin:login_code"), reverse("admin:login_enrol"))
        if not str(path).startswith(login) or str(path).startswith(steps):
            return response
        if response.status_code == 302 and response["Location"].startswith(steps):
            return self._type_code(response["Location"], **kwargs)
        chain = getattr(response, "redirect_chain", None)
        if chain and chain[-1][0].startswith(steps):  # follow=True stopped on the code page
            return self._type_code(chain[-1][0], **kwargs)
        return response

    def _type_code(self, url, **kwargs):
        from urllib.parse import parse_qs, urlsplit

        from django.urls import reverse

        from apps.organization import second_factor
        from apps.organization.models import User

        user = User.objects.get(pk=self.session["_auth_user_id"])
        # The enrolment page shows the key of the device being enrolled; the app reads it.
        enrolling = url.startswith(reverse("admin:login_enrol"))
        device = second_factor.pending_device(user) if enrolling else totp_device(user)
        next_url = parse_qs(urlsplit(url).query).get("next", [""])[0]
        return super().post(url, {"code": current_code(device), "next": next_url}, **kwargs)


def totp_device(user):
    """The user's confirmed TOTP device (made with a random key if they have none)."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    return device or TOTPDevice.objects.create(user=user, name="test", confirmed=True)


def current_code(device) -> str:
    """The code an authenticator app with this device's key shows now. The device forgets
    its last code first: a test may log the same person in twice within one 30-second step,
    which a real device rightly refuses (the second-factor tests check that with Client)."""
    import time

    from django_otp.oath import TOTP

    device.last_t = -1
    device.save(update_fields=["last_t"])
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    return f"{totp.token():0{device.digits}d}"


@pytest.fixture
def client():
    """The test client with the second factor completed (SecondFactorClient)."""
    return SecondFactorClient()


@pytest.fixture
def system_actor(db):
    from apps.organization.services import system_actor

    return system_actor()


@pytest.fixture
def org(db):
    """City government, the centre, the supervision office and two bureaus."""
    return factories.build_org()


def _user(org, role, department_key):
    return factories.make_user(role=role, department=org[department_key])


@pytest.fixture
def operator(org):
    return _user(org, "operator", "centre")


@pytest.fixture
def dispatcher(org):
    return _user(org, "dispatcher", "centre")


@pytest.fixture
def dept_staff(org):
    return _user(org, "dept_staff", "housing")


@pytest.fixture
def dept_leader(org):
    return _user(org, "dept_leader", "housing")


@pytest.fixture
def outsider(org):
    """Department staff of another bureau."""
    return _user(org, "dept_staff", "market")


@pytest.fixture
def city_leader(org):
    return _user(org, "city_leader", "gov")


@pytest.fixture
def visit_agent(org):
    return _user(org, "visit_agent", "centre")


@pytest.fixture
def inspector(org):
    return _user(org, "inspector", "supervision")


@pytest.fixture
def system_admin(org):
    return _user(org, "system_admin", "centre")


@pytest.fixture
def security_admin(org):
    return _user(org, "security_admin", "centre")


@pytest.fixture
def audit_admin(org):
    return _user(org, "audit_admin", "supervision")


@pytest.fixture
def users_by_role(org):
    """One user per role, keyed by role code."""
    from apps.organization.models import User

    home = {
        "operator": "centre",
        "dispatcher": "centre",
        "dept_staff": "housing",
        "dept_leader": "housing",
        "city_leader": "gov",
        "visit_agent": "centre",
        "inspector": "supervision",
        "system_admin": "centre",
        "security_admin": "centre",
        "audit_admin": "supervision",
    }
    return {role: _user(org, role, home[role]) for role in User.Role.values}


@pytest.fixture
def holidays_2026(db, system_actor):
    from apps.organization.calendar import calendar_import_library

    calendar_import_library(actor=system_actor, years=[2025, 2026], reason="test calendar")


@pytest.fixture
def catalog(org):
    return factories.build_catalog(org)


@pytest.fixture
def demo_city(transactional_db):
    """The demo city (嘉州市) loaded the way `python3 dev.py run` loads it: the same commands
    (dev.DEMO_SETUP), committed, so that work queued on commit (notifications) runs too.
    Returns the demo users by username (dev.DEMO_LOGINS; password dev.DEMO_PASSWORD)."""
    import io

    from django.core.management import call_command

    import dev
    from apps.organization.models import User

    for command in dev.DEMO_SETUP:
        call_command(*command, stdout=io.StringIO())
    usernames = [username for username, _ in dev.DEMO_LOGINS]
    return {user.username: user for user in User.objects.filter(username__in=usernames)}
