"""Append-only history and action log on PostgreSQL (MLPS 8.1.4.3c, security.md §c option A).

Every simple-history table and the action log get two triggers: a row trigger refusing
UPDATE and DELETE and a statement trigger refusing TRUNCATE (TRUNCATE skips row
triggers). Inserts are untouched. The application cannot rewrite the record; an owner or
superuser can still `ALTER TABLE ... DISABLE TRIGGER`, which is why the action log is
also hash-chained and verified nightly.

Sanctioned maintenance (the test suite's flush between transactional tests, an archive
job run by the DBA) sets a transaction-local setting first:

    SET LOCAL xlx.maintenance = 'on';

SQLite has no triggers here: the application-level guards (AuditedQuerySet, AuditEvent.save)
are what protect it.
"""

from __future__ import annotations

from django.apps import apps as global_apps
from django.db import connections

FUNCTION = "xlx_refuse_rewrite"
ROW_TRIGGER = "xlx_append_only_row"
TRUNCATE_TRIGGER = "xlx_append_only_truncate"
MAINTENANCE_SETTING = "xlx.maintenance"

CREATE_FUNCTION = f"""
CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(current_setting('{MAINTENANCE_SETTING}', true), '') = 'on' THEN
        IF TG_LEVEL = 'ROW' AND TG_OP = 'DELETE' THEN RETURN OLD; END IF;
        IF TG_LEVEL = 'ROW' THEN RETURN NEW; END IF;
        RETURN NULL;
    END IF;
    RAISE EXCEPTION '% on %.% refused: the record is append-only', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Sanctioned maintenance sets {MAINTENANCE_SETTING} = on (see docs/operations.md).';
END
$$;
"""


def protected_tables(apps=None) -> list[str]:
    """Every simple-history table, and the action log."""
    apps = apps or global_apps
    tables = []
    for model in apps.get_models(include_auto_created=False):
        meta = model._meta
        if meta.proxy or not meta.managed:
            continue
        is_history = meta.model_name.startswith("historical") and any(
            f.name in {"history_id", "m2m_history_id"} for f in meta.concrete_fields
        )
        if is_history or meta.label_lower == "audit.auditevent":
            tables.append(meta.db_table)
    return sorted(set(tables))


def _quote(connection, name: str) -> str:
    return connection.ops.quote_name(name)


def install(connection, tables: list[str]) -> int:
    """Create the function and the triggers on `tables` that do not have them yet."""
    if connection.vendor != "postgresql" or not tables:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE t.tgname = %s AND c.relname = ANY(%s) AND pg_table_is_visible(c.oid)",
            [ROW_TRIGGER, tables],
        )
        done = {row[0] for row in cursor.fetchall()}
        cursor.execute(
            "SELECT c.relname FROM pg_class c WHERE c.relname = ANY(%s) AND c.relkind IN ('r', 'p') "
            "AND pg_table_is_visible(c.oid)",
            [tables],
        )
        existing = {row[0] for row in cursor.fetchall()}
        todo = [t for t in tables if t in existing and t not in done]
        if not todo:
            return 0
        cursor.execute(CREATE_FUNCTION)
        for table in todo:
            q = _quote(connection, table)
            cursor.execute(
                f"CREATE TRIGGER {ROW_TRIGGER} BEFORE UPDATE OR DELETE ON {q} "
                f"FOR EACH ROW EXECUTE FUNCTION {FUNCTION}()"
            )
            cursor.execute(
                f"CREATE TRIGGER {TRUNCATE_TRIGGER} BEFORE TRUNCATE ON {q} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()"
            )
    return len(todo)


def uninstall(connection, tables: list[str]) -> None:
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for table in tables:
            q = _quote(connection, table)
            cursor.execute(f"DROP TRIGGER IF EXISTS {ROW_TRIGGER} ON {q}")
            cursor.execute(f"DROP TRIGGER IF EXISTS {TRUNCATE_TRIGGER} ON {q}")
        cursor.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}()")


def ensure_triggers_after_migrate(sender=None, using="default", apps=None, **kwargs) -> None:
    """post_migrate: history tables of apps migrated later (e.g. followups) are covered too."""
    if sender is None or sender.label != "supervision":
        return  # once per migrate run: supervision's own post_migrate
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    install(connection, protected_tables())


def maintenance(connection) -> None:
    """Allow UPDATE/DELETE/TRUNCATE for the rest of the current transaction (sanctioned
    maintenance only: test flushes, the DBA's archive jobs)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL {MAINTENANCE_SETTING} = 'on'")


def sanction_test_flush() -> None:
    """For the test suite only: Django's flush (the end of every transactional test)
    TRUNCATEs every table; on PostgreSQL it runs as sanctioned maintenance, inside the
    flush's own transaction (SET LOCAL), so nothing else gets the exemption."""
    try:
        from django.db.backends.postgresql.operations import DatabaseOperations
    except ImportError:  # no PostgreSQL driver: nothing to do
        return
    original = DatabaseOperations.execute_sql_flush
    if getattr(original, "sanctioned", False):
        return

    def execute_sql_flush(self, sql_list):
        return original(self, [f"SET LOCAL {MAINTENANCE_SETTING} = 'on'", *sql_list])

    execute_sql_flush.sanctioned = True
    DatabaseOperations.execute_sql_flush = execute_sql_flush
