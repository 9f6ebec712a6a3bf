"""Personal data masked on display (issue 12): phone and ID numbers typed into free text,
and the citizen's own fields, are shown masked on every desk, action page, case record,
trace page, export and notification; stored whole; whole only on the answer to a logged
reveal. A confidential complainant never reaches a department, masked or not."""

from __future__ import annotations

import csv
import io

import pytest
from django.template import Context, Template
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeData

from apps.audit.models import AuditEvent
from apps.casefile.entries import Change, Entry
from apps.core.admin_desk import Panel, shown
from apps.core.personal_data import whole_numbers_in
from apps.supervision import exports
from apps.tasks import services
from tests.factories import make_appeal

PHONE = "13987654321"
ID_NUMBER = "11010519491231002X"
TYPED = f"请回电{PHONE}，身份证{ID_NUMBER}"
MASKED = "请回电139****4321，身份证110105********002X"


def render_panel(panel: Panel) -> str:
    return Template('{% include "admin/xlx/panel.html" %}').render(Context({"panel": panel}))


def test_the_masked_filter_masks_numbers_in_any_text_and_keeps_safe_html_safe():
    assert shown(TYPED) == MASKED
    html = shown(format_html("<b>{}</b>", TYPED))
    assert isinstance(html, SafeData) and html == f"<b>{MASKED}</b>"
    assert shown(12) == 12 and shown(None) is None  # not text: as it is
    page = Template("{% load masking %}{{ v|masked }}").render(Context({"v": f"<i>{PHONE}</i>"}))
    assert page == "&lt;i&gt;139****4321&lt;/i&gt;"  # plain text stays escaped


def test_every_panel_row_and_note_is_masked_even_one_added_later_but_a_reveal_answer_is_not():
    panel = Panel("p", "title", [("content", TYPED)], note=f"note {PHONE}")
    panel.rows.append(("added later", format_html("<div>{}</div>", TYPED)))
    page = render_panel(panel)
    assert whole_numbers_in(page) == [] and page.count(MASKED) == 2 and "note 139****4321" in page
    revealed = render_panel(Panel("reveal", "contact", [("phone", PHONE)], revealed=True))
    assert PHONE in revealed


def test_case_record_entries_mask_reasons_changes_and_the_citizens_fields_by_name():
    entry = Entry(
        at=timezone.now(),
        source="audit",
        rank=100,
        pk=1,
        source_label="log",
        object_id=1,
        object_label=f"appeal {PHONE}",
        kind="task.contacted",
        kind_label="contacted",
        actor_id=None,
        actor_name="",
        actor_role="",
        reason=TYPED,
        changes=[
            Change("contact_note", "note", None, TYPED),
            Change("citizen_phone", "phone", "13812341234", PHONE),
            Change("citizen_name", "name", None, "欧阳娜娜"),
            Change("address", "address", None, "嘉州市东城区人民路88号3栋201"),
            Change("citizen_id_number", "ID", None, ID_NUMBER),
        ],
    )
    assert entry.reason == MASKED and entry.object_label == "appeal 139****4321"
    texts = [(c.old_text, c.new_text) for c in entry.changes]
    assert texts == [
        ("—", MASKED),
        ("138****1234", "139****4321"),
        ("—", "欧***"),
        ("—", "嘉州市东城区人民路***"),
        ("—", "110105********002X"),
    ]
    assert whole_numbers_in(entry.changes_text) == []
    assert whole_numbers_in(",".join(exports.row(entry))) == []


@pytest.fixture
def typed_case(org, catalog, operator, dispatcher, dept_staff):
    """A work order of 市住建局 whose appeal, contact note and reply hold whole numbers."""
    appeal = make_appeal(
        operator=operator,
        category=catalog["leaf"],
        area=org["street"],
        content=f"楼道漏水。{TYPED}",
        address="嘉州市东城区人民路88号3栋201",
    )
    task = services.appeal_dispatch(actor=dispatcher, appeal=appeal, lead=org["housing"], override_reason="测试")
    task = services.task_sign(actor=dept_staff, task=task)
    task = services.task_record_contact(
        actor=dept_staff, task=task, contacted_at=None, method="phone", note=f"已联系，另留电话{PHONE}"
    )
    task = services.task_reply(actor=dept_staff, task=task, result="resolved", reply_text=f"已修复。{TYPED}")
    return task


def _page(client, user, url) -> str:
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def test_numbers_typed_into_an_appeal_a_note_and_a_reply_are_masked_on_the_desks_and_stored_whole(
    client, typed_case, dept_staff, dispatcher, inspector
):
    task, appeal = typed_case, typed_case.appeal
    pages = {
        "department's work order": (dept_staff, reverse("admin:tasks_task_change", args=[task.pk])),
        "department's reveal page": (dept_staff, reverse("admin:tasks_task_reveal", args=[task.pk])),
        "dispatcher's review action": (dispatcher, reverse("admin:tasks_task_review", args=[task.pk])),
        "dispatcher's appeal": (dispatcher, reverse("admin:appeals_appeal_change", args=[appeal.pk])),
        "dispatcher's review": (dispatcher, reverse("admin:tasks_task_change", args=[task.pk])),
        "inspector's trace": (inspector, reverse("admin:supervision_tracedappeal_change", args=[appeal.pk])),
    }
    for name, (user, url) in pages.items():
        page = _page(client, user, url)
        assert whole_numbers_in(page) == [], name
        assert "139****4321" in page, name  # shown, masked
    task.refresh_from_db()
    assert PHONE in task.reply_text and PHONE in task.contact_note and ID_NUMBER in task.appeal.content


def test_departments_read_the_address_to_the_street_the_centre_whole(client, typed_case, dept_staff, dispatcher):
    task = typed_case
    department = _page(client, dept_staff, reverse("admin:tasks_task_change", args=[task.pk]))
    assert "人民路***" in department and "88号" not in department
    centre = _page(client, dispatcher, reverse("admin:appeals_appeal_change", args=[task.appeal_id]))
    assert "人民路88号3栋201" in centre


def test_the_history_export_masks_every_cell(client, typed_case, inspector):
    client.force_login(inspector)
    url = reverse("admin:supervision_history_query")
    response = client.get(url, {"since": "2000-01-01", "format": "csv"})
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    assert len(rows) > 3 and whole_numbers_in(body) == []
    assert any("139****4321" in cell for row in rows for cell in row)  # the note's change, masked


def test_the_answer_to_a_logged_reveal_shows_the_number_whole_and_only_that_once(client, typed_case, dept_staff):
    task = typed_case
    client.force_login(dept_staff)
    before = AuditEvent.objects.filter(action="appeal.contact_revealed").count()
    response = client.post(
        reverse("admin:tasks_task_reveal", args=[task.pk]), {"version": task.version, "reason": "需要回电"}, follow=True
    )
    page = response.content.decode()
    assert task.appeal.citizen_phone in page  # the revealed contact
    assert PHONE not in page  # the numbers in the texts stay masked on that page too
    reveal = AuditEvent.objects.filter(action="appeal.contact_revealed").order_by("-seq").first()
    assert AuditEvent.objects.filter(action="appeal.contact_revealed").count() == before + 1
    assert (reveal.actor, reveal.target_id, reveal.reason) == (dept_staff, str(task.appeal_id), "需要回电")
    again = _page(client, dept_staff, reverse("admin:tasks_task_change", args=[task.pk]))
    assert whole_numbers_in(again) == []  # the next page is masked again


def test_a_confidential_complainant_never_reaches_the_department(
    client, org, catalog, operator, dispatcher, dept_staff, dept_leader
):
    appeal = make_appeal(
        operator=operator,
        category=catalog["leaf"],
        area=org["street"],
        is_confidential=True,
        citizen_name="欧阳保密",
        phone="13700007777",
    )
    task = services.appeal_dispatch(actor=dispatcher, appeal=appeal, lead=org["housing"], override_reason="测试")
    for user in (dept_staff, dept_leader):
        for url in (
            reverse("admin:tasks_task_change", args=[task.pk]),
            reverse("admin:tasks_task_changelist"),
            reverse("admin:tasks_task_history", args=[task.pk]),
        ):
            page = _page(client, user, url)
            for shown_identity in ("欧阳", "欧***", "13700007777", "137****7777"):
                assert shown_identity not in page, (user.username, url, shown_identity)
        desk = _page(client, user, reverse("admin:tasks_task_change", args=[task.pk]))
        assert "保密" in desk
    # The centre, which contacts the citizen, is told it is confidential too (and reveals if need be).
    centre = _page(client, dispatcher, reverse("admin:appeals_appeal_change", args=[appeal.pk]))
    assert "保密" in centre and "13700007777" not in centre


def test_notifications_are_shown_masked(client, dept_staff):
    from apps.notifications.models import Notification

    note = Notification.objects.create(recipient=dept_staff, title=f"来电 {PHONE}", body=TYPED)
    listing = _page(client, dept_staff, reverse("admin:notifications_notification_changelist"))
    page = _page(client, dept_staff, reverse("admin:notifications_notification_change", args=[note.pk]))
    for html in (listing, page):
        assert whole_numbers_in(html) == [] and "139****4321" in html
    note.refresh_from_db()
    assert note.body == TYPED


def test_any_list_column_and_read_only_field_is_masked_a_new_one_included(client, typed_case, audit_admin):
    """The action log's admin shows `reason` as a plain column and read-only field (no
    display method of its own): masked by the shared list and fieldset templates."""
    from django.db import transaction

    from apps.audit.services import record

    with transaction.atomic():
        event = record(actor=audit_admin, action="task.contacted", target=typed_case, reason=TYPED)
    listing = _page(client, audit_admin, reverse("admin:audit_auditevent_changelist"))
    page = _page(client, audit_admin, reverse("admin:audit_auditevent_change", args=[event.pk]))
    for html in (listing, page):
        assert whole_numbers_in(html) == [] and MASKED in html


def test_simple_history_pages_show_versions_masked(client, typed_case, dispatcher):
    """The appeal's list of versions and one version's page print stored values: free text
    and the citizen's own fields (name, phone, address) are masked there too."""
    appeal = typed_case.appeal
    version = appeal.history.order_by("history_id").first()
    for url in (
        reverse("admin:appeals_appeal_history", args=[appeal.pk]),
        reverse("admin:appeals_appeal_simple_history", args=[appeal.pk, version.history_id]),
    ):
        html = _page(client, dispatcher, url)
        assert whole_numbers_in(html) == [], url
        assert appeal.citizen_name not in html and "88号" not in html, url
