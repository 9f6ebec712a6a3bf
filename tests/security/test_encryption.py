"""Citizens' phones and ID numbers encrypted at rest, a blind index for exact lookup, key
rotation, and a search by a full number only for those who may see contacts (logged)."""

import base64
import os

import pytest
from django.core.exceptions import FieldError, ValidationError
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from apps.appeals.models import Appeal
from apps.appeals.selectors import appeal_likely_duplicates, appeal_search
from apps.audit.models import AuditEvent
from apps.core import encrypted
from apps.core.encrypted import DataKeyError, blind_index, decrypt, encrypt, newest_key_id
from tests.factories import make_appeal

PHONE = "13981234567"
ID_NUMBER = "11010519491231002X"  # valid GB 11643 check digit


def _key():
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def _raw(table, column, pk_column, pk):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE {pk_column} = %s", [pk])
        return cursor.fetchone()[0]


@pytest.fixture
def appeal(org, catalog, operator):
    return make_appeal(
        operator=operator, category=catalog["leaf"], area=org["street"], phone=PHONE, citizen_id_number=ID_NUMBER
    )


def test_the_columns_hold_ciphertext_and_the_model_the_plaintext(appeal):
    raw_phone = _raw("appeals_appeal", "citizen_phone", "id", appeal.pk)
    raw_id = _raw("appeals_appeal", "citizen_id_number", "id", appeal.pk)
    assert PHONE not in raw_phone and raw_phone.startswith("x1$")
    assert ID_NUMBER not in raw_id and raw_id.startswith("x1$")
    assert _raw("appeals_appeal", "citizen_phone_index", "id", appeal.pk) == blind_index("phone", PHONE)
    fresh = Appeal.objects.get(pk=appeal.pk)
    assert (fresh.citizen_phone, fresh.citizen_id_number) == (PHONE, ID_NUMBER)
    assert Appeal.objects.filter(pk=appeal.pk).values_list("citizen_phone", flat=True)[0] == PHONE


def test_history_rows_hold_ciphertext_too(appeal):
    history = Appeal.history.model
    row = history.objects.filter(id=appeal.pk).first()
    raw = _raw(history._meta.db_table, "citizen_phone", "history_id", row.history_id)
    assert raw.startswith("x1$") and PHONE not in raw
    assert PHONE not in _raw(history._meta.db_table, "citizen_id_number", "history_id", row.history_id)
    assert row.citizen_phone == PHONE  # opened on read for those who may see it


def test_same_phone_seals_differently_and_a_ciphertext_does_not_open_as_another_field():
    a, b = encrypt(PHONE, "appeal.citizen_phone"), encrypt(PHONE, "appeal.citizen_phone")
    assert a != b  # random nonce: equal phones are not visible as equal ciphertexts
    with pytest.raises(DataKeyError):
        decrypt(a, "appeal.citizen_id_number")  # associated data binds it to its column
    tampered = a[:-2] + ("A" if a[-2] != "A" else "B") + a[-1]
    with pytest.raises(DataKeyError):
        decrypt(tampered, "appeal.citizen_phone")


def test_blind_index_normalises_and_depends_on_its_own_key(settings):
    assert (
        blind_index("phone", "139 8123 4567") == blind_index("phone", PHONE) == blind_index("phone", "+8613981234567")
    )
    assert blind_index("phone", "0833-2123456") == blind_index("phone", "08332123456")
    assert blind_index("id_number", ID_NUMBER.lower()) == blind_index("id_number", ID_NUMBER)
    assert blind_index("phone", "") == ""
    before = blind_index("phone", PHONE)
    settings.XLX_BLIND_INDEX_KEY = _key()
    assert blind_index("phone", PHONE) != before


def test_lookups_on_the_encrypted_column_are_refused(appeal):
    for lookup in ("citizen_phone", "citizen_phone__startswith", "citizen_phone__contains", "citizen_id_number"):
        with pytest.raises(FieldError):
            list(Appeal.objects.filter(**{lookup: PHONE[:3]}))
    # "has no phone" still works and says nothing about the number
    assert not Appeal.objects.filter(citizen_phone="").filter(pk=appeal.pk).exists()
    assert Appeal.objects.exclude(citizen_phone="").filter(pk=appeal.pk).exists()


def test_admin_query_string_lookup_on_the_phone_is_no_oracle(client, appeal, dispatcher):
    client.force_login(dispatcher)
    url = reverse("admin:appeals_appeal_changelist")
    for lookup in ("citizen_phone__startswith", "citizen_phone", "citizen_id_number__contains"):
        page = client.get(url, {lookup: PHONE[:3]})
        # Refused outright (400), whatever the guess: no narrowed list, and not the admin's
        # ?e=1 redirect either (which an invalid value of a valid lookup also gives).
        assert page.status_code == 400


def test_duplicates_by_the_same_phone_go_through_the_blind_index(org, catalog, operator, appeal):
    later = make_appeal(operator=operator, category=catalog["other"], area=org["district"], phone=PHONE)
    assert appeal in appeal_likely_duplicates(later)
    stranger = make_appeal(operator=operator, category=catalog["other"], area=org["district"], phone="13700000000")
    assert appeal not in appeal_likely_duplicates(stranger)


def test_search_by_full_phone_for_a_permitted_user_is_logged(appeal, dispatcher):
    assert dispatcher.has_perm("appeals.view_citizen_contact")
    before = AuditEvent.objects.filter(action="appeal.searched_by_contact").count()
    assert list(appeal_search(Appeal.objects.all(), PHONE, user=dispatcher)) == [appeal]
    assert list(appeal_search(Appeal.objects.all(), ID_NUMBER, user=dispatcher)) == [appeal]
    events = list(AuditEvent.objects.filter(action="appeal.searched_by_contact").order_by("seq"))
    assert len(events) == before + 2
    event = events[-2]
    assert event.actor == dispatcher and event.occurred_at is not None
    assert event.changes["number"] == "139****4567" and PHONE not in str(event.changes)
    assert ID_NUMBER not in str(events[-1].changes)


def test_search_by_full_phone_is_refused_to_others_and_partial_numbers_never_match(appeal, dept_staff, dispatcher):
    assert not dept_staff.has_perm("appeals.view_citizen_contact")
    before = AuditEvent.objects.filter(action="appeal.searched_by_contact").count()
    assert list(appeal_search(Appeal.objects.all(), PHONE, user=dept_staff)) == []
    assert list(appeal_search(Appeal.objects.all(), PHONE)) == []  # no user: no phone lookup
    assert list(appeal_search(Appeal.objects.all(), PHONE, user=dispatcher, by_phone=False)) == []
    assert list(appeal_search(Appeal.objects.all(), PHONE[:7], user=dispatcher)) == []
    assert list(appeal_search(Appeal.objects.all(), PHONE[-4:], user=dispatcher)) == []
    assert AuditEvent.objects.filter(action="appeal.searched_by_contact").count() == before


def test_the_changelist_says_a_number_was_not_looked_up(client, org, catalog, operator, city_leader, dispatcher):
    urgent = make_appeal(operator=operator, category=catalog["leaf"], area=org["street"], phone=PHONE, priority="P0")
    assert not city_leader.has_perm("appeals.view_citizen_contact")
    url = reverse("admin:appeals_appeal_changelist")
    client.force_login(city_leader)
    assert urgent.tracking_number in client.get(url).content.decode()  # the leader sees the appeal listed
    html = client.get(url, {"q": PHONE}).content.decode()
    assert urgent.tracking_number not in html
    assert "may not look citizens up by their number" in html or "您的角色不能按号码查找诉求人" in html
    client.force_login(dispatcher)
    html = client.get(url, {"q": PHONE}).content.decode()
    assert urgent.tracking_number in html
    assert "may not look citizens up" not in html and "不能按号码查找" not in html


def test_the_id_number_is_optional_and_checked(org, catalog, operator):
    plain = make_appeal(operator=operator, category=catalog["leaf"], area=org["street"])
    assert plain.citizen_id_number == "" and plain.citizen_id_number_index == ""
    from apps.core.exceptions import DomainError

    with pytest.raises((ValidationError, DomainError)):
        make_appeal(
            operator=operator, category=catalog["leaf"], area=org["street"], citizen_id_number="110105194912310021"
        )
    anonymous = make_appeal(
        operator=operator, category=catalog["leaf"], area=org["street"], citizen_id_number=ID_NUMBER, is_anonymous=True
    )
    assert anonymous.citizen_id_number == ""


def test_the_intake_form_asks_for_the_id_number_as_optional(client, operator, org):
    client.force_login(operator)
    html = client.get(reverse("admin:appeals_appeal_add")).content.decode()
    assert 'name="citizen_id_number"' in html
    assert "required" not in html.split('name="citizen_id_number"')[1].split(">")[0]


def test_rotation_reseals_every_row_and_old_rows_open_without_the_old_key(settings, appeal, capsys):
    old_key = settings.XLX_DATA_KEYS[0]
    new_key = _key()
    old_raw = _raw("appeals_appeal", "citizen_phone", "id", appeal.pk)
    settings.XLX_DATA_KEYS = [new_key, old_key]
    call_command("rotate_data_key", batch=1)
    out = capsys.readouterr().out
    assert "re-sealed" in out
    new_raw = _raw("appeals_appeal", "citizen_phone", "id", appeal.pk)
    assert new_raw != old_raw and encrypted.sealed_by(new_raw) == newest_key_id()
    history = Appeal.history.model
    for row in history.objects.filter(id=appeal.pk):
        assert encrypted.sealed_by(_raw(history._meta.db_table, "citizen_phone", "history_id", row.history_id)) == (
            newest_key_id()
        )
    # Idempotent: a second run changes nothing.
    call_command("rotate_data_key")
    assert _raw("appeals_appeal", "citizen_phone", "id", appeal.pk) == new_raw
    assert "appeals_appeal: 0 rows" in capsys.readouterr().out
    # The old key gone: every row still opens.
    settings.XLX_DATA_KEYS = [new_key]
    fresh = Appeal.objects.get(pk=appeal.pk)
    assert (fresh.citizen_phone, fresh.citizen_id_number) == (PHONE, ID_NUMBER)
    assert [r.citizen_phone for r in history.objects.filter(id=appeal.pk)] == [PHONE] * history.objects.filter(
        id=appeal.pk
    ).count()
    assert AuditEvent.objects.filter(action="core.data_key_rotated").exists()


def test_without_the_key_a_row_does_not_open(settings, appeal):
    settings.XLX_DATA_KEYS = [_key()]
    with pytest.raises(DataKeyError):
        Appeal.objects.get(pk=appeal.pk)


def test_the_data_migration_seals_plaintext_rows(appeal):
    """Rows written before encryption (plaintext in the column) are sealed by the
    migration's routine, the index filled; a second pass changes nothing."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE appeals_appeal SET citizen_phone = %s, citizen_phone_index = '' WHERE id = %s", [PHONE, appeal.pk]
        )
    columns = [("citizen_phone", "appeal.citizen_phone", "citizen_phone_index", "phone")]
    changed = encrypted.reseal_table(connection, table="appeals_appeal", pk="id", columns=columns, batch=2)
    assert changed == 1
    assert _raw("appeals_appeal", "citizen_phone", "id", appeal.pk).startswith("x1$")
    assert Appeal.objects.get(pk=appeal.pk).citizen_phone_index == blind_index("phone", PHONE)
    assert encrypted.reseal_table(connection, table="appeals_appeal", pk="id", columns=columns, batch=2) == 0


def _import_settings(**env):
    import subprocess
    import sys

    base = {k: v for k, v in os.environ.items() if not k.startswith("XLX_")}
    base.update(APP_ENV="production", SECRET_KEY="p" * 60, ALLOWED_HOSTS="example.org", **env)
    return subprocess.run(
        [sys.executable, "-c", "import backoffice.settings"], env=base, capture_output=True, text=True, timeout=60
    )


def test_production_refuses_to_start_without_its_own_keys(settings):
    missing = _import_settings()
    assert missing.returncode != 0 and "XLX_DATA_KEYS" in missing.stderr
    dev_key = _import_settings(XLX_DATA_KEYS=settings.XLX_DATA_KEYS[0], XLX_BLIND_INDEX_KEY=_key())
    assert dev_key.returncode != 0 and "XLX_DATA_KEYS" in dev_key.stderr
    no_index = _import_settings(XLX_DATA_KEYS=_key())
    assert no_index.returncode != 0 and "XLX_BLIND_INDEX_KEY" in no_index.stderr
    assert _import_settings(XLX_DATA_KEYS=f"{_key()},{_key()}", XLX_BLIND_INDEX_KEY=_key()).returncode == 0


def test_the_seed_generators_bulk_writer_seals_and_indexes(appeal):
    """seed_city writes a million appeals by COPY on PostgreSQL (bulk_create elsewhere),
    past the fields' own encryption: the writer seals and indexes each row itself."""
    from apps.simulation.bulk import BulkWriter

    row = {f.attname: getattr(appeal, f.attname) for f in Appeal._meta.concrete_fields}
    row.update(id=appeal.pk + 1000, tracking_number="20991231-000001", citizen_phone_index="")
    BulkWriter().insert(Appeal, [row])
    raw = _raw("appeals_appeal", "citizen_phone", "id", appeal.pk + 1000)
    assert raw.startswith("x1$") and PHONE not in raw
    assert PHONE not in _raw("appeals_appeal", "citizen_id_number", "id", appeal.pk + 1000)
    copy = Appeal.objects.get(pk=appeal.pk + 1000)
    assert (copy.citizen_phone, copy.citizen_id_number) == (PHONE, ID_NUMBER)
    assert copy.citizen_phone_index == blind_index("phone", PHONE)
