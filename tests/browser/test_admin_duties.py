"""Two duties of issue 12 and 13, with the mouse: the security administrator removes a
leader's lost authenticator from the leader's staff page, and a department leader picks
the grantee of a delegation by typing a name (no select of every leader)."""

from django_otp.plugins.otp_totp.models import TOTPDevice


def test_the_security_administrator_resets_a_leaders_lost_authenticator(browser, demo_city, login, shot):
    from apps.audit.models import AuditEvent
    from apps.organization.models import User

    leader = User.objects.get(username="city_leader")
    assert TOTPDevice.objects.filter(user=leader, confirmed=True).exists()
    login("secadmin")
    browser.open("/admin/organization/user/?q=city_leader")
    browser.open_row("city_leader")
    browser.assert_page_ok()
    browser.click("重置第二重身份验证（身份验证器遗失）")
    browser.assert_page_ok()
    page = browser.text("#content")
    assert "city_leader" in page and "已绑定" in page  # whose account, and its authenticator
    shot("second-factor-reset-form")
    browser.submit()  # no reason: refused, nothing removed
    assert browser.errors()
    assert TOTPDevice.objects.filter(user=leader).exists()
    browser.fill("reason", "手机遗失，本人到窗口核验身份证后申请")
    browser.submit()
    browser.assert_page_ok()
    assert "重新绑定" in browser.messages()
    assert not TOTPDevice.objects.filter(user=leader).exists()
    assert AuditEvent.objects.filter(action="staff.second_factor_reset", actor__username="secadmin").exists()
    shot("second-factor-reset-done")


def test_a_department_leader_picks_the_grantee_of_a_delegation_by_name(browser, demo_city, login, shot):
    from apps.organization.models import User

    other = User.objects.filter(role="city_leader", is_active=True).first()
    login("dept_leader")
    browser.open("/admin/authorization/delegation/add/")
    browser.assert_page_ok()
    assert len(browser.driver.find_elements("css selector", "select[name=grantee] option")) <= 1
    chosen = browser.pick_autocomplete("grantee", other.name[:2], other.name)
    assert other.name in chosen
    shot("delegation-grantee-picker")
