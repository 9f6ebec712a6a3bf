"""The progress page in a real headless browser (Debian's chromium) at phone size.

Run alone: XLX_VENV=... python3 dev.py test tests/followups/test_progress_browser.py
Screenshots are written to var/screenshots/ for a person to look at. Needs
`apt-get install -y chromium fonts-wqy-zenhei` (the font for Chinese text in screenshots).
"""

import os
import re
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache

from apps.followups import services
from apps.tasks import services as task_services
from tests.factories import make_appeal, make_user
from tests.followups.cdp import CHROMIUM, Browser
from tests.followups.conftest import reply_and_accept

pytestmark = pytest.mark.skipif(
    not os.path.exists(CHROMIUM), reason="needs Debian's chromium at /usr/bin/chromium (apt-get install -y chromium)"
)
SHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"


def _fill(number: str, last4: str) -> str:
    """JavaScript that types both fields and presses the button."""
    return (
        f"document.getElementById('id_tracking_number').value = '{number}';"
        f"document.getElementById('id_phone_last4').value = '{last4}';"
        "document.querySelector('button[type=submit]').click();"
    )


@pytest.fixture
def visited_appeal(transactional_db, org, catalog, operator, dispatcher, holidays_2026, settings):
    settings.CITIZEN_MESSAGE_SENDER = "apps.followups.senders.memory_sender"  # no file from tests
    market_staff = make_user(role="dept_staff", department=org["market"])
    agent = make_user(role="visit_agent", department=org["centre"])
    appeal = make_appeal(operator=operator, category=catalog["leaf"], area=org["street"])
    task = task_services.appeal_dispatch(actor=dispatcher, appeal=appeal, lead=org["market"])
    reply_and_accept(task, staff=market_staff, dispatcher=dispatcher)
    visit = services.visit_start_call(actor=agent, visit=appeal.visits.get())
    services.visit_record_outcome(
        actor=agent, visit=visit, resolved=True, satisfaction="satisfied", citizen_words="已经处理好了"
    )
    cache.clear()
    return appeal


def test_form_renders_at_phone_width_with_the_command_line(live_server, transactional_db):
    SHOTS.mkdir(parents=True, exist_ok=True)
    url = f"{live_server.url}/progress/"
    common = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--window-size=375,812"]
    dom = subprocess.run([*common, "--dump-dom", url], capture_output=True, text=True, timeout=120).stdout
    assert "诉求办理进度" in dom and 'name="tracking_number"' in dom and "csrfmiddlewaretoken" in dom
    shot = SHOTS / "progress-form.png"
    subprocess.run([*common, f"--screenshot={shot}", url], capture_output=True, timeout=120)
    assert shot.exists() and shot.stat().st_size > 1000


def test_citizen_looks_up_the_timeline_on_a_phone(live_server, visited_appeal):
    SHOTS.mkdir(parents=True, exist_ok=True)
    browser = Browser(width=375, height=812)
    try:
        browser.open(f"{live_server.url}/progress/")
        assert browser.run("window.innerWidth") == 375
        # Type like a person and press the button (the CSRF cookie and token are the real ones).
        browser.submit(_fill(visited_appeal.tracking_number, "1234"))
        html = browser.run("document.documentElement.outerHTML")
        steps = browser.run("Array.from(document.querySelectorAll('#timeline li')).map(li => li.dataset.step)")
        done = browser.run("Array.from(document.querySelectorAll('#timeline li.done')).length")
        # Nothing wider than the phone: no sideways scrolling.
        overflow = browser.run("document.documentElement.scrollWidth")
        browser.screenshot(SHOTS / "progress-timeline.png")
        # A wrong phone shows the not-found notice, no timeline.
        browser.open(f"{live_server.url}/progress/")
        browser.submit(_fill(visited_appeal.tracking_number, "9999"))
        wrong = browser.run("document.body.innerText")
        browser.screenshot(SHOTS / "progress-not-found.png")
    finally:
        browser.close()
    assert steps == ["received", "dispatched", "handling", "replied", "visited", "closed"]
    assert done == 6 and overflow <= 375
    assert "已办结" in html and "张三" not in html and not re.search(r"138\d{8}", html)
    assert "未找到" in wrong and "已受理" not in wrong
