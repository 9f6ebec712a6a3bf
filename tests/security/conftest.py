"""The demo city, loaded once per test module and rolled back after it; logging in a role.

The matrix and the fuzz run ask thousands of questions of the same data. Loading the
demo city (dev.DEMO_SETUP, as `python3 dev.py run` does) once per module inside one
transaction keeps them fast, and the rollback leaves the test database as it was for
the other modules. Each test still runs in a savepoint on top (the `db` fixture), so a
write that gets through is undone after its test.
"""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test.utils import override_settings


@pytest.fixture(scope="module")
def demo_data(django_db_setup, django_db_blocker):
    """One user per role, keyed by role code: the demo logins (dev.DEMO_LOGINS), and a
    user made for any role the demo has none of; plus "other_dept_staff", the demo's
    staff of another department (市场监管局)."""
    import dev
    from apps.organization.models import User
    from tests import factories

    # Argon2 (production) would spend most of the load hashing demo passwords.
    fast_hasher = override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
    with django_db_blocker.unblock(), fast_hasher:
        with transaction.atomic():
            for command in dev.DEMO_SETUP:
                call_command(*command, stdout=io.StringIO())
            usernames = [username for username, _ in dev.DEMO_LOGINS]
            users = {}
            for user in User.objects.filter(username__in=usernames).select_related("department"):
                users.setdefault(user.role, user)
            centre = users[User.Role.OPERATOR].department
            for role in User.Role.values:
                if role not in users:
                    users[role] = factories.make_user(role=role, department=centre)
            users["other_dept_staff"] = User.objects.get(username="sunli_scjg")
            yield users
            transaction.set_rollback(True)


@pytest.fixture
def demo(demo_data, db):
    return demo_data


def log_in(client, user) -> None:
    """Sign `user` in on the test client: one place to change if signing in gains steps."""
    client.force_login(user)
