"""The record cannot be rewritten silently: append-only history and action log on
PostgreSQL (triggers), and the hash chain catches what a superuser does with triggers off."""

import pytest
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from apps.audit.models import AuditEvent, ChainAlert
from apps.audit.services import chain_check, record
from apps.supervision import immutability
from apps.tasks.models import Task

on_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="triggers are PostgreSQL only; SQLite keeps the application guards"
)


def _raw(sql, params=()):
    with transaction.atomic(), connection.cursor() as cursor:  # a savepoint: the test goes on
        # TRUNCATE inside the test's transaction must not trip over deferred FK checks first.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(sql, params)


def _superuser_tampers(sql, params=()):
    """What an owner or superuser can still do: run with the triggers off (this transaction)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = origin")


@on_postgres
@pytest.mark.parametrize("statement", [
    "UPDATE {table} SET history_change_reason = 'rewritten'",
    "DELETE FROM {table}",
    "TRUNCATE {table}",
])
def test_raw_writes_to_a_history_table_are_refused(scripted, statement):
    table = Task.history.model._meta.db_table
    before = Task.history.count()
    with pytest.raises(DatabaseError, match="append-only"):
        _raw(statement.format(table=table))
    assert Task.history.count() == before
    assert not Task.history.filter(history_change_reason="rewritten").exists()


@on_postgres
@pytest.mark.parametrize("statement", [
    "UPDATE {table} SET reason = 'rewritten'",
    "DELETE FROM {table}",
    "TRUNCATE {table} CASCADE",
])
def test_raw_writes_to_the_action_log_are_refused(scripted, statement):
    before = AuditEvent.objects.count()
    with pytest.raises(DatabaseError, match="append-only"):
        _raw(statement.format(table=AuditEvent._meta.db_table))
    assert AuditEvent.objects.count() == before


@on_postgres
def test_every_history_table_and_the_action_log_carry_both_triggers(db):
    tables = immutability.protected_tables()
    assert "audit_auditevent" in tables and "tasks_historicaltask" in tables
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE t.tgname IN (%s, %s) GROUP BY c.relname",
            [immutability.ROW_TRIGGER, immutability.TRUNCATE_TRIGGER],
        )
        found = dict(cursor.fetchall())
    assert {t: found.get(t) for t in tables} == {t: 2 for t in tables}


@on_postgres
@pytest.mark.django_db(transaction=True)
def test_sanctioned_maintenance_lasts_one_transaction_and_the_test_flush_still_works(org):
    """Real transactions here (and the flush after this test TRUNCATEs every table, as
    sanctioned maintenance: see tests/conftest.py)."""
    from apps.organization.models import Department

    history = Department.history.model
    table = history._meta.db_table
    assert history.objects.count() >= 5  # the services append
    with transaction.atomic(), connection.cursor() as cursor:
        immutability.maintenance(connection)
        cursor.execute(f"UPDATE {table} SET history_change_reason = 'archived'")
    assert history.objects.filter(history_change_reason="archived").count() == history.objects.count()
    # SET LOCAL ended with that transaction: refused again.
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET history_change_reason = 'x'")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {table}")


@pytest.mark.parametrize("tamper", ["edit", "delete"])
def test_tampering_with_triggers_off_is_caught_by_the_chain_and_raises_an_alert(
    scripted, audit_admin, tamper, system_actor, django_capture_on_commit_callbacks
):
    from apps.notifications.models import Notification

    events = list(AuditEvent.objects.order_by("seq"))
    victim = events[len(events) // 2]
    table = AuditEvent._meta.db_table
    if tamper == "edit":
        _superuser_tampers(f"UPDATE {table} SET reason = %s WHERE seq = %s", ["已篡改", victim.seq])
        broken = victim.seq
    else:
        _superuser_tampers(f"DELETE FROM {table} WHERE seq = %s", [victim.seq])
        broken = victim.seq + 1
    with django_capture_on_commit_callbacks(execute=True):
        report = chain_check(actor=system_actor, source="nightly")
    assert not report.ok and report.broken_seq == broken
    alert = ChainAlert.objects.get()
    assert alert.broken_seq == broken
    assert Notification.objects.filter(recipient=audit_admin, title__contains=f"#{broken}").exists()
    logged = AuditEvent.objects.filter(action="audit.chain_verified").order_by("-seq").first()
    assert logged.outcome == "failure" and logged.changes["broken_seq"] == broken


def test_the_nightly_task_passes_on_an_intact_chain_without_an_alert(scripted):
    from apps.audit.tasks import verify_chain_nightly

    result = verify_chain_nightly()
    assert result["ok"] and result["checked"] > 10
    assert not ChainAlert.objects.exists()


def test_the_audit_admin_verifies_on_demand_from_the_admin(client, scripted, audit_admin, inspector):
    url = reverse("admin:audit_auditevent_verify")
    client.force_login(inspector)  # reads the log, may not run the verification
    client.post(url)
    assert not AuditEvent.objects.filter(action="audit.chain_verified").exists()
    victim = AuditEvent.objects.order_by("seq")[3]
    _superuser_tampers(f"UPDATE {AuditEvent._meta.db_table} SET reason = 'x' WHERE seq = %s", [victim.seq])
    client.force_login(audit_admin)
    response = client.post(url, follow=True)
    assert response.status_code == 200
    assert ChainAlert.objects.get().broken_seq == victim.seq
    assert client.get(reverse("admin:audit_chainalert_changelist")).status_code == 200


def test_the_beat_schedule_runs_the_sweep_and_the_nightly_verification(settings):
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"supervision.ladder_sweep", "audit.verify_chain"} <= tasks
    from backoffice.celery import app

    assert {"supervision.ladder_sweep", "audit.verify_chain"} <= set(app.tasks)


def test_sqlite_keeps_the_application_guards(scripted):
    from apps.core.exceptions import AuditBypassError

    with pytest.raises(AuditBypassError):
        Task.objects.filter(pk=scripted["task"].pk).update(status="done")
    with pytest.raises(AuditBypassError):
        AuditEvent.objects.all().delete()
    with transaction.atomic():
        record(actor=None, action="test.still_appends")
