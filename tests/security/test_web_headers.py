"""Web hardening: a Content-Security-Policy on every response with nothing inline for it to
block, frames denied, and in production HSTS, HTTPS only and secure cookies. (The product
accepts no uploaded files: no FileField or ImageField anywhere; see the last test.)"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from tests.test_deploy import manage, production_env

REQUIRED = {
    "default-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {d.split()[0]: d.split()[1:] for d in (p.strip() for p in header.split(";")) if d}


def assert_strict_policy(response):
    directives = policy(response)
    for name, value in REQUIRED.items():
        assert directives[name] == [value], (name, directives.get(name))
    for name in ("script-src", "style-src"):
        assert directives[name][0] == "'self'"
        assert "'unsafe-inline'" not in directives[name] and "'unsafe-eval'" not in directives[name]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


# Inline code the policy would block: a <script> with a body, an event handler, a style
# attribute, a <style> without the page's nonce, a javascript: URL.
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*\bnonce=)[^>]*>\s*\S", re.I)
EVENT_HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.I)
STYLE_ATTRIBUTE = re.compile(r"<[a-z][^>]*\sstyle\s*=", re.I)
STYLE_BLOCK = re.compile(r"<style(?![^>]*\bnonce=)[^>]*>", re.I)
JS_URL = re.compile(r"(href|src|action)\s*=\s*[\"']\s*javascript:", re.I)


def inline_code(html: str) -> list[str]:
    return [p.pattern for p in (INLINE_SCRIPT, EVENT_HANDLER, STYLE_ATTRIBUTE, STYLE_BLOCK, JS_URL) if p.search(html)]


def assert_works_under_the_policy(response):
    assert response.status_code == 200
    assert_strict_policy(response)
    html = response.content.decode()
    # The admin's own change list adds one <style> when a list has no actions (a column
    # width, harmless if blocked); everything else must be free of inline code.
    html = html.replace("<style>\n      #changelist table thead th:first-child {width: inherit}\n    </style>", "")
    assert inline_code(html) == [], response.request["PATH_INFO"]


# --- Headers ---------------------------------------------------------------------------------


def test_the_login_page_carries_the_policy(client):
    assert_works_under_the_policy(client.get(reverse("admin:login")))


def test_a_missing_page_and_a_refused_one_carry_the_policy(client, dept_staff):
    client.force_login(dept_staff)
    assert_strict_policy(client.get("/admin/no-such-page/"))
    refused = client.get(reverse("admin:organization_user_changelist"))
    assert refused.status_code == 403
    assert_strict_policy(refused)


def test_the_error_pages_inline_style_is_allowed_by_its_hash_and_nothing_else_is(client):
    response = client.get("/no-such-page-at-all/")
    assert response.status_code == 404
    html = response.content.decode()
    style = re.search(r"<style>(.*?)</style>", html, re.S).group(1)
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert f"'sha256-{digest}'" in policy(response)["style-src"]
    assert inline_code(html.replace(f"<style>{style}</style>", "")) == []


def test_the_public_progress_page_has_no_inline_style(client):
    response = client.get(reverse("progress:lookup"))
    assert_works_under_the_policy(response)
    assert "xlx/progress.css" in response.content.decode()
    assert (Path(settings.BASE_DIR) / "apps/core/static/xlx/progress.css").read_text().count("{") > 10


def test_a_nonce_enters_the_header_only_for_a_page_that_uses_it(rf):
    from csp.middleware import CSPMiddleware
    from django.http import HttpResponse

    middleware = CSPMiddleware(lambda request: HttpResponse("x"))
    request = rf.get("/")
    middleware.process_request(request)
    plain = middleware.process_response(request, HttpResponse("x"))
    assert "nonce-" not in plain["Content-Security-Policy"]
    request = rf.get("/")
    middleware.process_request(request)
    nonce = str(request.csp_nonce)
    used = middleware.process_response(request, HttpResponse(f'<script nonce="{nonce}">1</script>'))
    assert f"'nonce-{nonce}'" in policy(used)["script-src"]


# --- The admin's pages work under the policy -------------------------------------------------


@pytest.fixture
def work_order(org, catalog, operator, dispatcher):
    from apps.tasks.services import appeal_dispatch
    from tests.factories import make_appeal

    appeal = make_appeal(operator=operator, category=catalog["leaf"], area=org["street"])
    return appeal_dispatch(actor=dispatcher, appeal=appeal, lead=org["housing"], override_reason="属地")


def test_the_appeal_list_and_page_render_under_the_policy(client, dispatcher, work_order):
    client.force_login(dispatcher)
    assert_works_under_the_policy(client.get(reverse("admin:appeals_appeal_changelist")))
    assert_works_under_the_policy(client.get(reverse("admin:appeals_appeal_change", args=[work_order.appeal_id])))
    assert_works_under_the_policy(client.get(reverse("admin:appeals_appeal_add")))


def test_the_work_order_desk_and_an_action_page_render_under_the_policy(client, dept_staff, work_order):
    client.force_login(dept_staff)
    assert_works_under_the_policy(client.get(reverse("admin:index")))
    assert_works_under_the_policy(client.get(reverse("admin:tasks_task_changelist")))
    assert_works_under_the_policy(client.get(reverse("admin:tasks_task_change", args=[work_order.pk])))
    assert_works_under_the_policy(client.get(reverse("admin:tasks_task_sign", args=[work_order.pk])))
    assert_works_under_the_policy(client.get(reverse("admin:tasks_task_history", args=[work_order.pk])))


def test_the_staff_and_action_log_pages_render_under_the_policy(client, system_admin, audit_admin, dept_staff):
    client.force_login(system_admin)
    assert_works_under_the_policy(client.get(reverse("admin:organization_user_change", args=[dept_staff.pk])))
    assert_works_under_the_policy(client.get(reverse("admin:organization_user_add")))
    client.force_login(audit_admin)
    assert_works_under_the_policy(client.get(reverse("admin:audit_auditevent_changelist")))


# --- Our templates and admin code ------------------------------------------------------------


def _templates():
    root = Path(settings.BASE_DIR)
    yield from (root / "templates").rglob("*.html")
    yield from root.glob("apps/*/templates/**/*.html")


def test_the_inline_code_detector_sees_what_the_policy_blocks():
    # Guards the scans here: each would pass vacuously if its pattern were wrong.
    blocked = [
        "<script>alert(1)</script>",
        '<a href="#" onclick="go()">x</a>',
        '<span style="color:red">x</span>',
        "<style>p{}</style>",
        '<a href="javascript:go()">x</a>',
    ]
    assert all(inline_code(html) for html in blocked)
    allowed = '<script src="/static/a.js"></script><script nonce="n">1</script><style nonce="n">p{}</style>'
    assert inline_code(allowed) == []


def test_no_template_of_ours_holds_inline_script_or_style():
    found = {}
    for path in _templates():
        html = path.read_text(encoding="utf-8")
        if path.as_posix().endswith("templates/errors/page.html"):
            html = re.sub(r"<style>.*?</style>", "", html, flags=re.S)  # allowed by its hash
        if problems := inline_code(html):
            found[str(path)] = problems
    assert found == {}


def test_no_admin_code_of_ours_writes_a_style_attribute_or_handler():
    root = Path(settings.BASE_DIR)
    found = [
        str(path)
        for path in root.glob("apps/**/*.py")
        if "/tests/" not in path.as_posix()
        and re.search(r"""(style|on[a-z]+)=\\?["'][^"']*[:;(]""", path.read_text(encoding="utf-8"))
    ]
    assert found == []


# --- Production --------------------------------------------------------------------------------

_PRINT = (
    "import json; from django.conf import settings as s; print(json.dumps({k: getattr(s, k, None) for k in "
    "['DEBUG', 'SECURE_SSL_REDIRECT', 'SECURE_HSTS_SECONDS', 'SECURE_HSTS_INCLUDE_SUBDOMAINS', "
    "'SECURE_HSTS_PRELOAD', 'SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', 'SESSION_COOKIE_HTTPONLY', "
    "'X_FRAME_OPTIONS', 'SECURE_CONTENT_TYPE_NOSNIFF']}))"
)


def test_production_sends_hsts_and_uses_https_only_and_secure_cookies(tmp_path):
    result = manage(tmp_path, "shell", "-c", _PRINT, **production_env())
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values == {
        "DEBUG": False,
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": True,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "X_FRAME_OPTIONS": "DENY",
        "SECURE_CONTENT_TYPE_NOSNIFF": True,
    }


def test_with_the_production_settings_the_headers_and_cookies_are_sent(client, settings):
    # The same values as above, through the middleware: what a browser receives.
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_HSTS_PRELOAD = True
    settings.SECURE_SSL_REDIRECT = True
    settings.CSRF_COOKIE_SECURE = True
    settings.SESSION_COOKIE_SECURE = True
    assert client.get(reverse("admin:login")).status_code == 301  # plain HTTP goes to HTTPS
    response = client.get(reverse("admin:login"), secure=True)
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert response.cookies["csrftoken"]["secure"]
    assert_strict_policy(response)


def test_the_product_accepts_no_uploaded_files():
    from django.apps import apps
    from django.db.models import FileField

    assert [f for m in apps.get_models() for f in m._meta.get_fields() if isinstance(f, FileField)] == []
    assert not getattr(settings, "MEDIA_ROOT", "")
