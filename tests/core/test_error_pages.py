"""400, 403, 404 and 500 are the product's own pages, in the reader's language, with the
way back to the workbench; never Django's bare or technical pages."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

WORKBENCH_LINK = 'href="/admin/"'


def _get(client, url, lang, **extra):
    return client.get(url, HTTP_ACCEPT_LANGUAGE=lang, **extra)


def _assert_product_page(response, status, *texts):
    assert response.status_code == status
    body = response.content.decode()
    assert 'class="error-page"' in body
    assert WORKBENCH_LINK in body
    for text in texts:
        assert text in body
    # Not Django's pages: neither the bare default nor the DEBUG technical one.
    for django_text in ("Traceback", "Django", "<h1>Not Found</h1>", "403 Forbidden", "Server Error (500)"):
        assert django_text not in body
    return body


@pytest.mark.parametrize(
    "lang, texts",
    [
        ("zh-hans", ["页面不存在", "返回工作台", '<html lang="zh-hans"']),
        ("en", ["Page not found", "Back to the workbench", '<html lang="en"']),
    ],
)
def test_a_missing_page_answers_the_product_404_in_the_readers_language(client, lang, texts):
    _assert_product_page(_get(client, "/no-such-page/", lang), 404, *texts)


def test_chinese_is_the_default_language_of_the_error_pages(client):
    _assert_product_page(client.get("/no-such-page/"), 404, "页面不存在")


def test_a_missing_admin_object_answers_the_product_404(client, operator):
    client.force_login(operator)
    response = _get(client, "/admin/tasks/task/999999/change/", "zh-hans")
    _assert_product_page(response, 404, "页面不存在")


@pytest.mark.parametrize(
    "lang, texts", [("zh-hans", ["无权打开此页面", "返回工作台"]), ("en", ["You may not open this page"])]
)
def test_an_admin_page_the_user_may_not_open_answers_the_product_403(client, dept_staff, lang, texts):
    # Department staff may not manage staff accounts: the admin raises PermissionDenied.
    client.force_login(dept_staff)
    response = _get(client, "/admin/organization/user/", lang)
    _assert_product_page(response, 403, *texts)


@pytest.mark.urls("tests.core.error_urls")
def test_the_403_page_shows_the_reason_given(client):
    response = _get(client, "/test-errors/refused/", "en")
    _assert_product_page(response, 403, "Only return-visit agents record visits.")


@pytest.mark.parametrize("lang, text", [("zh-hans", "请求无法处理"), ("en", "The request could not be handled")])
def test_a_request_for_another_host_answers_the_product_400(client, lang, text):
    response = _get(client, "/admin/", lang, HTTP_HOST="elsewhere.example")
    _assert_product_page(response, 400, text)


@pytest.mark.urls("tests.core.error_urls")
def test_a_suspicious_request_answers_the_product_400(client):
    _assert_product_page(_get(client, "/test-errors/bad/", "zh-hans"), 400, "请求无法处理")


@pytest.mark.urls("tests.core.error_urls")
@pytest.mark.parametrize("lang, text", [("zh-hans", "系统内部出错"), ("en", "Something went wrong on our side")])
def test_an_error_answers_the_product_500_with_the_request_id(lang, text):
    client = Client(raise_request_exception=False)
    response = _get(client, "/test-errors/boom/", lang, HTTP_X_REQUEST_ID="req-0123456789")
    body = _assert_product_page(response, 500, text)
    assert "req-0123456789" in body
    assert response["X-Request-ID"] == "req-0123456789"


def test_the_500_page_renders_without_a_request_or_database(django_assert_num_queries):
    # Django renders it with no RequestContext; it must need no context processor, no
    # query and no static file (the failure may be in any of them).
    from django.template import loader

    with django_assert_num_queries(0):
        body = loader.get_template("500.html").render({"request_id": "r-1"})
    for name in ("500.html", "errors/page.html"):
        assert "{% static" not in loader.get_template(name).template.source
    assert "/static/" not in body
    assert WORKBENCH_LINK in body


def test_a_stale_form_answers_the_product_csrf_page(operator):
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)
    response = client.post("/admin/logout/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    _assert_product_page(response, 403, "表单")
