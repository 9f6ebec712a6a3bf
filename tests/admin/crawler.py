"""A crawl of the admin with Django's test client, as one role sees it: every link and
button-link a page shows inside /admin/ is opened (GET only, never POST), and every
answer other than 200 (after redirects) is a fault, reported with the page that showed
the link. Select2 autocomplete widgets are checked too: a widget whose search answers 403
is as broken as a link.

Bounds keep it fast, and are the same for every role:
- a table of objects (a changelist, simple-history's list of versions) is followed only
  `rows_per_list` rows deep; everything else on the page (filters, sorting, pagination,
  object tools, action buttons, breadcrumbs, the sidebar) is followed in full;
- a filtered or sorted list's own links back to the same list are not followed (their
  filters were followed from the plain list: this stops filter × filter combinations);
- URLs are fetched kinds-first: a URL whose shape (path with ids as N, parameter names)
  has not been seen goes before another of a known shape, so when `limit` is reached what
  is left is only more of the same kinds;
- downloads (exports) are fetched and their status checked, never parsed for links; a
  link to a download on a filtered page (an export of the query shown) is followed.

With `scan`, the body of every answer that opened (page, download, autocomplete; an Excel
file read as the text of its sheets) is handed to `scan(url, response, text)`, which
returns what it objects to (e.g. whole phone numbers): each is reported as a `Leak`.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections import deque
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

ADMIN_PREFIX = "/admin/"
# Never followed: leaving the session, and the login page itself.
SKIP_PATHS = ("/admin/logout/", "/admin/login/")
# Tables whose rows are objects: the changelist and simple-history's versions.
LIST_TABLES = {"result_list", "change-history"}
CHANGE_PAGE = re.compile(r"^/admin/\w+/\w+/[^/]+/change/$")
REDIRECTS = {301, 302, 303, 307, 308}
# A parameter asking a page for a download of what it shows (?format=csv): followed even
# on a filtered page, unlike the page's other links to itself.
EXPORT_PARAMS = {"format"}
VOID_TAGS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclass(frozen=True)
class Link:
    url: str  # path and query string
    text: str  # what the user sees (or the field, for an autocomplete)
    kind: str = "link"  # "link", "row" (in a table of objects) or "autocomplete"


@dataclass
class Fault:
    url: str
    shown_on: str
    status: int | str
    text: str = ""
    kind: str = "link"

    def __str__(self) -> str:
        what = f" [{self.kind}: {self.text}]" if self.kind == "autocomplete" else f" ({self.text})" if self.text else ""
        return f"{self.status}  {self.url}{what}  <- shown on {self.shown_on}"


@dataclass
class Leak:
    url: str
    shown_on: str
    found: list[str]
    kind: str = "link"

    def __str__(self) -> str:
        return f"{self.url} ({self.kind}) shows {', '.join(self.found)}  <- linked from {self.shown_on}"


@dataclass
class CrawlResult:
    visited: list[str] = field(default_factory=list)  # HTML pages fetched and parsed, in order
    checked: int = 0  # every URL fetched: pages, downloads, autocompletes, failures
    faults: list[Fault] = field(default_factory=list)
    shapes: set[str] = field(default_factory=set)  # kinds of URL met
    left: int = 0  # URLs still queued when the limit was reached
    new_kinds_left: int = 0  # of which of a shape never fetched (should be 0: raise the limit)
    scanned: list[str] = field(default_factory=list)  # URLs whose body `scan` read
    leaks: list[Leak] = field(default_factory=list)


class _PageParser(HTMLParser):
    """Collects <a href> with their visible text, marking those in the rows of a table
    of objects, and the autocomplete <select>s."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, str, int]] = []  # (href, text, row number in a list table or 0)
        self.autocompletes: list[dict[str, str]] = []
        self._depth = 0
        self._table_depth: int | None = None  # depth of the list table we are in
        self._in_tbody = False
        self._row = 0
        self._open_a: tuple[str, str, int, list[str]] | None = None

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag not in VOID_TAGS:
            self._depth += 1
        if tag == "table" and a.get("id") in LIST_TABLES and self._table_depth is None:
            self._table_depth, self._row = self._depth, 0
        elif self._table_depth is not None and tag == "tbody":
            self._in_tbody = True
        elif self._table_depth is not None and self._in_tbody and tag == "tr":
            self._row += 1
        if tag == "a" and "href" in a:
            row = self._row if self._table_depth is not None and self._in_tbody else 0
            self._open_a = (a["href"], a.get("title", ""), row, [])
        if tag == "select" and "admin-autocomplete" in a.get("class", "").split():
            self.autocompletes.append(a)

    def handle_endtag(self, tag):
        if tag == "a" and self._open_a is not None:
            href, title, row, parts = self._open_a
            self.links.append((href, " ".join("".join(parts).split()) or title, row))
            self._open_a = None
        elif tag == "tbody":
            self._in_tbody = False
        elif tag == "table" and self._table_depth == self._depth:
            self._table_depth = None
        if tag not in VOID_TAGS:
            self._depth -= 1

    def handle_data(self, data):
        if self._open_a is not None:
            self._open_a[3].append(data)


def _query(url: str) -> list[tuple[str, str]]:
    # The admin's preserved changelist filters only change breadcrumbs and the way back.
    return [(k, v) for k, v in parse_qsl(urlsplit(url).query, keep_blank_values=True) if k != "_changelist_filters"]


def _identity(url: str) -> str:
    """What makes two URLs the same page: the path and the sorted parameters."""
    query = sorted(_query(url))
    return urlsplit(url).path + ("?" + urlencode(query) if query else "")


def shape(url: str) -> str:
    """The kind of page: ids replaced by N, parameter values dropped
    (/admin/tasks/task/N/change/, /admin/audit/auditevent/?action)."""
    names = sorted({k for k, _ in _query(url)})
    return re.sub(r"/\d+/", "/N/", urlsplit(url).path) + ("?" + "&".join(names) if names else "")


def _autocomplete_url(attrs: dict[str, str], page: str) -> str | None:
    if not attrs.get("data-ajax--url"):
        return None
    query = {
        "term": "",
        "app_label": attrs.get("data-app-label", ""),
        "model_name": attrs.get("data-model-name", ""),
        "field_name": attrs.get("data-field-name", ""),
    }
    return urljoin(page, attrs["data-ajax--url"]) + "?" + urlencode(query)


def _fetch(client, url: str, max_redirects: int = 5):
    """GET, following redirects by hand so that one out of the admin or to the login page
    counts as a fault. Returns (200 or what went wrong, the final URL, the response); a
    download's bytes are kept on the response as `crawled_body`."""
    response = None
    for _ in range(max_redirects + 1):
        try:
            response = client.get(url)
        except Exception as exc:  # the test client re-raises the view's exception: a 500 for the user
            return f"500 {type(exc).__name__}: {exc}", url, None
        if response.status_code not in REDIRECTS:
            if response.streaming:
                try:  # run a download through: one failing half-way is a fault too
                    chunks = response.streaming_content
                    response.crawled_body = b"".join(c if isinstance(c, bytes) else str(c).encode() for c in chunks)
                except Exception as exc:
                    return f"500 half-way through the download, {type(exc).__name__}: {exc}", url, None
            return response.status_code, url, response
        target = urljoin(url, response["Location"])
        parts = urlsplit(target)
        if parts.netloc not in ("", "testserver") or not parts.path.startswith(ADMIN_PREFIX):
            return f"{response.status_code} to {target}", url, response
        if parts.path.startswith(SKIP_PATHS):
            return f"{response.status_code} to the login page", url, response
        if parts.path == ADMIN_PREFIX and CHANGE_PAGE.match(urlsplit(url).path):
            # Django's answer to a change page of an object that is not in the admin's
            # queryset: back to the index with "doesn't exist" (a 404 in all but name).
            return f"{response.status_code} to the index (no such object)", url, response
        url = parts.path + ("?" + parts.query if parts.query else "")
    return "redirect loop", url, response


def body_text(response) -> str:
    """What an answer says, as text: a page or JSON decoded, a CSV download decoded, an
    Excel (or any zip) file as the text of the XML inside it (the cells' strings)."""
    raw = getattr(response, "crawled_body", None)
    if raw is None:
        raw = response.content
    if raw[:2] == b"PK":  # a zip: .xlsx keeps its cells in XML files inside
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            return "\n".join(
                archive.read(name).decode("utf-8", errors="replace")
                for name in archive.namelist()
                if name.endswith(".xml")
            )
    return raw.decode(getattr(response, "charset", None) or "utf-8", errors="replace")


def _is_page(response) -> bool:
    return not response.streaming and response.get("Content-Type", "").startswith("text/html")


def crawl(
    client, *, start: str = ADMIN_PREFIX, limit: int = 250, rows_per_list: int = 2, also: tuple = (), scan=None
) -> CrawlResult:
    """Crawl from `start` (and the URLs in `also`, e.g. a query page with a query filled
    in, whose export links a link cannot reach) with a logged-in test client; fetch at
    most `limit` URLs. Each URL is fetched once, and a fault names the first page that
    showed it. `scan`: see the module docstring."""
    result = CrawlResult()
    starts = [start, *also]
    seen = {_identity(url) for url in starts}
    fresh: deque[tuple[Link, str]] = deque((Link(url, ""), "(start)") for url in starts)  # shapes not met yet
    repeat: deque[tuple[Link, str]] = deque()  # more of a known shape
    result.shapes.update(shape(url) for url in starts)
    while fresh or repeat:
        if result.checked >= limit:
            result.left, result.new_kinds_left = len(fresh) + len(repeat), len(fresh)
            break
        link, shown_on = (fresh or repeat).popleft()
        result.checked += 1
        status, final_url, response = _fetch(client, link.url)
        try:
            if status != 200:
                result.faults.append(Fault(link.url, shown_on, status, link.text, link.kind))
                continue
            if scan is not None:
                result.scanned.append(link.url)
                objections = scan(final_url, response, body_text(response))
                if objections:
                    result.leaks.append(Leak(link.url, shown_on, list(objections), link.kind))
            if link.kind == "autocomplete" or not _is_page(response):
                continue
            result.visited.append(link.url)
            found = _links_on(response, final_url, rows_per_list)
        finally:
            if response is not None:
                response.close()
        here = urlsplit(final_url)
        for new in found:
            parts = urlsplit(new.url)
            if parts.netloc not in ("", "testserver") or not parts.path.startswith(ADMIN_PREFIX):
                continue  # outside the admin: the site, the progress page, mailto:, javascript:
            if parts.path.startswith(SKIP_PATHS):
                continue
            if parts.path == here.path and _query(final_url) and not EXPORT_PARAMS & {k for k, _v in _query(new.url)}:
                continue  # a filtered list's links to itself: followed from the plain list
            url = parts.path + ("?" + parts.query if parts.query else "")
            if _identity(url) in seen:
                continue
            seen.add(_identity(url))
            kind = shape(url)
            queue = repeat if kind in result.shapes else fresh
            result.shapes.add(kind)
            queue.append((Link(url, new.text, new.kind), final_url))
    return result


def _links_on(response, page: str, rows_per_list: int) -> list[Link]:
    parser = _PageParser()
    parser.feed(response.content.decode(response.charset or "utf-8", errors="replace"))
    links = [
        Link(urljoin(page, href), text, "row" if row else "link")
        for href, text, row in parser.links
        if row <= rows_per_list and not href.startswith(("#", "javascript:", "mailto:"))
    ]
    for attrs in parser.autocompletes:
        url = _autocomplete_url(attrs, page)
        if url:
            links.append(Link(url, attrs.get("name", ""), "autocomplete"))
    return links


def unexpected(faults: list[Fault], known: dict[str, str]) -> list[Fault]:
    """The faults not on an allow-list of known ones (regular expression searched in the
    failing URL → why it is known)."""
    return [f for f in faults if not any(re.search(pattern, f.url) for pattern in known)]
