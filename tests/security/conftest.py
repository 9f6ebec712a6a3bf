"""The demo city, loaded once per test module and rolled back after it; logging in a role.

The matrix and the fuzz run ask thousands of questions of the same data. Loading the
demo city (dev.DEMO_SETUP, as `python3 dev.py run` does) once per module inside one
transaction keeps them fast, and the rollback leaves the test database as it was for
the other modules. Each test still runs in a savepoint on top (the `db` fixture), so a
write that gets through is undone after its test.
"""

from __future__ import annotations

import datetime as dt
import io
import os

import pytest
from django import forms
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


def fill_form(form_class, obj, user) -> dict:
    """Plausible values for each field of an action form, so that a refused POST is refused
    for who sent it, not for what it sent."""
    try:
        form = form_class(obj=obj, user=user)
    except Exception:
        return {"version": getattr(obj, "version", 0)}
    return plausible_values(form, obj)


def plausible_values(form, obj=None) -> dict:
    """A value of the right kind for each field of `form` (the first choice, today + 3 days…)."""
    data = {}
    for name, field in form.fields.items():
        if name == "version":
            data[name] = getattr(obj, "version", 0)
        elif isinstance(field, forms.ModelMultipleChoiceField):
            first = field.queryset.first()
            data[name] = [first.pk] if first else []
        elif isinstance(field, forms.ModelChoiceField):
            first = field.queryset.first()
            data[name] = first.pk if first else ""
        elif isinstance(field, forms.MultipleChoiceField):
            data[name] = [v for v, _ in field.choices if v][:1]
        elif isinstance(field, forms.ChoiceField):
            data[name] = next((v for v, _ in field.choices if v not in ("", None)), "")
        elif isinstance(field, forms.BooleanField):
            data[name] = "on"
        elif isinstance(field, forms.DateTimeField):
            data[name] = (dt.datetime.now() + dt.timedelta(days=3)).strftime("%Y-%m-%d %H:%M")
        elif isinstance(field, forms.DateField):
            data[name] = (dt.date.today() + dt.timedelta(days=3)).isoformat()
        elif isinstance(field, forms.IntegerField | forms.DecimalField | forms.FloatField):
            data[name] = 1
        else:
            data[name] = "矩阵测试：越权写入"
    return data


# Hypothesis (tests/security/test_fuzz.py): bounded so that the fuzz file runs in about three
# minutes on two cores. "ci" is derandomized, so that a run is repeatable and a failure in CI
# is the same failure on a laptop; "dev" explores new inputs each run. HYPOTHESIS_PROFILE
# chooses; CI (set by every CI service) selects "ci". No example database: nothing is
# written to the worktree.
try:
    from hypothesis import HealthCheck, settings

    _common = {
        "deadline": dt.timedelta(seconds=30),  # one request; generous, for a loaded machine
        "database": None,
        "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    }
    settings.register_profile("ci", max_examples=12, derandomize=True, print_blob=True, **_common)
    settings.register_profile("dev", max_examples=12, **_common)
    settings.register_profile("deep", max_examples=200, **_common)  # by hand, for a longer hunt
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev"))
except ImportError:  # requirements-dev.txt brings it; without it only test_fuzz.py is unavailable
    pass
