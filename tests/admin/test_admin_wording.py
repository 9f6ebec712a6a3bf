"""Django's default wording reads like the product's, in Chinese and in English: list
titles, read-only object pages, the app index, the user add page."""

from __future__ import annotations

import re

import pytest

from tests import factories

ZH, EN = "zh-hans", "en"


def _page(client, url, lang):
    response = client.get(url, HTTP_ACCEPT_LANGUAGE=lang)
    assert response.status_code == 200, url
    return response.content.decode()


def _h1(body):
    return re.search(r"<h1>(.*?)</h1>", body, re.S).group(1).strip()


def _title(body):
    """The page's own part of <title> (after the object's name, before the site's)."""
    parts = re.search(r"<title>(.*?)</title>", body, re.S).group(1).split(" | ")
    return parts[-2].strip()


@pytest.mark.parametrize(
    "url, lang, expected",
    [
        ("/admin/appeals/appeal/", ZH, "诉求"),
        ("/admin/appeals/appeal/", EN, "Appeals"),
        # Read-only for the operator: Django says "Select notification to view".
        ("/admin/notifications/notification/", ZH, "通知"),
        ("/admin/notifications/notification/", EN, "Notifications"),
        ("/admin/appeals/category/", EN, "Categories"),
    ],
)
def test_a_list_is_titled_by_its_plural_name(client, operator, url, lang, expected):
    client.force_login(operator)
    body = _page(client, url, lang)
    assert _h1(body) == expected
    assert _title(body) == expected
    assert "选择" not in _h1(body) and "Select" not in body.split("<h1>")[1].split("</h1>")[0]


@pytest.mark.parametrize("lang, expected", [(ZH, "诉求 {}"), (EN, "Appeal {}")])
def test_an_object_page_with_nothing_to_edit_says_what_it_is_not_change(client, operator, catalog, org, lang,
                                                                         expected):
    # The operator holds the change permission on appeals, but the page only shows (the
    # case desk): status changes go through its buttons. Its title names the appeal.
    appeal = factories.make_appeal(operator=operator, category=catalog["leaf"], area=org["street"])
    client.force_login(operator)
    body = _page(client, f"/admin/appeals/appeal/{appeal.pk}/change/", lang)
    assert _h1(body) == expected.format(appeal.tracking_number)
    assert "修改" not in _title(body) and "Change" not in _title(body)


@pytest.mark.parametrize("lang, expected", [(ZH, "修改工作人员"), (EN, "Change staff member")])
def test_an_editable_object_page_still_says_change(client, system_admin, operator, lang, expected):
    client.force_login(system_admin)
    body = _page(client, f"/admin/organization/user/{operator.pk}/change/", lang)
    assert _h1(body) == expected


def test_the_app_index_speaks_chinese_throughout(client, operator):
    client.force_login(operator)
    body = _page(client, "/admin/appeals/", ZH)
    assert _h1(body) == "诉求"
    for english in ("Model name", "Add link", "Change or view list link", "administration"):
        assert english not in body
    for chinese in ("名称", "新增链接", "列表链接"):
        assert f'<th scope="col">{chinese}</th>' in body


@pytest.mark.parametrize(
    "lang, expected, django_note",
    [
        (ZH, "部门和角色决定此人能看到和办理哪些事项", "After you"),
        (EN, "The department and the role decide what this person may see and do", "After you"),
    ],
)
def test_the_user_add_page_explains_what_decides_access(client, system_admin, lang, expected, django_note):
    client.force_login(system_admin)
    body = _page(client, "/admin/organization/user/add/", lang)
    assert expected in body
    assert django_note not in body
    assert _h1(body) == ("新增工作人员" if lang == ZH else "Add staff member")


def test_the_header_and_changelist_use_the_products_chinese(client, security_admin):
    # The security admin: the staff list's only bulk action (unlocking) is theirs.
    client.force_login(security_admin)
    body = _page(client, "/admin/organization/user/", ZH)
    assert "退出登录" in body and "注销" not in body
    assert "查看站点" not in body  # no "View site": the site is this admin
    assert "按角色" in body and "以 " not in body  # filter titles
    assert "执行所选操作" in body  # the action button's tooltip


def test_an_action_page_title_uses_the_chinese_colon(client, outsider, operator, catalog, org, dispatcher):
    from apps.tasks.services import appeal_dispatch

    appeal = factories.make_appeal(operator=operator, category=catalog["leaf"], area=org["street"])
    task = appeal_dispatch(actor=dispatcher, appeal=appeal, lead=org["market"])  # the rule's department
    client.force_login(outsider)  # staff of the market bureau
    body = _page(client, f"/admin/tasks/task/{task.pk}/do/sign/", ZH)
    assert _title(body).startswith("签收：")


def test_signing_out_says_so_plainly(client, operator):
    client.force_login(operator)
    body = client.post("/admin/logout/", HTTP_ACCEPT_LANGUAGE=ZH).content.decode()
    assert "您已安全退出登录。" in body
    assert "美好时光" not in body  # Django's "quality time with the web site"
