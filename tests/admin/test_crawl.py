"""Every link and button-link a demo role is shown in the admin opens (issue 11).

For each demo login, on the demo city as `python3 dev.py run` loads it, the crawler
(tests/admin/crawler.py) starts at the workbench and follows, GET only, every link,
object tool, action button, filter and autocomplete widget the pages show inside /admin/:
no answer may be 403, 404 or 500 (redirects are fine when they end on a 200 in the admin).
The bounds (two object rows per list, kinds of page first, LIMIT fetches) are the
crawler's; the test fails if the limit leaves a kind of page unvisited.

The crawl of each demo role runs in tests/security/test_page_scan.py (issue 12), which
reads every body it opens for whole phone and ID numbers and asserts the faults with
KNOWN_FAULTS below: one crawl per role for both. Here: the crawler's own tests.
"""

from __future__ import annotations

import pytest

from tests.admin import crawl_planted_urls
from tests.admin.crawler import Fault, crawl, unexpected

LIMIT = 200  # URLs fetched per role; the most varied role (inspector) shows ~166 kinds of page

# Faults whose fix lies in code being rebuilt by other engineers (apps/authorization/admin*.py,
# apps/appeals/admin.py, apps/tasks/admin.py, apps/followups/admin.py, the xlx/tasks/appeals
# admin templates, apps/supervision/timeline.py). Regular expression searched in the failing
# URL → (the roles it fails for, why). An entry that no longer fails for its roles fails the
# test: delete it with the fix.
KNOWN_FAULTS: dict[str, tuple[set[str], str]] = {
    # URL pattern -> (roles, reason) of a fault found and not fixed yet. Empty: every link
    # and button each role is shown opens. An entry that stops failing fails the test.
}


def assert_no_unexpected_faults(username: str, faults: list[Fault], known: dict[str, tuple[set[str], str]]) -> None:
    """Fail listing every fault not allowed for this role: status, URL, the page showing it."""
    allowed = {pattern: reason for pattern, (roles, reason) in known.items() if username in roles}
    new = unexpected(faults, allowed)
    assert not new, f"{len(new)} link(s) shown to {username} do not open:\n" + "\n".join(f"  {f}" for f in new)
    for pattern, (roles, reason) in known.items():
        if username in roles:
            still = [f for f in faults if not unexpected([f], {pattern: reason})]
            assert still, f"fixed? {pattern!r} no longer fails for {username}: remove it from KNOWN_FAULTS"


@pytest.mark.urls("tests.admin.crawl_planted_urls")
def test_the_crawler_reports_every_planted_fault_with_the_page_that_showed_it(db, client):
    crawl_planted_urls.HITS.clear()
    result = crawl(client, limit=50)

    found = {(f.url, str(f.status).split(" half-way")[0].split(":")[0], f.shown_on) for f in result.faults}
    assert found == {
        ("/admin/forbidden/", "403", "/admin/"),
        ("/admin/missing/", "404", "/admin/"),
        ("/admin/boom/", "500 RuntimeError", "/admin/"),
        ("/admin/to-login/", "302 to the login page", "/admin/"),
        ("/admin/export/?format=broken", "500", "/admin/"),
        ("/admin/deeper/", "403", "/admin/ok/"),  # found one page down
        ("/admin/autocomplete/?term=&app_label=planted&model_name=thing&field_name=appeal", "403", "/admin/"),
    }
    # Followed: the redirect to a page, a working download, the first two rows, sorting.
    for fine in ["/admin/ok/", "/admin/export/?format=csv", "/admin/row/1/", "/admin/row/2/", "/admin/?o=1"]:
        assert fine in crawl_planted_urls.HITS
    # Not followed: rows beyond the bound, logging out, pages outside the admin; each URL once.
    assert not {"/admin/row/3/", "/admin/logout/", "/elsewhere/"} & set(crawl_planted_urls.HITS)
    assert crawl_planted_urls.HITS.count("/admin/forbidden/") == 1  # shown twice, fetched once

    # The role tests' assertion fails on them, naming each URL, its status and its page.
    with pytest.raises(AssertionError) as failure:
        assert_no_unexpected_faults("operator", result.faults, KNOWN_FAULTS)
    message = str(failure.value)
    assert "7 link(s) shown to operator do not open" in message
    assert "403  /admin/deeper/ (deeper)  <- shown on /admin/ok/" in message
    # An allow-list entry covers only its roles.
    known = {r"^/admin/forbidden/$": ({"operator"}, "planted")}
    assert len(unexpected(result.faults, {r"^/admin/forbidden/$": "planted"})) == 6
    with pytest.raises(AssertionError, match="/admin/forbidden/"):
        assert_no_unexpected_faults("dispatcher", result.faults, known)


def test_the_crawler_stops_at_the_limit_and_says_what_kinds_it_left(db, client, settings):
    settings.ROOT_URLCONF = "tests.admin.crawl_planted_urls"
    result = crawl(client, limit=3)
    assert result.checked == 3 and result.left > 0 and result.new_kinds_left > 0
