"""Strong login (MLPS 2.0 8.1.4.1): the second factor for leaders, inspectors and
administrators; password expiry and history; a throttle that nobody can use to lock the
administrators out.

The second-factor tests use django.test.Client (the suite's `client` fixture completes the
second factor for the other tests, tests/conftest.py)."""

from __future__ import annotations

import time

import pytest
import time_machine
from django.contrib.auth.hashers import check_password
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.audit.models import AuditEvent
from apps.core.exceptions import DomainError
from apps.organization import services
from apps.organization.models import PasswordHistory, User
from apps.organization.second_factor import SECOND_FACTOR_ROLES, requires_second_factor
from tests.factories import TEST_PASSWORD

LOGIN = "/admin/login/"
A, B = "10.1.1.1", "10.2.2.2"


def _code(device, *, offset: int = 0) -> str:
    """What an authenticator app with the device's key shows (offset: steps later)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + offset * device.step
    return f"{totp.token():06d}"


def _device(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="phone", confirmed=True)


def _password(client, user, password=TEST_PASSWORD, address=A, next_url="/admin/"):
    return client.post(LOGIN, {"username": user.username, "password": password, "next": next_url}, REMOTE_ADDR=address)


def _code_page(client, code, address=A, next_url="/admin/"):
    return client.post(reverse("admin:login_code"), {"code": code, "next": next_url}, REMOTE_ADDR=address)


def _actions(*codes):
    return list(AuditEvent.objects.filter(action__in=codes).order_by("pk").values_list("action", flat=True))


# --- Who needs the second factor ---------------------------------------------------------


def test_leaders_inspectors_and_administrators_need_the_second_factor_and_the_others_do_not(users_by_role):
    needs = {role for role, user in users_by_role.items() if requires_second_factor(user)}
    assert needs == {"dept_leader", "city_leader", "inspector", "system_admin", "audit_admin", "security_admin"}
    assert needs <= SECOND_FACTOR_ROLES
    assert "security_admin" in SECOND_FACTOR_ROLES  # a security-admin role, once added


def test_a_role_without_the_second_factor_lands_straight_after_the_password(dept_staff):
    client = Client()
    response = _password(client, dept_staff)
    assert response.status_code == 302 and response.url == "/admin/"
    assert client.get("/admin/").status_code == 200


# --- The code page -----------------------------------------------------------------------


def test_a_leader_gives_the_password_then_the_code_and_only_then_opens_the_admin(dept_leader):
    device = _device(dept_leader)
    client = Client()

    response = _password(client, dept_leader, next_url=reverse("admin:tasks_task_changelist"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login_code"))
    # Password given, code not yet: every admin page is refused (back to the login, which
    # sends to the code page), not shown.
    for url in ("/admin/", reverse("admin:tasks_task_changelist"), reverse("admin:appeals_appeal_changelist")):
        refused = client.get(url)
        assert refused.status_code == 302 and refused.url.startswith(LOGIN), url
    assert client.get(LOGIN).url.startswith(reverse("admin:login_code"))
    page = client.get(reverse("admin:login_code"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert page.status_code == 200 and 'name="code"' in page.content.decode()

    done = _code_page(client, _code(device), next_url=reverse("admin:tasks_task_changelist"))
    assert done.status_code == 302 and done.url == reverse("admin:tasks_task_changelist")
    assert client.get(reverse("admin:tasks_task_changelist")).status_code == 200
    assert _actions("auth.login", "auth.second_factor_passed") == ["auth.login", "auth.second_factor_passed"]
    passed = AuditEvent.objects.get(action="auth.second_factor_passed")
    assert passed.actor == dept_leader and passed.ip_address == A


def test_the_same_code_twice_is_refused(system_admin):
    device = _device(system_admin)
    client = Client()
    _password(client, system_admin)
    code = _code(device)
    assert _code_page(client, code).status_code == 302

    other = Client()
    _password(other, system_admin)
    replay = _code_page(other, code)
    assert replay.status_code == 200
    assert replay.context["form"].errors["code"]
    assert other.get("/admin/").status_code == 302  # still not in
    assert AuditEvent.objects.filter(action="auth.second_factor_failed", changes__username=system_admin.username)


def test_a_wrong_code_is_refused_and_logged(city_leader):
    device = _device(city_leader)
    client = Client()
    _password(client, city_leader)
    wrong = f"{(int(_code(device)) + 1) % 1_000_000:06d}"
    response = _code_page(client, wrong)
    assert response.status_code == 200 and response.context["form"].errors["code"]
    assert client.get("/admin/").status_code == 302
    failed = AuditEvent.objects.get(action="auth.second_factor_failed")
    assert failed.outcome == AuditEvent.Outcome.FAILURE
    assert failed.changes["username"] == city_leader.username


def test_wrong_codes_count_toward_the_lockout(inspector):
    device = _device(inspector)
    client = Client()
    _password(client, inspector)
    for _ in range(4):
        assert _code_page(client, "000000" if _code(device) != "000000" else "111111").status_code == 200
    locked = _code_page(client, "000000" if _code(device) != "000000" else "111111")
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session  # the half-done login is dropped
    assert AuditEvent.objects.filter(action="auth.locked_out", changes__username=inspector.username).exists()
    # Locked on this address: the right password and code do not get in here...
    assert _password(client, inspector).status_code == 429
    # ...but from another address they do.
    elsewhere = Client()
    assert _password(elsewhere, inspector, address=B).url.startswith(reverse("admin:login_code"))
    assert _code_page(elsewhere, _code(device), address=B).status_code == 302
    assert elsewhere.get("/admin/", REMOTE_ADDR=B).status_code == 200


def test_a_new_password_entry_does_not_buy_new_code_guesses(audit_admin):
    device = _device(audit_admin)
    wrong = "000000" if _code(device) != "000000" else "111111"
    client = Client()
    for _ in range(4):
        _password(client, audit_admin)
        _code_page(client, wrong)
    _password(client, audit_admin)  # the right password again: the failures stay
    assert _code_page(client, wrong).status_code == 429


def test_log_in_as_someone_else_drops_the_half_done_login(dept_leader):
    _device(dept_leader)
    client = Client()
    _password(client, dept_leader)
    response = client.post(reverse("admin:login_code"), {"cancel": "1"})
    assert response.status_code == 302 and response.url == LOGIN
    assert "_auth_user_id" not in client.session


# --- Enrolment ---------------------------------------------------------------------------


def test_a_leader_without_a_device_enrols_with_the_qr_code_and_a_first_code(dept_leader):
    client = Client()
    response = _password(client, dept_leader)
    assert response.url.startswith(reverse("admin:login_enrol"))
    # The code page sends a user without a device to the enrolment, and back.
    assert client.get(reverse("admin:login_code")).url.startswith(reverse("admin:login_enrol"))

    page = client.get(reverse("admin:login_enrol"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    body = page.content.decode()
    assert page.status_code == 200
    assert "<svg" in body and "http" not in body.split("<svg", 1)[1].split("</svg>", 1)[0].replace(
        "http://www.w3.org/2000/svg", ""
    )  # drawn here, nothing fetched
    pending = TOTPDevice.objects.get(user=dept_leader)
    assert not pending.confirmed
    secret = page.context["secret"].replace(" ", "")
    assert secret in body.replace(" ", "")
    import base64

    assert base64.b32decode(secret + "=" * (-len(secret) % 8)) == pending.bin_key

    # A wrong first code confirms nothing.
    wrong = "000000" if _code(pending) != "000000" else "111111"
    assert client.post(reverse("admin:login_enrol"), {"code": wrong}).status_code == 200
    assert not TOTPDevice.objects.get(pk=pending.pk).confirmed

    done = client.post(reverse("admin:login_enrol"), {"code": _code(pending), "next": "/admin/"})
    assert done.status_code == 302 and done.url == "/admin/"
    assert TOTPDevice.objects.get(pk=pending.pk).confirmed
    assert client.get("/admin/").status_code == 200
    assert AuditEvent.objects.filter(action="auth.second_factor_enrolled", actor=dept_leader).exists()
    # Once enrolled, the enrolment page is gone for this user: the code page asks.
    client.logout()
    _password(client, dept_leader)
    assert client.get(reverse("admin:login_enrol")).url.startswith(reverse("admin:login_code"))


def test_the_enrolment_page_needs_the_password_first(db):
    response = Client().get(reverse("admin:login_enrol"))
    assert response.status_code == 302 and response.url == LOGIN


# --- The test client ---------------------------------------------------------------------


def test_the_suites_client_completes_the_second_factor_and_the_plain_client_does_not(client, system_admin):
    client.force_login(system_admin)
    assert client.get("/admin/").status_code == 200
    plain = Client()
    plain.force_login(system_admin)
    assert plain.get("/admin/").status_code == 302


# --- Password expiry ---------------------------------------------------------------------


def test_an_expired_password_sends_every_admin_page_to_the_change_password_page(client, dept_staff):
    client.force_login(dept_staff)
    assert client.get("/admin/").status_code == 200
    with time_machine.travel(timezone.now() + timezone.timedelta(days=91)):
        client.force_login(dept_staff)
        for url in ("/admin/", reverse("admin:tasks_task_changelist"), reverse("admin:appeals_appeal_changelist")):
            response = client.get(url)
            assert response.status_code == 302, url  # not a 403
            assert response.url == reverse("admin:password_change"), url
        page = client.get("/admin/", follow=True, HTTP_ACCEPT_LANGUAGE="zh-hans")
        assert page.status_code == 200
        assert "密码已超过 90 天" in page.content.decode()

        changed = client.post(
            reverse("admin:password_change"),
            {"old_password": TEST_PASSWORD, "new_password1": "Nieuw#Pass2026", "new_password2": "Nieuw#Pass2026"},
        )
        assert changed.status_code == 302 and changed.url == reverse("admin:password_change_done")
        assert client.get(reverse("admin:tasks_task_changelist")).status_code == 200
    assert AuditEvent.objects.filter(action="auth.password_changed", actor=dept_staff).exists()


def test_a_password_89_days_old_has_not_expired(client, dept_staff):
    with time_machine.travel(timezone.now() + timezone.timedelta(days=89)):
        client.force_login(dept_staff)
        assert client.get("/admin/").status_code == 200


def test_the_maximum_age_comes_from_the_setting(client, dept_staff, settings):
    settings.PASSWORD_MAX_AGE_DAYS = 30
    with time_machine.travel(timezone.now() + timezone.timedelta(days=31)):
        client.force_login(dept_staff)
        assert client.get("/admin/").url == reverse("admin:password_change")


def test_an_expired_leader_passes_the_code_before_the_password_change(dept_leader):
    device = _device(dept_leader)
    with time_machine.travel(timezone.now() + timezone.timedelta(days=91)):
        client = Client()
        assert _password(client, dept_leader).url.startswith(reverse("admin:login_code"))
        assert _code_page(client, _code(device)).status_code == 302
        assert client.get("/admin/").url == reverse("admin:password_change")


# --- Password history --------------------------------------------------------------------


def _set(user, password):
    return services.staff_set_password(actor=services.system_actor(), user=user, password=password, reason="test")


def test_none_of_the_last_five_passwords_can_be_chosen_again(dept_staff):
    passwords = [f"Zhou#Mima{n}x" for n in range(1, 6)]
    for password in passwords:
        _set(dept_staff, password)
    # The last five (the current one included) are refused, with the reason...
    for password in passwords:
        with pytest.raises(DomainError, match="last 5 passwords"):
            _set(dept_staff, password)
    # ...the sixth back (the factory's password) is allowed again.
    _set(dept_staff, TEST_PASSWORD)


def test_the_history_follows_the_setting(dept_staff, settings):
    settings.PASSWORD_HISTORY_COUNT = 2
    for password in ("Zhou#Mima1x", "Zhou#Mima2x", "Zhou#Mima3x"):
        _set(dept_staff, password)
    _set(dept_staff, "Zhou#Mima1x")  # three back: allowed
    with pytest.raises(DomainError):
        _set(dept_staff, "Zhou#Mima3x")


def test_the_history_keeps_hashes_only_and_setting_a_password_restarts_the_clock(dept_staff):
    before = User.objects.get(pk=dept_staff.pk).password_changed_at
    with time_machine.travel(timezone.now() + timezone.timedelta(days=10)):
        _set(dept_staff, "Zhou#Mima1x")
    user = User.objects.get(pk=dept_staff.pk)
    assert (user.password_changed_at - before).days == 10
    rows = list(PasswordHistory.objects.filter(user=dept_staff).values_list("password", flat=True))
    assert "Zhou#Mima1x" not in rows and TEST_PASSWORD not in rows
    assert check_password("Zhou#Mima1x", rows[0])


def test_the_own_password_change_form_refuses_a_reused_password(client, dept_staff):
    client.force_login(dept_staff)
    response = client.post(
        reverse("admin:password_change"),
        {"old_password": TEST_PASSWORD, "new_password1": TEST_PASSWORD, "new_password2": TEST_PASSWORD},
    )
    assert response.status_code == 200
    assert "新密码不能与最近 5 次使用过的密码相同" in str(response.context["form"].errors)


# --- Throttling --------------------------------------------------------------------------


def test_five_bad_tries_from_one_address_lock_the_account_there_but_not_elsewhere(dept_staff):
    on_a = Client()
    for _ in range(4):
        assert _password(on_a, dept_staff, "wrong", address=A).status_code == 200
    assert _password(on_a, dept_staff, "wrong", address=A).status_code == 429
    assert _password(on_a, dept_staff, address=A).status_code == 429  # the right password too
    on_b = Client()
    assert _password(on_b, dept_staff, address=B).status_code == 302


def test_an_attacker_elsewhere_cannot_lock_the_administrator_out(system_admin):
    device = _device(system_admin)
    attacker = Client()
    for _ in range(10):
        _password(attacker, system_admin, "guess", address=A)
    admin = Client()
    assert _password(admin, system_admin, address=B).url.startswith(reverse("admin:login_code"))
    assert _code_page(admin, _code(device), address=B).status_code == 302
    assert admin.get("/admin/", REMOTE_ADDR=B).status_code == 200


def test_thirty_failures_from_one_address_over_many_accounts_lock_the_address(org):
    from tests.factories import make_user

    victims = [make_user(role="dept_staff", department=org["housing"]) for _ in range(8)]
    attacker = Client()
    tries = 0
    for victim in victims:
        for _ in range(4):  # under the per-account limit every time
            if tries == 29:
                break
            assert _password(attacker, victim, "guess", address=A).status_code == 200
            tries += 1
    # The thirtieth failure locks the address.
    assert _password(attacker, victims[-1], "guess", address=A).status_code == 429
    # Locked for every account there, even one nobody tried, with the right password.
    fresh = make_user(role="operator", department=org["centre"])
    assert _password(Client(), fresh, address=A).status_code == 429
    # Another address is not affected.
    assert _password(Client(), fresh, address=B).status_code == 302
    locked = AuditEvent.objects.filter(action="auth.locked_out").order_by("pk").first()
    assert locked.changes["scope"] == "address" and locked.changes["address"] == A


def test_the_failures_and_the_lockout_are_in_the_action_log(dept_staff):
    client = Client()
    for _ in range(5):
        _password(client, dept_staff, "wrong", address=A)
    failed = AuditEvent.objects.filter(action="auth.login_failed", changes__username=dept_staff.username)
    assert failed.count() == 5
    assert set(failed.values_list("ip_address", flat=True)) == {A}
    locked = AuditEvent.objects.get(action="auth.locked_out")
    assert locked.changes == {"username": dept_staff.username, "address": A, "scope": "account"}
    assert locked.ip_address == A


def test_behind_nginx_the_address_is_x_real_ip(dept_staff, settings):
    settings.PRODUCTION = True
    settings.ALLOWED_HOSTS = ["testserver"]
    client = Client()
    for _ in range(5):
        client.post(
            LOGIN, {"username": dept_staff.username, "password": "wrong"}, REMOTE_ADDR="127.0.0.1", HTTP_X_REAL_IP=A
        )
    # Same proxy address, another client: not locked.
    response = client.post(
        LOGIN,
        {"username": dept_staff.username, "password": TEST_PASSWORD, "next": "/admin/"},
        REMOTE_ADDR="127.0.0.1",
        HTTP_X_REAL_IP=B,
    )
    assert response.status_code == 302
    assert AuditEvent.objects.get(action="auth.locked_out").changes["address"] == A


# --- The demo ----------------------------------------------------------------------------


def test_demo_totp_prints_the_current_code_and_refuses_in_production(dept_leader, settings):
    import io

    from django.core.management import CommandError, call_command

    from apps.organization.management.commands.load_demo_city import DEMO_TOTP_KEY

    device = TOTPDevice.objects.create(user=dept_leader, name="TOTP", key=DEMO_TOTP_KEY, confirmed=True)
    out = io.StringIO()
    call_command("demo_totp", dept_leader.username, stdout=out, stderr=io.StringIO())
    assert out.getvalue().strip() in {_code(device), _code(device, offset=1)}  # a step may pass meanwhile
    settings.PRODUCTION = True
    with pytest.raises(CommandError):
        call_command("demo_totp", dept_leader.username, stdout=io.StringIO())
