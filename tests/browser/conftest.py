"""A real browser on the live server: Debian's chromium driven by Selenium (offline, no
driver download), one browser for the whole session.

    def test_something(browser, demo_city, login, shot):
        login("dispatcher")                        # through the real login form
        browser.click("待分派")                     # a link or button by its visible text
        browser.fill("诉求内容", "路灯坏了")           # a field by its label (or name)
        browser.pick_autocomplete("category", "路灯")  # select2: type, wait, click the option
        browser.assert_page_ok()                  # no error page, no JavaScript error
        shot("dispatcher-list")                   # var/screenshots/dispatcher-list.png

The admin speaks Simplified Chinese: the browser asks for zh-CN. Windows are 1440×900;
`browser.phone()` makes the viewport 375×812 and `browser.desktop()` turns it back. Every
test starts logged out at desktop size with the console log emptied.

Needs /usr/bin/chromium and /usr/bin/chromedriver (apt-get install -y chromium
chromium-driver, and fonts-wqy-zenhei for Chinese in screenshots); without them every
test here is skipped, saying why.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from django.conf import settings

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
DESKTOP = (1440, 900)
PHONE = (375, 812)
SHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
TIMEOUT = 15  # seconds to wait for a page, an element or an autocomplete answer
# Console messages that are not the page's fault.
IGNORED_CONSOLE = (re.compile(r"/favicon\.ico"),)
# What Django's own error pages say (DEBUG off, as in tests), and its debug pages.
# The product's own error pages (templates/errors/page.html) carry their status.
ERROR_PAGE_MARKERS = {
    "server error": re.compile(r'data-status="500"|<h1>Server Error \(500\)</h1>|Traceback \(most recent call last\)'),
    "403": re.compile(r'data-status="403"|<h1>403 Forbidden</h1>|<h1>Forbidden <span>\(403\)</span></h1>'),
    "404": re.compile(r'data-status="404"|<h1>Not Found</h1>|<title>Page not found at'),
    "400": re.compile(r'data-status="400"|<h1>Bad Request \(400\)</h1>'),
}


def _missing() -> str:
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.path.exists(p)]
    if missing:
        return f"needs {' and '.join(missing)} (apt-get install -y chromium chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "needs selenium (requirements-dev.txt)"
    return ""


def pytest_collection_modifyitems(config, items):
    reason = _missing()
    if not reason:
        return
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.skip(reason=reason))


def _xpath_literal(text: str) -> str:
    """A string as an XPath 1.0 literal (which has no escapes)."""
    if "'" not in text:
        return f"'{text}'"
    if '"' not in text:
        return f'"{text}"'
    return "concat(" + ', "\'", '.join(f"'{part}'" for part in text.split("'")) + ")"


class Browser:
    """The session's Chrome, pointed at the live server, with the helpers a walk through
    the admin needs. `driver` is the Selenium WebDriver for anything else."""

    def __init__(self, driver, base_url: str, *, strict: bool = False):
        self.driver = driver
        self.base_url = base_url.rstrip("/")
        # strict: every page reached by open() or a click must pass assert_page_ok().
        self.strict = strict

    # --- pages ------------------------------------------------------------------------------

    def open(self, path: str) -> None:
        """Go to a path on the live server ("/admin/") and wait for it to load."""
        self.driver.get(self.base_url + path)
        self.wait_for_page()
        if self.strict:
            self.assert_page_ok()

    def wait_for_page(self, timeout: float = TIMEOUT) -> None:
        """Wait until the document has loaded (and jQuery, when the page has it, is idle)."""
        from selenium.webdriver.support.ui import WebDriverWait

        WebDriverWait(self.driver, timeout).until(
            lambda d: d.execute_script(
                "return document.readyState === 'complete' && !(window.django && django.jQuery && django.jQuery.active)"
            )
        )

    @property
    def path(self) -> str:
        """The current path and query string (without the live server's address)."""
        return self.driver.current_url.removeprefix(self.base_url)

    @property
    def html(self) -> str:
        return self.driver.page_source

    def text(self, css: str = "body") -> str:
        """The visible text of the first element matching a CSS selector."""
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.CSS_SELECTOR, css).text

    # --- sessions ---------------------------------------------------------------------------

    def logout(self) -> None:
        """Log out through the admin's log-out button if a session shows one; then forget
        every cookie, so that the next page starts anonymous."""
        from selenium.webdriver.common.by import By

        buttons = self.driver.find_elements(By.CSS_SELECTOR, "#logout-form button")
        if buttons and buttons[0].is_displayed():
            self._click_and_wait(buttons[0])
        self.driver.delete_all_cookies()

    def login(self, username: str, password: str | None = None, *, landing: bool = False) -> None:
        """Start a fresh session, then log in through the real admin login form (demo password by default)
        and land on the workbench (landing=True: on the role's own landing page, as a user
        who opens the login page directly); fails with the page's message when refused."""
        from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException

        import dev

        # A fresh session (not the log-out button: its answer may land after the next page
        # has loaded and replace it), then the form. Tried again if the page is replaced
        # under the form while it is being filled (seen on a loaded machine).
        page = "/admin/login/" if landing else "/admin/login/?next=/admin/"
        for attempt in range(3):
            if not self.driver.current_url.startswith(self.base_url):
                self.open("/admin/login/")  # cookies are cleared for the site being shown
            self.driver.delete_all_cookies()
            self.open(page)
            try:
                self.fill("username", username)
                self.fill("password", password or dev.DEMO_PASSWORD)
                self.click_css("#login-form [type=submit]")
                break
            except (NoSuchElementException, StaleElementReferenceException, AssertionError):
                if attempt == 2:
                    raise AssertionError(f"no login form to fill at {self.path} ({self.driver.title})") from None
        if self.path.startswith(("/admin/login/code/", "/admin/login/enrol/")):
            self._type_second_factor(username)
        if self.path.startswith("/admin/login/"):
            errors = self.driver.find_elements("css selector", ".errornote, .errorlist")
            raise AssertionError(f"login as {username} refused: {' '.join(e.text for e in errors)}")

    def _type_second_factor(self, username: str) -> None:
        """Leaders, inspectors and administrators: type the code their authenticator app
        would show now (from the device's key, django_otp.oath.totp), on the code page or
        the enrolment page, as the person does."""
        from django_otp.oath import totp
        from django_otp.plugins.otp_totp.models import TOTPDevice
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions
        from selenium.webdriver.support.ui import WebDriverWait

        enrolling = self.path.startswith("/admin/login/enrol/")
        device = TOTPDevice.objects.filter(user__username=username, confirmed=not enrolling).order_by("pk").first()
        assert device is not None, f"{username} has no {'pending' if enrolling else 'confirmed'} TOTP device"
        # A walk may log the same person in twice within one 30-second step, which the
        # device rightly refuses as a replay; the harness's device forgets its last code.
        device.last_t = -1
        device.save(update_fields=["last_t"])
        code = totp(device.bin_key, device.step, device.t0, device.digits, device.drift)
        # On a loaded machine the code page may still be arriving when its path shows:
        # wait for its button before typing and pressing it.
        WebDriverWait(self.driver, 20).until(
            expected_conditions.presence_of_element_located((By.CSS_SELECTOR, "#login-form [type=submit]"))
        )
        self.fill("code", f"{code:0{device.digits}d}")
        self.click_css("#login-form [type=submit]")

    # --- finding and acting -----------------------------------------------------------------

    def find_by_text(self, text: str, *, exact: bool = True, within: str = ""):
        """The first visible link, button or submit/button input whose text (or value) is
        `text` (or contains it, with exact=False), inside the element `within` (CSS) if given."""
        from selenium.webdriver.common.by import By

        t = _xpath_literal(text)
        match = f"normalize-space(.)={t}" if exact else f"contains(normalize-space(.), {t})"
        value = f"normalize-space(@value)={t}" if exact else f"contains(@value, {t})"
        xpath = f".//a[{match}] | .//button[{match}] | .//input[(@type='submit' or @type='button') and {value}]"
        roots = self.driver.find_elements(By.CSS_SELECTOR, within) if within else [self.driver]
        for root in roots:
            for element in root.find_elements(By.XPATH, xpath):
                if element.is_displayed():
                    return element
        if exact:
            return self.find_by_text(text, exact=False, within=within)
        raise AssertionError(f"no visible link or button {text!r}{' in ' + within if within else ''} on {self.path}")

    def has_link(self, text: str, *, within: str = "") -> bool:
        """Whether a visible link or button shows `text` (inside `within`)."""
        try:
            self.find_by_text(text, exact=False, within=within)
        except AssertionError:
            return False
        return True

    def click(self, text: str, *, exact: bool = True, within: str = "") -> None:
        """Click a link or button by its visible text and wait for what it loads."""
        self._retrying(lambda: self._click_and_wait(self.find_by_text(text, exact=exact, within=within)))

    def open_row(self, text: str) -> None:
        """Open the object of the changelist row showing `text`, by the row's own link."""
        from selenium.webdriver.common.by import By

        def link():
            rows = [r for r in self.driver.find_elements(By.CSS_SELECTOR, "#result_list tbody tr") if text in r.text]
            assert rows, f"no row showing {text!r} on {self.path}"
            return rows[0].find_element(By.CSS_SELECTOR, "th a, td a")

        self._retrying(lambda: self._click_and_wait(link()))

    def _retrying(self, act, attempts: int = 3):
        """Do `act`, again if the page's document changed under it (an element found in the
        page before last); a late script or redirect is not the page's fault."""
        from selenium.common.exceptions import StaleElementReferenceException, WebDriverException

        for _attempt in range(attempts):
            try:
                return act()
            except StaleElementReferenceException:
                pass
            except WebDriverException as exc:
                if "does not belong to the document" not in str(exc):
                    raise
            self.wait_for_page()
        return act()

    def action(self, name: str) -> Browser:
        """Press a case-desk action button (apps.core.admin_desk) by its action name."""
        self.click_css(f'#desk-actions a[data-action="{name}"]')
        return self

    def choose(self, name: str, value: str) -> Browser:
        """Choose by value in the <select name=...> or the radio buttons named `name`."""
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import Select

        selects = self.driver.find_elements(By.CSS_SELECTOR, f"select[name={name!r}]")
        if selects:
            Select(selects[0]).select_by_value(value)
        else:
            self.driver.find_element(By.CSS_SELECTOR, f"input[name={name!r}][value={value!r}]").click()
        return self

    def submit(self, form: str = "#content-main form") -> Browser:
        """Press the (first) submit button of the form and wait for the answer."""
        self.click_css(f"{form} [type=submit]")
        return self

    def messages(self) -> str:
        """The admin's messages on the page (success, warning, error)."""
        return " ".join(m.text for m in self.driver.find_elements("css selector", ".messagelist li"))

    def errors(self) -> str:
        """The form errors on the page."""
        return " ".join(e.text for e in self.driver.find_elements("css selector", ".errornote, .errorlist"))

    def click_css(self, css: str) -> None:
        """Click the first element matching a CSS selector and wait for what it loads."""
        from selenium.webdriver.common.by import By

        self._retrying(lambda: self._click_and_wait(self.driver.find_element(By.CSS_SELECTOR, css)))

    def _click_and_wait(self, element) -> None:
        from selenium.common.exceptions import TimeoutException
        from selenium.webdriver.support import expected_conditions as ec
        from selenium.webdriver.support.ui import WebDriverWait

        page = self.driver.find_element("tag name", "html")
        tag, kind, href = element.tag_name, element.get_attribute("type"), element.get_attribute("href") or ""
        # A link or a submit button loads a new page: wait for it however slow the machine;
        # another button may only run JavaScript.
        loads = (tag == "a" and href and not href.endswith("#")) or kind == "submit"
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)
        element.click()
        try:
            WebDriverWait(self.driver, TIMEOUT * 2 if loads else 3).until(ec.staleness_of(page))
        except TimeoutException:
            if loads:
                raise AssertionError(f"clicking {element!r} on {self.path} loaded no page") from None
        self.wait_for_page()
        if self.strict:
            self.assert_page_ok()

    def field(self, label_or_name: str):
        """A form field by its label's text (with or without the colon), else by its name
        or id."""
        from selenium.webdriver.common.by import By

        t = _xpath_literal(label_or_name)
        labels = self.driver.find_elements(
            By.XPATH,
            f"//label[normalize-space(.)={t} or normalize-space(.)=concat({t}, ':')"
            f" or normalize-space(.)=concat({t}, '：')]",
        )
        for label in labels:
            target = label.get_attribute("for")
            if target:
                found = self.driver.find_elements(By.ID, target)
                if found:
                    return found[0]
        for by, value in ((By.NAME, label_or_name), (By.ID, label_or_name), (By.ID, f"id_{label_or_name}")):
            found = self.driver.find_elements(by, value)
            if found:
                return found[0]
        raise AssertionError(f"no field labelled or named {label_or_name!r} on {self.path}")

    def fill(self, label_or_name: str, value) -> Browser:
        """Fill a field found by label or name: text is typed (after clearing), a <select>
        takes the option with that visible text (or value), a checkbox takes a bool."""
        from selenium.common.exceptions import NoSuchElementException
        from selenium.webdriver.support.ui import Select

        element = self.field(label_or_name)
        tag, kind = element.tag_name, element.get_attribute("type")
        if tag == "select":
            select = Select(element)
            try:
                select.select_by_visible_text(str(value))
            except NoSuchElementException:
                select.select_by_value(str(value))
        elif kind in ("checkbox", "radio"):
            if element.is_selected() != bool(value):
                element.click()
        else:
            element.clear()
            element.send_keys(str(value))
        return self

    def pick_autocomplete(self, name: str, search: str, option: str | None = None) -> str:
        """Pick a value in a Django admin autocomplete (select2) widget: open the widget of
        the <select name=...>, type `search` into its search box, wait for the AJAX answer
        and click the first option containing `option` (default: `search`). Returns the
        chosen option's text."""
        from selenium.common.exceptions import TimeoutException
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait

        select = self.driver.find_element(By.CSS_SELECTOR, f"select[name={name!r}]")
        container = select.find_element(By.XPATH, "following-sibling::span[contains(@class, 'select2')][1]")
        self._scroll_to(container)
        container.find_element(By.CSS_SELECTOR, ".select2-selection").click()
        box = WebDriverWait(self.driver, TIMEOUT).until(
            lambda d: next(
                (
                    e
                    for e in d.find_elements(By.CSS_SELECTOR, ".select2-container--open .select2-search__field")
                    if e.is_displayed()
                ),
                False,
            )
        )
        box.send_keys(search)
        wanted = option or search

        def answered(d):
            results = d.find_elements(By.CSS_SELECTOR, ".select2-container--open .select2-results__option")
            if any("loading-results" in (r.get_attribute("class") or "") for r in results):
                return False
            return next((r for r in results if wanted in r.text and r.get_attribute("aria-disabled") != "true"), False)

        try:
            choice = WebDriverWait(self.driver, TIMEOUT).until(answered)
        except TimeoutException:
            shown = [r.text for r in self.driver.find_elements(By.CSS_SELECTOR, ".select2-results__option")]
            raise AssertionError(
                f"autocomplete {name!r}: no option with {wanted!r} after typing {search!r}; shown: {shown}"
            ) from None
        text = choice.text
        choice.click()
        WebDriverWait(self.driver, TIMEOUT).until(
            lambda d: d.execute_script(
                "return Array.from(arguments[0].selectedOptions).some(o => o.value !== '')", select
            )
        )
        return text

    def _scroll_to(self, element) -> None:
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)

    # --- checks and pictures ----------------------------------------------------------------

    def console_errors(self) -> list[str]:
        """JavaScript errors and failed loads logged since the last call (the browser log,
        goog:loggingPrefs), except the favicon."""
        entries = self.driver.get_log("browser")
        return [
            e["message"]
            for e in entries
            if e.get("level") == "SEVERE" and not any(p.search(e["message"]) for p in IGNORED_CONSOLE)
        ]

    def assert_page_ok(self) -> None:
        """The page is not a Django error page (500, 403, 404, 400, or a debug page) and the
        console has no JavaScript error since the last check."""
        errors = self.console_errors()  # read first: the log is emptied either way
        html = self.html
        for what, marker in ERROR_PAGE_MARKERS.items():
            assert not marker.search(html), f"{self.path} is a {what} page: {self.text()[:300]}"
        # (An error page's own status line in the console is the page's fault, reported above.)
        assert not errors, f"JavaScript console errors on {self.path}:\n" + "\n".join(errors)

    def shot(self, name: str, *, full: bool = False) -> Path:
        """Save a PNG of the viewport (or the whole page, full=True) as
        var/screenshots/<name>.png; returns the path."""
        SHOTS.mkdir(parents=True, exist_ok=True)
        path = SHOTS / (re.sub(r"[^\w.-]+", "-", name).strip("-") + ".png")
        size = self.driver.execute_script("return [window.innerWidth, window.innerHeight]")
        if full:
            height = self.driver.execute_script("return document.documentElement.scrollHeight")
            self.resize(size[0], min(max(height, size[1]), 8000))
        try:
            assert self.driver.save_screenshot(str(path)), f"no screenshot written to {path}"
        finally:
            if full:
                self.resize(*size)
        return path

    # --- sizes ------------------------------------------------------------------------------

    def resize(self, width: int, height: int) -> None:
        """Make the viewport (window.innerWidth × innerHeight) exactly this size."""
        self.driver.set_window_size(width, height)
        inner = self.driver.execute_script("return [window.innerWidth, window.innerHeight]")
        if inner != [width, height]:  # the window's frame takes some of it
            self.driver.set_window_size(2 * width - inner[0], 2 * height - inner[1])

    def phone(self) -> None:
        """A phone's viewport, 375×812."""
        self.resize(*PHONE)

    def desktop(self) -> None:
        """The default viewport, 1440×900."""
        self.resize(*DESKTOP)


@pytest.fixture(scope="session")
def driver():
    """The session's one headless Chrome (Selenium WebDriver), asking for zh-CN pages and
    keeping the console log."""
    reason = _missing()
    if reason:
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--lang=zh-CN",
        f"--window-size={DESKTOP[0]},{DESKTOP[1]}",
    ):
        options.add_argument(arg)
    options.add_experimental_option("prefs", {"intl.accept_languages": "zh-CN,zh"})
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    chrome = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    chrome.set_page_load_timeout(60)
    yield chrome
    chrome.quit()


@pytest.fixture
def browser(driver, live_server):
    """The session's browser pointed at this test's live server: logged out, at desktop
    size, console log emptied."""
    b = Browser(driver, live_server.url)
    driver.delete_all_cookies()
    b.desktop()
    driver.get("about:blank")
    driver.get_log("browser")  # drop what earlier tests left
    return b


@pytest.fixture
def demo_city(live_server, demo_city):
    """The demo city (tests/conftest.py), in the live server's database."""
    return demo_city


@pytest.fixture
def login(browser):
    """login(username): log out, then log in through the admin login form."""
    return browser.login


@pytest.fixture
def shot(browser):
    """shot(name): save var/screenshots/<name>.png; returns the path."""
    return browser.shot
