"""The citizens' progress page: the timeline for the right phone, nothing for a wrong one,
no personal data, throttled, CSRF-protected."""

import re

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from apps.followups import services
from tests.followups.conftest import call

URL = "/progress/"


@pytest.fixture(autouse=True)
def _fresh_throttle(settings):
    settings.PROGRESS_RATE_PER_IP = "100/h"
    settings.PROGRESS_RATE_PER_NUMBER = "100/h"
    cache.clear()
    yield
    cache.clear()


def _lookup(client, number, last4, **extra):
    return client.post(URL, {"tracking_number": number, "phone_last4": last4}, **extra)


def _without_token(html: str) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)


def test_the_url_is_public_and_chinese(db):
    assert reverse("progress:lookup") == URL
    page = Client().get(URL)
    assert page.status_code == 200 and page["Cache-Control"].startswith("max-age=0")
    html = page.content.decode()
    assert "办理进度" in html and 'name="viewport"' in html and "csrfmiddlewaretoken" in html
    assert "http://" not in html and "https://" not in html  # nothing from a CDN


def test_timeline_for_the_right_phone_without_personal_data(accepted, visit_agent, market_staff, clock):
    appeal, task, visit = accepted
    visit = call(visit, visit_agent, clock=clock)
    services.visit_record_outcome(
        actor=visit_agent,
        visit=visit,
        resolved=False,
        satisfaction="unsatisfied",
        citizen_words="摊点又回来了",
        fault="department",
        fault_note="内部备注：巡查记录造假",
    )
    page = _lookup(Client(), appeal.tracking_number, "1234")
    assert page.status_code == 200
    html = page.content.decode()
    for word in ["已受理", "已派单", "办理中", "已答复", "回访", "已办结"]:
        assert word in html, word
    assert 'data-step="handling"' in html and "重新办理" in html
    # No personal data, no staff, no department, no internal notes, no digits echoed.
    for secret in [
        "张三",
        "13812341234",
        'value="1234"',
        appeal.content,
        task.department.name,
        market_staff.name,
        visit_agent.name,
        "内部备注",
        "摊点又回来了",
        task.reply_text,
        task.contact_note,
    ]:
        assert secret not in html, secret


def test_unknown_number_and_wrong_phone_look_the_same(accepted, django_assert_num_queries):
    appeal, _task, _visit = accepted
    client = Client()
    with django_assert_num_queries(3):
        wrong_phone = _lookup(client, appeal.tracking_number, "9999")
    with django_assert_num_queries(3):
        unknown = _lookup(client, "20990101-000001", "1234")
    assert wrong_phone.status_code == unknown.status_code == 200
    assert "未找到" in wrong_phone.content.decode()
    # Identical pages but for the tracking number itself (never echoed either).
    assert _without_token(wrong_phone.content.decode()) == _without_token(unknown.content.decode())
    assert appeal.tracking_number not in wrong_phone.content.decode()


def test_anonymous_appeals_are_never_shown(org, catalog, operator, db):
    from tests.factories import make_appeal

    appeal = make_appeal(operator=operator, category=catalog["leaf"], area=org["street"], phone="", is_anonymous=True)
    for guess in ["0000", "1234", "9999"]:
        assert "未找到" in _lookup(Client(), appeal.tracking_number, guess).content.decode()


def test_throttled_per_number_and_per_address(accepted, settings):
    appeal, _task, _visit = accepted
    settings.PROGRESS_RATE_PER_NUMBER = "3/h"
    client = Client()
    codes = [_lookup(client, appeal.tracking_number, f"{n:04d}").status_code for n in range(4)]
    assert codes == [200, 200, 200, 429]
    # Even the right phone is refused now for this number: guessing stopped.
    blocked = _lookup(client, appeal.tracking_number, "1234")
    assert blocked.status_code == 429 and "已受理" not in blocked.content.decode()
    # Another address is throttled per address across numbers.
    settings.PROGRESS_RATE_PER_NUMBER = "100/h"
    settings.PROGRESS_RATE_PER_IP = "2/h"
    cache.clear()
    other = [_lookup(client, f"20260310-00000{n}", "1234", REMOTE_ADDR="10.0.0.9").status_code for n in range(2, 5)]
    assert other == [200, 200, 429]
    assert _lookup(client, "20260310-000005", "1234", REMOTE_ADDR="10.0.0.10").status_code == 200


def test_csrf_protected(accepted):
    appeal, _task, _visit = accepted
    client = Client(enforce_csrf_checks=True)
    assert _lookup(client, appeal.tracking_number, "1234").status_code == 403
    page = client.get(URL)
    token = page.cookies["csrftoken"].value
    ok = client.post(
        URL, {"tracking_number": appeal.tracking_number, "phone_last4": "1234", "csrfmiddlewaretoken": token}
    )
    assert ok.status_code == 200
