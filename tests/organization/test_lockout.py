import time_machine
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.organization import services
from tests.factories import TEST_PASSWORD


def _login(client, user, password):
    return client.post("/admin/login/", {"username": user.username, "password": password, "next": "/admin/"})


def test_five_failures_lock_the_account_for_thirty_minutes(client, dept_staff):
    for _ in range(4):
        assert _login(client, dept_staff, "wrong-password").status_code == 200
    assert _login(client, dept_staff, "wrong-password").status_code == 429  # the fifth locks
    locked = _login(client, dept_staff, TEST_PASSWORD)
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action="auth.locked_out").exists()
    with time_machine.travel(timezone.now() + timezone.timedelta(minutes=31)):
        ok = _login(client, dept_staff, TEST_PASSWORD)
        assert ok.status_code == 302
        assert client.session["_auth_user_id"] == str(dept_staff.pk)


def test_four_failures_do_not_lock(client, dept_staff):
    for _ in range(4):
        _login(client, dept_staff, "wrong-password")
    assert _login(client, dept_staff, TEST_PASSWORD).status_code == 302


def test_the_security_admin_can_unlock_an_account_and_it_is_logged(client, dept_staff, security_admin):
    for _ in range(5):
        _login(client, dept_staff, "wrong-password")
    services.staff_unlock(actor=security_admin, user=dept_staff, reason="本人电话核实")
    assert _login(client, dept_staff, TEST_PASSWORD).status_code == 302
    assert AuditEvent.objects.filter(action="staff.unlocked", actor=security_admin).exists()


def test_unknown_and_known_users_get_the_same_answer(client, dept_staff):
    known = _login(client, dept_staff, "wrong-password")
    client.logout()
    unknown = client.post("/admin/login/", {"username": "nobody-here", "password": "wrong-password", "next": "/admin/"})
    assert known.status_code == unknown.status_code == 200
    assert known.context["form"].errors == unknown.context["form"].errors
