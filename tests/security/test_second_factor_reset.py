"""A lost authenticator: the security administrator removes it (with the reason and how
the person was identified), and the account holder enrols a new one at the next login.
Separation of duties: not the system administrator (who resets passwords), nobody for
themselves."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.audit.models import AuditEvent
from apps.core.exceptions import DomainError
from apps.organization import services
from tests.security.test_login import _code, _code_page, _device, _password

REASON = "手机遗失，本人到窗口核验身份证后申请"


def _reset_url(user):
    return reverse("admin:organization_user_reset_second_factor", args=[user.pk])


def test_the_security_administrator_resets_a_lost_authenticator_and_the_holder_enrols_anew(
    client, security_admin, dept_leader
):
    old = _device(dept_leader)
    leader = Client()  # the leader's own browser, logged in with the old phone
    _password(leader, dept_leader)
    _code_page(leader, _code(old))
    assert leader.get("/admin/").status_code == 200

    client.force_login(security_admin)
    page = client.get(reverse("admin:organization_user_change", args=[dept_leader.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert _reset_url(dept_leader) in page.content.decode()
    form = client.get(_reset_url(dept_leader), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert dept_leader.username in form and "已绑定" in form  # who, and that a device is enrolled
    done = client.post(_reset_url(dept_leader), {"version": 0, "reason": REASON})
    assert done.status_code == 302

    assert not TOTPDevice.objects.filter(user=dept_leader).exists()
    event = AuditEvent.objects.get(action="staff.second_factor_reset")
    assert event.actor == security_admin and event.reason == REASON
    assert str(event.target_id) == str(dept_leader.pk)
    # The session verified with the old phone asks again, and only enrolment lets it in.
    refused = leader.get("/admin/")
    assert refused.status_code == 302
    fresh = Client()
    response = _password(fresh, dept_leader)
    assert response.url.startswith(reverse("admin:login_enrol"))
    assert fresh.get(response.url).status_code == 200  # the QR code of a new key
    pending = TOTPDevice.objects.get(user=dept_leader, confirmed=False)
    assert pending.key != old.key


@pytest.mark.parametrize("who", ["system_admin", "audit_admin", "dispatcher", "dept_leader", "city_leader"])
def test_nobody_else_may_reset_it(client, request, who, inspector):
    _device(inspector)
    actor = request.getfixturevalue(who)
    client.force_login(actor)
    page = client.get(reverse("admin:organization_user_change", args=[inspector.pk]))
    assert _reset_url(inspector) not in page.content.decode()
    assert client.post(_reset_url(inspector), {"version": 0, "reason": REASON}).status_code in {403, 404}
    with pytest.raises(DomainError):
        services.staff_reset_second_factor(actor=actor, user=inspector, reason=REASON)
    assert TOTPDevice.objects.filter(user=inspector, confirmed=True).count() == 1
    assert not AuditEvent.objects.filter(action="staff.second_factor_reset").exists()


def test_a_security_administrator_cannot_reset_their_own(client, security_admin):
    client.force_login(security_admin)  # the suite's client enrolled a device for the login
    assert client.get(_reset_url(security_admin)).status_code == 403
    with pytest.raises(DomainError, match="另一位安全管理员"):
        services.staff_reset_second_factor(actor=security_admin, user=security_admin, reason=REASON)
    assert TOTPDevice.objects.filter(user=security_admin).exists()


def test_the_reason_is_required_and_nothing_changes_without_it(client, security_admin, city_leader):
    _device(city_leader)
    client.force_login(security_admin)
    response = client.post(_reset_url(city_leader), {"version": 0, "reason": "  "}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 200
    assert "这个字段是必填项" in response.content.decode() or "必填" in response.content.decode()
    assert TOTPDevice.objects.filter(user=city_leader).exists()
    assert not AuditEvent.objects.filter(action="staff.second_factor_reset").exists()


def test_an_account_without_an_authenticator_has_no_button_and_the_service_says_so(client, security_admin, dispatcher):
    client.force_login(security_admin)
    page = client.get(reverse("admin:organization_user_change", args=[dispatcher.pk]))
    assert _reset_url(dispatcher) not in page.content.decode()
    assert client.get(_reset_url(dispatcher)).status_code == 403
    with pytest.raises(DomainError):
        services.staff_reset_second_factor(actor=security_admin, user=dispatcher, reason=REASON)
