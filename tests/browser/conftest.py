"""A real browser for the walks through the UI: Debian's chromium driven by Selenium with
the system chromedriver (nothing downloaded). The module skips, saying why, when either
is missing. Screenshots go to var/screenshots/.

The demo city is loaded into the live server's database the way `dev.py run` does, so the
walks log in with the README's demo logins.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
DEMO_PASSWORD = "Demo@12345"
SHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
WAIT = 15  # seconds for a page or a widget's answer

missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.path.exists(p)]
try:
    import selenium  # noqa: F401
except ImportError:  # pragma: no cover - requirements-dev pins it
    missing.append("the selenium package")

pytestmark = pytest.mark.skipif(
    bool(missing), reason=f"needs {', '.join(missing)} (apt-get install -y chromium chromium-driver)"
)


@pytest.fixture(scope="session")
def driver():
    """One headless Chromium for the session, in Chinese, 1440×900."""
    if missing:
        pytest.skip(f"needs {', '.join(missing)}")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync", "--lang=zh-CN",
        "--window-size=1440,900",
    ):
        options.add_argument(arg)
    options.add_experimental_option("prefs", {"intl.accept_languages": "zh-CN,zh"})
    options.set_capability("goog:loggingPrefs", {"browser": "SEVERE"})
    browser = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    browser.set_page_load_timeout(60)
    yield browser
    browser.quit()


@pytest.fixture
def demo_city(transactional_db, settings):
    """The demo city and its logins, as `python3 dev.py run` loads them."""
    settings.CITIZEN_MESSAGE_SENDER = "apps.followups.senders.memory_sender"
    call_command("import_holidays", verbosity=0)
    call_command("load_demo_city", "--password", DEMO_PASSWORD, verbosity=0)
    call_command("load_catalog", verbosity=0)
    call_command("load_demo_appeals", verbosity=0)


class Walker:
    """What a person does in the browser, with the checks every page must pass: no error
    page, no 403/404, no JavaScript error."""

    def __init__(self, driver, base_url: str):
        self.d, self.base = driver, base_url

    # --- navigation ---------------------------------------------------------------------
    def _go(self, click):
        """Click something that loads a new page, and wait until the new page is there
        (the old page's document gone, the new one complete)."""
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as ec
        from selenium.webdriver.support.ui import WebDriverWait

        old = self.d.find_element(By.TAG_NAME, "html")
        click()
        WebDriverWait(self.d, WAIT).until(ec.staleness_of(old))
        return self.check()

    def open(self, path: str):
        self.d.get(self.base + path)
        return self.check()

    def login(self, username: str, password: str = DEMO_PASSWORD):
        self.d.delete_all_cookies()
        self.open("/admin/login/")
        self.fill_name("username", username)
        self.fill_name("password", password)
        self.submit("#login-form")
        assert "/admin/login/" not in self.d.current_url, f"{username} could not log in"
        return self

    def click_link(self, text: str, within: str = "#content"):
        """Click the link (or link-styled button) whose visible text contains `text`."""
        from selenium.webdriver.common.by import By

        links = [a for a in self.d.find_elements(By.CSS_SELECTOR, f"{within} a") if text in a.text and a.is_displayed()]
        assert links, f"no link {text!r} on {self.d.current_url}"
        return self._go(links[0].click)

    def open_row(self, text: str):
        """Open the object of the list row that shows `text` (by the row's own link)."""
        from selenium.webdriver.common.by import By

        rows = [r for r in self.d.find_elements(By.CSS_SELECTOR, "#result_list tbody tr") if text in r.text]
        assert rows, f"no row with {text!r} on {self.d.current_url}"
        return self._go(rows[0].find_element(By.CSS_SELECTOR, "th a, td a").click)

    def has_link(self, text: str, within: str = "#content") -> bool:
        from selenium.webdriver.common.by import By

        return any(text in a.text for a in self.d.find_elements(By.CSS_SELECTOR, f"{within} a"))

    def action(self, name: str):
        """Press a case-desk action button (its data-action)."""
        from selenium.webdriver.common.by import By

        return self._go(self.d.find_element(By.CSS_SELECTOR, f'#desk-actions a[data-action="{name}"]').click)

    # --- forms ----------------------------------------------------------------------------
    def fill_name(self, name: str, value: str):
        from selenium.webdriver.common.by import By

        field = self.d.find_element(By.NAME, name)
        field.clear()
        field.send_keys(value)
        return self

    def choose(self, name: str, value: str):
        """A select (by option value) or a group of radio buttons (by value)."""
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import Select

        element = self.d.find_elements(By.CSS_SELECTOR, f'select[name="{name}"]')
        if element:
            Select(element[0]).select_by_value(value)
        else:
            self.d.find_element(By.CSS_SELECTOR, f'input[name="{name}"][value="{value}"]').click()
        return self

    def pick(self, name: str, search: str, option: str | None = None):
        """Choose in an autocomplete (select2) field as a person does: open it, type,
        wait for the server's answer, click the option containing `option`."""
        from selenium.common.exceptions import StaleElementReferenceException
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as ec
        from selenium.webdriver.support.ui import WebDriverWait

        select = self.d.find_element(By.CSS_SELECTOR, f'select[name="{name}"]')
        container = select.find_element(By.XPATH, "following-sibling::span[contains(@class,'select2')]")
        container.find_element(By.CSS_SELECTOR, ".select2-selection").click()
        box = WebDriverWait(self.d, WAIT).until(
            ec.visibility_of_element_located((By.CSS_SELECTOR, ".select2-container--open .select2-search__field"))
        )
        box.send_keys(search)
        wanted = option or search

        def chosen(d):
            # The results list is re-rendered as the answer arrives: find and click in one go.
            items = d.find_elements(By.CSS_SELECTOR, ".select2-container--open .select2-results__option")
            item = next((i for i in items if wanted in i.text and "loading" not in i.get_attribute("class")), None)
            if item is None:
                return False
            item.click()
            return True

        WebDriverWait(self.d, WAIT, ignored_exceptions=(StaleElementReferenceException,)).until(chosen)
        return self

    def submit(self, form: str = "#content-main form"):
        from selenium.webdriver.common.by import By

        button = self.d.find_element(By.CSS_SELECTOR, f"{form}").find_element(
            By.CSS_SELECTOR, "input[type=submit], button[type=submit]"
        )
        return self._go(button.click)

    # --- reading --------------------------------------------------------------------------
    @property
    def text(self) -> str:
        from selenium.webdriver.common.by import By

        return self.d.find_element(By.TAG_NAME, "body").text

    def messages(self) -> str:
        from selenium.webdriver.common.by import By

        return " ".join(m.text for m in self.d.find_elements(By.CSS_SELECTOR, ".messagelist li"))

    def errors(self) -> str:
        from selenium.webdriver.common.by import By

        return " ".join(e.text for e in self.d.find_elements(By.CSS_SELECTOR, ".errornote, .errorlist"))

    def check(self):
        """No error page, no refusal, no script error on the page just reached."""
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait

        WebDriverWait(self.d, WAIT).until(lambda d: d.execute_script("return document.readyState") == "complete")
        title = self.d.title
        body = self.d.find_element(By.TAG_NAME, "body").text
        for bad in ("Server Error", "Page not found", "403 Forbidden", "Traceback", "服务器错误"):
            assert bad not in title and bad not in body[:300], f"{bad} at {self.d.current_url}"
        errors = [e for e in self.d.get_log("browser") if e.get("level") == "SEVERE" and "favicon" not in e["message"]]
        assert not errors, f"JavaScript errors at {self.d.current_url}: {errors}"
        return self

    def shot(self, name: str, width: int = 1440):
        """A full-page screenshot under var/screenshots/ (for people to look at)."""
        SHOTS.mkdir(parents=True, exist_ok=True)
        height = self.d.execute_script("return Math.max(document.body.scrollHeight, 900)")
        self.d.set_window_size(width, min(height, 8000))
        time.sleep(0.2)
        self.d.save_screenshot(str(SHOTS / f"{name}.png"))
        self.d.set_window_size(1440, 900)
        return self


@pytest.fixture
def walker(driver, live_server, demo_city):
    return Walker(driver, live_server.url)
