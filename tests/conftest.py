"""Shared fixtures: a small organisation with one user per role, and an outsider."""

from __future__ import annotations

import pytest

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
