"""Every demo role logs in through the real form and lands on its Chinese workbench; the
harness's helpers work on the appeal intake form, and its page check catches errors.

Run alone: XLX_VENV=... python3 dev.py test tests/browser -q   (screenshots in var/screenshots/)
"""

import pytest

import dev

DEMO_USERNAMES = [username for username, _ in dev.DEMO_LOGINS]


def test_every_demo_role_logs_in_to_its_chinese_workbench(browser, demo_city, login, shot):
    # One test for all roles: the demo city loads once. Problems are collected, not stopped at.
    problems = []
    for username in DEMO_USERNAMES:
        login(username)
        try:
            assert browser.path == "/admin/", f"landed on {browser.path}"
            browser.assert_page_ok()
            assert browser.text("#workbench h2") == "我的工作台"
            assert browser.text("#content h1") == "工作台"
            assert "工作台" in browser.driver.title
        except AssertionError as exc:
            problems.append(f"{username}: {exc}")
        assert shot(f"workbench-{username}").stat().st_size > 10_000
    browser.phone()
    assert browser.driver.execute_script("return window.innerWidth") == 375
    assert shot("workbench-auditadmin-phone").exists()
    assert not problems, "\n".join(problems)


def test_the_form_helpers_fill_an_appeal_intake_and_record_it(browser, demo_city, login, shot):
    from apps.appeals.models import Appeal

    login("operator")
    browser.click("登记诉求")  # the workbench link
    assert browser.path == "/admin/appeals/appeal/add/"
    browser.fill("channel", "电话")  # a <select>, by its option's text
    browser.fill("appeal_type", "求助")
    chosen = browser.pick_autocomplete("category", "路灯")
    assert "路灯" in chosen
    browser.pick_autocomplete("area", "街道")
    browser.fill("诉求内容", "小区门口路灯坏了一周，夜里看不见路。")  # by its label
    browser.fill("citizen_name", "周先生")
    browser.fill("citizen_phone", "13900001111")
    browser.assert_page_ok()
    shot("appeal-intake-filled")
    before = Appeal.objects.count()
    browser.click_css("input[name=_save]")
    browser.assert_page_ok()
    assert Appeal.objects.count() == before + 1, browser.text(".errornote, .messagelist, #content")
    assert Appeal.objects.latest("id").content.startswith("小区门口路灯坏了")


def test_the_page_check_catches_an_error_page_and_a_javascript_error(browser, transactional_db):
    browser.open("/no-such-page/")
    with pytest.raises(AssertionError, match="is a 404 page"):
        browser.assert_page_ok()
    browser.open("/admin/login/")
    browser.assert_page_ok()
    browser.driver.execute_script("setTimeout(() => { throw new Error('planted failure'); });")
    browser.driver.execute_script("return new Promise(resolve => setTimeout(resolve, 100));")
    with pytest.raises(AssertionError, match="planted failure"):
        browser.assert_page_ok()
