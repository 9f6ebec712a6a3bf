"""The scan (issue 12): no page, download or autocomplete answer shows a whole phone or ID
number to any demo role, and no department sees a confidential complainant.

On the demo city (`python3 dev.py run`), a whole mobile number and a whole ID number are
planted in every free-text field of every business table and of its history (an appeal's
content, a reply, a note, a reason, a citizen's words on a visit, an instruction, ...),
in the address, in notifications, and in an action-log entry with a reason and a change
on every appeal and work order. Then, as each demo role, the crawler
(tests/admin/crawler.py) opens every link, button-link, filter, export and autocomplete
that role is shown (GET only, so no reveal is ever answered) and reads each body the
server sent: `whole_numbers_in(body)` must be empty. The same crawl checks that every
link opens (issue 11's test, run here once rather than twice).

The one page that shows a whole number is the answer to a logged reveal: see
`unmasked_numbers` (and tests/security/test_masking.py, which proves it on a reveal).
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection, models, transaction
from django.db.models import F, Value
from django.db.models.functions import Concat, Length

import dev
from apps.audit.models import AuditEvent
from apps.core.personal_data import id_number_is_valid, mask_name, mask_phone, whole_numbers_in
from tests.admin.crawler import crawl
from tests.admin.test_crawl import KNOWN_FAULTS, LIMIT, assert_no_unexpected_faults

DEMO_USERNAMES = [username for username, _ in dev.DEMO_LOGINS]
PHONE = "13987654321"
ID_NUMBER = "11010519491231002X"
PLANT = f" 联系电话{PHONE}，身份证{ID_NUMBER}"
# The confidential complainant planted on one of 市住建局's appeals: neither the name nor
# the phone, masked or whole, may reach a department.
CONFIDENTIAL_NAME = "欧阳保密"
CONFIDENTIAL_PHONE = "13711112222"
DEPARTMENT_ROLES = {"dept_staff", "dept_leader"}
# Tables whose text is not business content shown to a role, or that must stay as written:
# the action log is hash-chained (entries are planted through the service below instead),
# bigram search indexes are never shown.
NOT_PLANTED = {"audit", "outbox"}
NOT_PLANTED_FIELDS = {"search_text"}
REVEAL_ACTIONS = ("/do/reveal/", "/do/start/")  # the contact reveal, the agent's call


def _stored(qs, **values) -> int:
    """A queryset update as stored text, bypassing the business models' refusal of
    update() (apps.core.models.AuditedQuerySet): the plant is data as typed, not a change
    to record. (On PostgreSQL the history tables refuse updates unless the transaction is
    sanctioned maintenance: plant_demo_numbers sets it, as the test flush does.)"""
    return models.QuerySet.update(qs, **values)


def _plant_text_fields() -> int:
    """Append PLANT to every non-empty free-text field of every business table and its
    history (queryset updates: what a user typed, as stored). Returns the rows touched."""
    from django.apps import apps

    touched = 0
    for model in apps.get_models():
        meta = model._meta
        if not model.__module__.startswith("apps.") or meta.app_label in NOT_PLANTED:
            continue
        if meta.proxy or not meta.managed:
            continue
        for f in meta.concrete_fields:
            if isinstance(f, models.TextField) and not f.choices and f.name not in NOT_PLANTED_FIELDS:
                touched += _stored(
                    model._default_manager.exclude(**{f.name: ""}), **{f.name: Concat(F(f.name), Value(PLANT))}
                )
    return touched


def plant_demo_numbers(users) -> dict:
    """Whole numbers in everything a role may read (see the module docstring)."""
    from apps.appeals.models import Appeal
    from apps.audit.services import record
    from apps.notifications.models import Notification
    from apps.tasks.models import Task

    assert id_number_is_valid(ID_NUMBER)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL xlx.maintenance = 'on'")
        touched = _plant_text_fields()
        # Fields empty in the demo (nothing to append to) get the plant outright.
        for field in ("answer", "reject_reason", "exclusion_reason"):
            _stored(Appeal.objects.filter(**{field: ""}), **{field: PLANT.strip()})
        for field in ("contact_note", "reply_text", "review_comment", "return_reason", "dispatch_note"):
            _stored(Task.objects.filter(**{field: ""}), **{field: PLANT.strip()})
        _stored(
            Appeal.objects.annotate(n=Length("address")).filter(n__lt=150), address=Concat(F("address"), Value(PLANT))
        )
        if any(f.name == "citizen_id_number" for f in Appeal._meta.concrete_fields):
            _stored(Appeal.objects.all(), citizen_id_number=ID_NUMBER)
        _stored(
            Notification.objects.annotate(n=Length("title")).filter(n__lt=150), title=Concat(F("title"), Value(PLANT))
        )
        for user in users.values():
            Notification.objects.create(recipient=user, title=f"来电{PHONE}", body=PLANT)
        # The action log: a reason and a recorded change on every appeal and work order.
        actor = users["dept_staff"]
        for target in [*Appeal.objects.all(), *Task.objects.all()]:
            record(
                actor=actor,
                action="task.contacted",
                target=target,
                reason=f"回电{PHONE}",
                changes={"contact_note": PLANT, "address": f"人民路1号 {ID_NUMBER}"},
            )
        confidential = (
            Appeal.objects.filter(tasks__department=actor.department, is_anonymous=False).order_by("pk").first()
        )
        _stored(
            Appeal.objects.filter(pk=confidential.pk),
            is_confidential=True,
            citizen_name=CONFIDENTIAL_NAME,
            citizen_phone=CONFIDENTIAL_PHONE,
        )
    assert touched > 50  # really planted, in the tables and their history
    return {"confidential": confidential}


def public_numbers() -> set[str]:
    """Office lines published on purpose (a department's switchboard): not personal data."""
    from apps.organization.models import Department

    return set(Department.objects.exclude(phone="").values_list("phone", flat=True))


def unmasked_numbers(
    user, request_path: str, text: str, *, since: dt.datetime | None = None, public: set[str] | None = None
) -> list[str]:
    """The whole phone and ID numbers in `text` that `user` may not see there. Allowed:
    published office lines, and on the answer to a logged reveal (the reveal action or
    the agent's call, `request_path`) the contact of an appeal whose reveal by this user
    the action log holds (since `since`)."""
    public = public_numbers() if public is None else public
    found = [n for n in whole_numbers_in(text) if n not in public]
    if not found or not request_path.endswith(REVEAL_ACTIONS):
        return found
    from apps.appeals.models import Appeal

    reveals = AuditEvent.objects.filter(actor=user, action="appeal.contact_revealed", target_type="appeals.appeal")
    if since is not None:
        reveals = reveals.filter(occurred_at__gte=since)
    revealed = set(
        Appeal.objects.filter(pk__in=[int(pk) for pk in reveals.values_list("target_id", flat=True)]).values_list(
            "citizen_phone", flat=True
        )
    )
    return [n for n in found if n not in revealed]


def _confidential_shown(text: str, appeal) -> list[str]:
    shown = [
        CONFIDENTIAL_NAME,
        mask_name(CONFIDENTIAL_NAME),
        CONFIDENTIAL_PHONE,
        mask_phone(CONFIDENTIAL_PHONE),
        CONFIDENTIAL_NAME[:2],
    ]
    return [s for s in shown if s in text]


@pytest.mark.parametrize("username", DEMO_USERNAMES)
def test_no_page_or_export_shows_a_whole_number_to_any_role(demo_city, client, username):
    planted = plant_demo_numbers(demo_city)
    user = demo_city[username]
    client.force_login(user)
    from apps.supervision import permissions as supervision_permissions

    # The history query with a query filled in shows its CSV and Excel export links.
    also = (
        ("/admin/supervision/tracedappeal/query/?since=2000-01-01",) if supervision_permissions.can_trace(user) else ()
    )

    public = public_numbers()

    def scan(url, response, text):
        objections = unmasked_numbers(user, url.split("?")[0], text, public=public)
        if username in DEPARTMENT_ROLES:
            objections += [f"confidential complainant: {s}" for s in _confidential_shown(text, planted["confidential"])]
        return objections

    result = crawl(client, limit=LIMIT, also=also, scan=scan)
    exports = [u for u in result.scanned if "format=" in u]
    print(
        f"\nscan {username}: {len(result.scanned)} answers read ({len(exports)} exports), "
        f"{len(result.shapes)} kinds of page, {len(result.leaks)} leak(s), {len(result.faults)} fault(s)"
    )
    assert result.new_kinds_left == 0, f"LIMIT={LIMIT} is too low: {result.new_kinds_left} kinds of page unvisited"
    assert len(result.visited) > 20, result.visited  # really crawled, not stopped at a login page
    if also:
        assert {"csv", "xlsx"} <= {u.rsplit("format=", 1)[1][:4].rstrip("&") for u in exports}, exports
    assert not result.leaks, f"{len(result.leaks)} answer(s) shown to {username} hold a whole number:\n" + "\n".join(
        f"  {leak}" for leak in result.leaks[:30]
    )
    # Issue 11: every link this role is shown opens (the same crawl, with the planted data).
    assert_no_unexpected_faults(username, result.faults, KNOWN_FAULTS)


def test_the_scan_finds_a_planted_number_in_a_page_and_in_an_excel_download(db, client, settings):
    """The scan's own check: a tiny site that shows a whole number on a page one link
    down and inside an .xlsx download, and a masked one elsewhere."""
    settings.ROOT_URLCONF = "tests.admin.crawl_planted_urls"
    result = crawl(client, limit=50, scan=lambda url, response, text: whole_numbers_in(text))
    leaks = {leak.url: leak.found for leak in result.leaks}
    assert leaks == {
        "/admin/leak/": ["13812345678"],
        "/admin/export/?format=xlsx": ["11010519491231002X"],
    }
    assert "/admin/masked/" in result.scanned  # read, and 138****5678 is not whole


def test_a_reveal_answer_may_show_the_number_only_with_its_log_entry(demo_city):
    """unmasked_numbers allows a whole phone only on a reveal's answer, only the revealed
    appeal's, and only when the action log holds that user's reveal."""
    from apps.appeals.models import Appeal
    from apps.tasks import permissions, services

    staff = demo_city["dept_staff"]
    appeals = Appeal.objects.filter(tasks__department=staff.department).exclude(citizen_phone="").distinct()
    appeal = next(a for a in appeals if permissions.can_reveal_contact(staff, a))
    page = f"电话 {appeal.citizen_phone}"
    url = f"/admin/tasks/task/{appeal.tasks.first().pk}/do/reveal/"
    assert unmasked_numbers(staff, url, page) == [appeal.citizen_phone]  # no reveal logged yet
    with transaction.atomic():
        services.appeal_reveal_contact(actor=staff, appeal=appeal, reason="回电核实")
    assert unmasked_numbers(staff, url, page) == []
    assert unmasked_numbers(staff, "/admin/tasks/task/", page) == [appeal.citizen_phone]  # not a reveal's answer
    assert unmasked_numbers(demo_city["dept_leader"], url, page) == [appeal.citizen_phone]  # not their reveal
    assert unmasked_numbers(staff, url, f"{page} {PHONE}") == [PHONE]  # another number
