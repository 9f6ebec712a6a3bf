"""Personal data anonymised a configurable number of years after closure; figures,
categories, departments, times and the action log kept; a dry run changes nothing."""

import datetime as dt
import re

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import connection

from apps.appeals.models import Appeal
from apps.audit.models import AuditEvent
from apps.core.personal_data import mask_address
from apps.tasks import services as task_services
from apps.tasks.models import Task
from tests.factories import make_appeal

SH = dt.timezone(dt.timedelta(hours=8))
PHONE = "13981234567"
OTHER_PHONE = "13700001111"
ID_NUMBER = "11010519491231002X"
ADDRESS = "张公桥街道滨江路12号3栋2单元501"
WHOLE_NUMBER = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)|\d{17}[\dX]")


def _close(appeal, when):
    # The work-order loop is not what is under test: the appeal is put in its final state.
    Appeal._base_manager.filter(pk=appeal.pk).update(status=Appeal.Status.CLOSED, closed_at=when)


def _raw(table, column, pk):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])
        return [row[0] for row in cursor.fetchall()]


@pytest.fixture
def old_and_new(org, catalog, operator, dispatcher, time_machine):
    time_machine.move_to(dt.datetime(2022, 3, 1, 10, tzinfo=SH), tick=False)
    old = make_appeal(
        operator=operator,
        category=catalog["leaf"],
        area=org["street"],
        phone=PHONE,
        citizen_id_number=ID_NUMBER,
        address=ADDRESS,
        content=f"门口占道经营，联系电话{PHONE}，身份证{ID_NUMBER}。",
    )
    task = task_services.appeal_dispatch(
        actor=dispatcher, appeal=old, lead=org["housing"], override_reason=f"住建局处理，诉求人另留电话{OTHER_PHONE}"
    )
    _close(old, dt.datetime(2022, 3, 20, 10, tzinfo=SH))
    time_machine.move_to(dt.datetime(2025, 6, 1, 10, tzinfo=SH), tick=False)
    recent = make_appeal(operator=operator, category=catalog["leaf"], area=org["street"], phone=PHONE)
    _close(recent, dt.datetime(2025, 6, 2, 10, tzinfo=SH))
    time_machine.move_to(dt.datetime(2026, 12, 1, 10, tzinfo=SH), tick=False)
    return Appeal.objects.get(pk=old.pk), Appeal.objects.get(pk=recent.pk), task


def test_past_the_retention_period_personal_data_goes_and_the_figures_stay(old_and_new, capsys):
    old, recent, task = old_and_new
    assert django_settings.PERSONAL_DATA_RETENTION_YEARS == 3
    counts = (Appeal.objects.count(), Task.objects.count(), Appeal.history.count())
    kept = {f: getattr(old, f) for f in ("category_id", "area_id", "status", "received_at", "closed_at", "priority")}
    log_before = AuditEvent.objects.count()

    call_command("anonymise_closed_appeals")

    a = Appeal.objects.get(pk=old.pk)
    assert (a.citizen_name, a.citizen_phone, a.citizen_id_number) == ("", "", "")
    assert (a.citizen_phone_index, a.citizen_id_number_index) == ("", "")
    assert _raw("appeals_appeal", "citizen_phone", old.pk) == [""]
    assert a.address == mask_address(ADDRESS) and a.address != ADDRESS
    assert not WHOLE_NUMBER.search(a.content) and "占道经营" in a.content
    assert PHONE not in a.search_text and ID_NUMBER.lower() not in a.search_text
    assert a.anonymised_at is not None
    assert {f: getattr(a, f) for f in kept} == kept
    assert a.updated_at == old.updated_at and a.version == old.version  # times kept, no new version
    # History rows of the appeal: the same treatment.
    for row in Appeal.history.filter(id=old.pk):
        assert (row.citizen_name, row.citizen_phone, row.citizen_id_number, row.citizen_phone_index) == ("", "", "", "")
        assert not WHOLE_NUMBER.search(row.content) and row.address == mask_address(ADDRESS)
    # Free text of the records hanging from the appeal, and their history.
    t = Task.objects.get(pk=task.pk)
    assert OTHER_PHONE not in t.dispatch_note and "住建局处理" in t.dispatch_note
    assert all(OTHER_PHONE not in (h.dispatch_note or "") for h in Task.history.filter(id=task.pk))
    assert t.department_id == task.department_id
    # The recent appeal is untouched.
    r = Appeal.objects.get(pk=recent.pk)
    assert r.citizen_phone == PHONE and r.citizen_name and r.anonymised_at is None
    # Counts unchanged; the action log kept and one entry added, with the count.
    assert (Appeal.objects.count(), Task.objects.count(), Appeal.history.count()) == counts
    assert AuditEvent.objects.count() == log_before + 1
    entry = AuditEvent.objects.order_by("-seq").first()
    assert entry.action == "appeal.personal_data_anonymised" and entry.changes["count"] == 1
    assert "1 appeals closed before 2023-12-01 anonymised" in capsys.readouterr().out
    # Done once: a second run finds nothing.
    call_command("anonymise_closed_appeals")
    assert AuditEvent.objects.order_by("-seq").first().changes["count"] == 0


def test_dry_run_lists_and_changes_nothing(old_and_new, capsys):
    old, recent, task = old_and_new
    log_before = AuditEvent.objects.count()
    call_command("anonymise_closed_appeals", "--dry-run")
    out = capsys.readouterr().out
    assert "dry run: 1 appeals" in out and old.tracking_number in out and recent.tracking_number not in out
    a = Appeal.objects.get(pk=old.pk)
    assert (a.citizen_phone, a.citizen_id_number, a.address, a.content) == (
        PHONE,
        ID_NUMBER,
        ADDRESS,
        old.content,
    )
    assert a.anonymised_at is None
    assert OTHER_PHONE in Task.objects.get(pk=task.pk).dispatch_note
    assert AuditEvent.objects.count() == log_before


def test_the_retention_period_is_a_setting(old_and_new, settings, capsys):
    old, recent, _task = old_and_new
    settings.PERSONAL_DATA_RETENTION_YEARS = 1
    call_command("anonymise_closed_appeals", "--dry-run")
    out = capsys.readouterr().out
    assert old.tracking_number in out and recent.tracking_number in out
    settings.PERSONAL_DATA_RETENTION_YEARS = 10
    call_command("anonymise_closed_appeals", "--dry-run")
    assert "dry run: 0 appeals" in capsys.readouterr().out


def test_open_appeals_are_never_anonymised(org, catalog, operator, time_machine):
    time_machine.move_to(dt.datetime(2020, 1, 5, 10, tzinfo=SH), tick=False)
    waiting = make_appeal(operator=operator, category=catalog["leaf"], area=org["street"], phone=PHONE)
    time_machine.move_to(dt.datetime(2026, 12, 1, 10, tzinfo=SH), tick=False)
    call_command("anonymise_closed_appeals")
    assert Appeal.objects.get(pk=waiting.pk).citizen_phone == PHONE


def test_monthly_on_beat():
    from apps.appeals.tasks import anonymise_closed_appeals_monthly

    entry = django_settings.CELERY_BEAT_SCHEDULE["anonymise-closed-appeals"]
    assert entry["task"] == anonymise_closed_appeals_monthly.name
    assert entry["schedule"].day_of_month == {1}
