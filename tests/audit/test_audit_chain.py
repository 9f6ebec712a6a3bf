import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from apps.audit.chain import GENESIS, verify_chain
from apps.audit.models import AuditEvent
from apps.audit.services import record
from apps.core.exceptions import AuditBypassError
from apps.organization import services


def _bypass_triggers(cursor):
    """An attacker with the owner's rights: on PostgreSQL the action log is append-only
    (triggers), so tampering means disabling them first (superuser, this transaction only)."""
    if connection.vendor == "postgresql":
        cursor.execute("SET LOCAL session_replication_role = replica")


def _events(actor, n):
    for i in range(n):
        with transaction.atomic():
            record(actor=actor, action="test.event", reason=f"第{i}次", changes={"i": i})


def test_each_entry_hashes_the_previous_one(system_admin):
    _events(system_admin, 3)
    events = list(AuditEvent.objects.order_by("seq"))
    assert events[0].prev_hash == GENESIS if events[0].seq == 1 else True
    for before, after in zip(events, events[1:], strict=False):
        assert after.prev_hash == before.hash
        assert after.seq == before.seq + 1


def test_verify_audit_chain_passes_on_a_clean_log(system_admin, capsys):
    _events(system_admin, 5)
    call_command("verify_audit_chain")
    assert "intact" in capsys.readouterr().out


def test_verify_audit_chain_names_the_first_entry_altered_with_raw_sql(system_admin):
    _events(system_admin, 10)
    target = AuditEvent.objects.order_by("seq")[6]
    later = AuditEvent.objects.order_by("seq")[8]
    with connection.cursor() as cursor:
        _bypass_triggers(cursor)
        table = AuditEvent._meta.db_table
        cursor.execute(f"UPDATE {table} SET reason = %s WHERE seq = %s", ["篡改", target.seq])
        cursor.execute(f"UPDATE {table} SET reason = %s WHERE seq = %s", ["又篡改", later.seq])
    report = verify_chain()
    assert not report.ok
    assert report.broken_seq == target.seq
    with pytest.raises(CommandError, match=f"#{target.seq}"):
        call_command("verify_audit_chain")


def test_verify_audit_chain_catches_a_deleted_entry(system_admin):
    _events(system_admin, 5)
    victim = AuditEvent.objects.order_by("seq")[2]
    with connection.cursor() as cursor:
        _bypass_triggers(cursor)
        cursor.execute(f"DELETE FROM {AuditEvent._meta.db_table} WHERE seq = %s", [victim.seq])
    report = verify_chain()
    assert report.broken_seq == victim.seq + 1


def test_verify_audit_chain_catches_a_recomputed_hash_that_breaks_the_next_link(system_admin):
    from apps.audit.chain import compute_hash

    _events(system_admin, 5)
    victim = AuditEvent.objects.order_by("seq")[1]
    victim.reason = "伪造"
    forged = compute_hash(victim.prev_hash, victim)
    with connection.cursor() as cursor:
        _bypass_triggers(cursor)
        cursor.execute(
            f"UPDATE {AuditEvent._meta.db_table} SET reason = %s, hash = %s WHERE seq = %s",
            ["伪造", forged, victim.seq],
        )
    report = verify_chain()
    assert report.broken_seq == victim.seq + 1


def test_entries_cannot_be_changed_or_deleted_through_the_orm(system_admin):
    _events(system_admin, 1)
    event = AuditEvent.objects.first()
    event.reason = "x"
    with pytest.raises(AuditBypassError):
        event.save()
    with pytest.raises(AuditBypassError):
        event.delete()
    with pytest.raises(AuditBypassError):
        AuditEvent.objects.all().update(reason="x")
    with pytest.raises(AuditBypassError):
        AuditEvent.objects.all().delete()


@pytest.mark.django_db(transaction=True)
def test_record_refuses_to_run_outside_the_transaction_of_a_change(system_actor):
    system_admin = system_actor
    with pytest.raises(RuntimeError):
        record(actor=system_admin, action="test.event")


def test_a_change_whose_log_entry_fails_is_rolled_back(org, system_admin, monkeypatch):
    from apps.organization import services as org_services
    from apps.organization.models import Department

    def broken(**kwargs):
        raise RuntimeError("audit store down")

    monkeypatch.setattr(org_services, "record", broken)
    with pytest.raises(RuntimeError):
        services.department_create(
            actor=system_admin,
            code="NEW",
            name="新部门",
            kind="bureau",
            parent=org["gov"],
            area=org["city"],
            reason="x",
        )
    assert not Department.objects.filter(code="NEW").exists()


def test_the_log_keeps_request_id_and_address_of_admin_actions(client, system_admin, org):
    client.force_login(system_admin)
    response = client.post(
        "/admin/organization/area/add/",
        {"code": "S02", "name": "新街道", "kind": "street", "parent": org["district"].pk, "change_reason": "区划调整"},
        HTTP_X_REQUEST_ID="req-1234567890",
    )
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="area.created", target_repr="新街道")
    assert event.request_id == "req-1234567890"
    assert event.ip_address == "127.0.0.1"
    assert event.actor == system_admin


def test_logins_logouts_and_failures_are_logged(client, dept_staff):
    from tests.factories import TEST_PASSWORD

    client.post("/admin/login/", {"username": dept_staff.username, "password": "wrong"})
    client.post("/admin/login/", {"username": dept_staff.username, "password": TEST_PASSWORD})
    client.post("/admin/logout/")
    actions = list(AuditEvent.objects.order_by("seq").values_list("action", flat=True))
    assert actions[-3:] == ["auth.login_failed", "auth.login", "auth.logout"]
    failed = AuditEvent.objects.get(action="auth.login_failed")
    assert failed.outcome == "failure"
    assert failed.changes == {"username": dept_staff.username}


def test_the_audit_admin_verifies_the_chain_from_the_admin(client, audit_admin, system_admin):
    _events(system_admin, 3)
    client.force_login(audit_admin)
    response = client.post("/admin/audit/auditevent/verify/", follow=True)
    assert response.status_code == 200
    assert AuditEvent.objects.filter(action="audit.chain_verified", actor=audit_admin, outcome="success").exists()


def test_an_inspector_cannot_run_the_verification(client, inspector):
    client.force_login(inspector)
    client.post("/admin/audit/auditevent/verify/")
    assert not AuditEvent.objects.filter(action="audit.chain_verified").exists()


def _chain_queries(ctx) -> list[str]:
    return [q["sql"] for q in ctx.captured_queries if "advisory" in q["sql"] or 'FROM "audit_auditevent"' in q["sql"]]


# Real commits: inside a test's own transaction every block is one database transaction.
@pytest.mark.django_db(transaction=True)
def test_later_entries_of_one_transaction_reuse_the_head_without_locking_or_reading_again(system_admin):
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx, transaction.atomic():
        for i in range(3):
            record(actor=system_admin, action="test.event", changes={"i": i})
    # The first entry locks (PostgreSQL) and reads the head; the next two do neither.
    assert len(_chain_queries(ctx)) == (2 if connection.vendor == "postgresql" else 1)
    assert verify_chain().ok


def test_an_entry_rolled_back_with_its_savepoint_is_not_used_as_the_head(system_admin):
    with transaction.atomic():
        kept = record(actor=system_admin, action="test.kept")
        try:
            with transaction.atomic():
                record(actor=system_admin, action="test.undone")
                raise RuntimeError("roll back the savepoint")
        except RuntimeError:
            pass
        after = record(actor=system_admin, action="test.after")
    assert after.seq == kept.seq + 1
    assert after.prev_hash == kept.hash
    assert not AuditEvent.objects.filter(action="test.undone").exists()
    assert verify_chain().ok


# Real commits: inside a test's own transaction every block is one database transaction.
@pytest.mark.django_db(transaction=True)
def test_a_new_transaction_reads_the_head_again(system_admin):
    from django.test.utils import CaptureQueriesContext

    with transaction.atomic():
        first = record(actor=system_admin, action="test.first")
    with CaptureQueriesContext(connection) as ctx, transaction.atomic():
        second = record(actor=system_admin, action="test.second")
    assert _chain_queries(ctx), "a later transaction must lock and read the head itself"
    assert second.prev_hash == first.hash
