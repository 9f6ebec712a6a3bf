"""Fast inserts for generated rows: PostgreSQL COPY through psycopg 3, bulk_create elsewhere.

Rows are dicts keyed by field attname ("appeal_id", not "appeal"). Every concrete column
of the model must be present, except an auto primary key, which the database fills when
the rows do not carry it (history ids, action-log ids, grant ids). Primary keys the
generator needs to know in advance (appeals, tasks, staff ...) come from `IdPool`, which
draws them from the table's own sequence, so no sequence needs resetting afterwards.

On PostgreSQL the rows become binary COPY data in the generating thread (psycopg's
FileWriter: packing a timestamp costs a tenth of printing it). Outside a transaction a
background thread with its own connection sends that data and commits, so the server
works on one batch while Python makes the next; the thread only moves bytes, so it hardly
competes for the GIL.

For a first load into near-empty tables, `SuspendedIndexes` drops the secondary indexes
and unique constraints and rebuilds them afterwards (a sorted build is far cheaper than
millions of random inserts), and the writer may skip the per-row foreign-key triggers;
`check_foreign_keys` then verifies every foreign key set-wise, and the rebuilt unique
constraints verify uniqueness. These writes bypass save(), signals and simple-history on
purpose: the generator writes the history rows and action-log entries itself.
"""

from __future__ import annotations

import io
import logging
import queue
import threading
import time
from collections.abc import Iterable
from pathlib import Path

from django.db import connection, connections, models, transaction
from psycopg.copy import Copy, FileWriter

logger = logging.getLogger(__name__)


def is_postgresql() -> bool:
    return connection.vendor == "postgresql"


class IdPool:
    """Primary keys for one model, fetched from its sequence in blocks.

    PostgreSQL: `nextval` of the table's sequence (a concurrent writer simply gets other
    numbers). SQLite: max(id) + 1 onwards; SQLite keeps AUTOINCREMENT above any explicit id.
    """

    def __init__(self, model: type[models.Model], *, block: int = 20_000):
        self.model = model
        self.block = block
        self._ids: list[int] = []
        self._pos = 0
        self._sqlite_next: int | None = None

    def next(self) -> int:
        if self._pos >= len(self._ids):
            self._ids = self._fetch(self.block)
            self._pos = 0
        value = self._ids[self._pos]
        self._pos += 1
        return value

    def _fetch(self, n: int) -> list[int]:
        table = self.model._meta.db_table
        pk = self.model._meta.pk.column
        with connection.cursor() as cursor:
            if is_postgresql():
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)", [table, pk, n]
                )
                return [row[0] for row in cursor.fetchall()]
            if self._sqlite_next is None:
                quote = connection.ops.quote_name
                cursor.execute(f"SELECT COALESCE(MAX({quote(pk)}), 0) FROM {quote(table)}")
                self._sqlite_next = cursor.fetchone()[0] + 1
        start = self._sqlite_next
        self._sqlite_next += n
        return list(range(start, start + n))


def _fields(model, first_row: dict) -> list[models.Field]:
    return [f for f in model._meta.concrete_fields if not (f.primary_key and f.attname not in first_row)]


def _column_types(table: str) -> dict[str, int]:
    """{column: type oid} from pg_attribute."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT attname, atttypid::int FROM pg_attribute WHERE attrelid = %s::regclass "
                       "AND attnum > 0 AND NOT attisdropped", [table])
        return dict(cursor.fetchall())


class _Payload:
    """One table's rows as a binary COPY stream, ready to send."""

    __slots__ = ("table", "sql", "data", "rows")

    def __init__(self, table: str, sql: str, data: bytes, rows: int):
        self.table, self.sql, self.data, self.rows = table, sql, data, rows


class BulkWriter:
    """Writes batches of rows; counts them per table for progress lines and the report."""

    def __init__(self, *, batch_size: int = 20_000):
        self.batch_size = batch_size
        self.written: dict[str, int] = {}
        self.seconds: dict[str, float] = {}  # time the server took per table (sending + commit share)
        self._types: dict[str, dict[str, int]] = {}
        self._background: _BackgroundCopier | None = None

    # --- formatting -------------------------------------------------------------------------

    def _payload(self, model, rows: list[dict]) -> _Payload:
        fields = _fields(model, rows[0])
        table = model._meta.db_table
        types = self._types.get(table)
        if types is None:
            types = self._types[table] = _column_types(table)
        quote = connection.ops.quote_name
        names = [f.attname for f in fields]
        buffer = io.BytesIO()
        connection.ensure_connection()
        with connection.cursor() as cursor:
            with Copy(cursor.cursor, binary=True, writer=FileWriter(buffer)) as copy:
                copy.set_types([types[f.column] for f in fields])
                write = copy.write_row
                for row in rows:
                    write(tuple([row[n] for n in names]))
        columns = ", ".join(quote(f.column) for f in fields)
        return _Payload(table, f"COPY {quote(table)} ({columns}) FROM STDIN (FORMAT BINARY)", buffer.getvalue(),
                        len(rows))

    # --- writing ----------------------------------------------------------------------------

    def insert(self, model: type[models.Model], rows: list[dict]) -> int:
        """Write now, on the default connection (inside the caller's transaction, if any)."""
        if not rows:
            return 0
        started = time.perf_counter()
        if is_postgresql():
            _send(connection, self._payload(model, rows))
        else:
            names = [f.attname for f in _fields(model, rows[0])]
            objs = [model(**{n: row[n] for n in names}) for row in rows]
            model._base_manager.bulk_create(objs, batch_size=self.batch_size)
        self._count(model._meta.db_table, len(rows), time.perf_counter() - started)
        return len(rows)

    def write_batch(self, batch: list[tuple[type[models.Model], list[dict]]]) -> None:
        """Write several tables' rows in one transaction: through the background thread when
        one runs, else right away."""
        if self._background is None:
            with transaction.atomic():
                for model, rows in batch:
                    self.insert(model, rows)
            return
        payloads = [self._payload(model, rows) for model, rows in batch if rows]
        self._background.submit(payloads)
        for payload in payloads:
            self._count(payload.table, payload.rows, 0.0)

    def start_background(self, *, skip_fk_triggers: bool = False) -> bool:
        """Send batches from a writer thread from now on. PostgreSQL, outside any
        transaction only: the thread's connection cannot see the caller's open transaction.
        `skip_fk_triggers`: the thread's session runs with session_replication_role =
        replica (superusers only), so foreign keys are not checked row by row; call
        check_foreign_keys afterwards."""
        if not is_postgresql() or connection.in_atomic_block:
            return False
        self._background = _BackgroundCopier(skip_fk_triggers=skip_fk_triggers)
        return True

    def finish_background(self) -> tuple[float, bool]:
        """Wait for the writer thread. Returns (seconds waited, whether FK triggers were skipped)."""
        if self._background is None:
            return 0.0, False
        started = time.perf_counter()
        background, self._background = self._background, None
        background.close()
        for table, seconds in background.seconds.items():
            self.seconds[table] = self.seconds.get(table, 0.0) + seconds
        return time.perf_counter() - started, background.skipped_fk_triggers

    def _count(self, table: str, n: int, seconds: float) -> None:
        self.written[table] = self.written.get(table, 0) + n
        if seconds:
            self.seconds[table] = self.seconds.get(table, 0.0) + seconds


def _send(conn, payload: _Payload) -> None:
    with conn.cursor() as cursor:
        with cursor.cursor.copy(payload.sql) as copy:
            copy.write(payload.data)


class _BackgroundCopier:
    """One thread, one connection, batches in order and one transaction each (a batch's
    foreign keys may point at rows of earlier batches, which are committed first)."""

    def __init__(self, *, skip_fk_triggers: bool, depth: int = 2):
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._skip_fk_triggers = skip_fk_triggers
        self.skipped_fk_triggers = False
        self.seconds: dict[str, float] = {}
        self._thread = threading.Thread(target=self._run, name="seed-city-copy", daemon=True)
        self._thread.start()

    def submit(self, payloads: list[_Payload]) -> None:
        if self._error is not None:
            raise RuntimeError("the background COPY failed") from self._error
        self._queue.put(payloads)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            raise RuntimeError("the background COPY failed") from self._error

    def _prepare(self, conn) -> None:
        with conn.cursor() as cursor:
            # A crash loses at most the last batches' commits, never consistency.
            cursor.execute("SET synchronous_commit TO off")
            if self._skip_fk_triggers:
                try:
                    with transaction.atomic(using=conn.alias):
                        cursor.execute("SET session_replication_role TO replica")
                    self.skipped_fk_triggers = True
                except Exception:  # not a superuser: keep the triggers, just slower
                    logger.info("seed_city: foreign keys are checked row by row (not a superuser).")

    def _run(self) -> None:
        conn = connections["default"]  # this thread's own connection
        try:
            self._prepare(conn)
            while True:
                payloads = self._queue.get()
                if payloads is None:
                    return
                with transaction.atomic(using=conn.alias):
                    for payload in payloads:
                        started = time.perf_counter()
                        _send(conn, payload)
                        self.seconds[payload.table] = self.seconds.get(payload.table, 0.0) + (
                            time.perf_counter() - started)
        except BaseException as exc:  # handed to the main thread at its next submit/close
            self._error = exc
            while self._queue.get() is not None:
                pass
        finally:
            conn.close()


# --- Secondary indexes and constraints during a first load -------------------------------------


class SuspendedIndexes:
    """Drop the secondary indexes and unique constraints of `models` (primary keys stay)
    and rebuild them from their own definitions. The definitions are written to
    `restore_file` before anything is dropped; a later run restores from it if this one
    was killed."""

    def __init__(self, models_: Iterable[type[models.Model]], *, restore_file: Path):
        self.tables = sorted({m._meta.db_table for m in models_})
        self.restore_file = restore_file
        self.statements: list[str] = []

    def suspend(self) -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                """
                SELECT t.relname, i.relname, c.conname, pg_get_constraintdef(c.oid), pg_get_indexdef(i.oid)
                FROM pg_index x
                JOIN pg_class i ON i.oid = x.indexrelid
                JOIN pg_class t ON t.oid = x.indrelid
                LEFT JOIN pg_constraint c ON c.conindid = x.indexrelid AND c.conrelid = x.indrelid
                WHERE t.relname = ANY(%s) AND t.relnamespace = 'public'::regnamespace AND NOT x.indisprimary
                ORDER BY t.relname, i.relname
                """,
                [self.tables],
            )
            found = cursor.fetchall()
        quote = connection.ops.quote_name
        drops, restores = [], []
        for table, index, constraint, condef, indexdef in found:
            if constraint:
                drops.append(f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(constraint)}")
                restores.append(f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(constraint)} {condef}")
            else:
                drops.append(f"DROP INDEX {quote(index)}")
                restores.append(indexdef)
        self.restore_file.parent.mkdir(parents=True, exist_ok=True)
        self.restore_file.write_text("".join(f"{s};\n" for s in restores), encoding="utf-8")
        with transaction.atomic(), connection.cursor() as cursor:
            for statement in drops:
                cursor.execute(statement)
        self.statements = restores
        return len(drops)

    def restore(self, progress=None) -> int:
        return restore_indexes(self.restore_file, progress=progress)


def restore_indexes(restore_file: Path, *, progress=None) -> int:
    """Run the saved definitions (skipping any that exist again), then forget the file."""
    if not restore_file.exists():
        return 0
    statements = [s.strip() for s in restore_file.read_text(encoding="utf-8").split(";\n") if s.strip()]
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem TO '1GB'")
        for i, statement in enumerate(statements, start=1):
            started = time.perf_counter()
            try:
                with transaction.atomic():
                    cursor.execute(statement)
            except Exception as exc:
                if "already exists" not in str(exc):
                    raise
            if progress is not None:
                progress(f"rebuilt {i}/{len(statements)} in {time.perf_counter() - started:,.1f}s: "
                         f"{statement[:90]}")
        cursor.execute("RESET maintenance_work_mem")
    restore_file.unlink()
    return len(statements)


def check_foreign_keys(models_: Iterable[type[models.Model]]) -> int:
    """Every enforced foreign key of `models` points at an existing row (one anti-join per
    key, instead of one trigger call per inserted row). Raises on the first orphan."""
    quote = connection.ops.quote_name
    checked = 0
    with connection.cursor() as cursor:
        for model in models_:
            for field in model._meta.concrete_fields:
                if not field.is_relation or not field.db_constraint:
                    continue
                target = field.target_field
                child, parent = model._meta.db_table, target.model._meta.db_table
                cursor.execute(
                    f"SELECT count(*) FROM {quote(child)} c WHERE c.{quote(field.column)} IS NOT NULL AND NOT EXISTS "
                    f"(SELECT 1 FROM {quote(parent)} p WHERE p.{quote(target.column)} = c.{quote(field.column)})")
                orphans = cursor.fetchone()[0]
                if orphans:
                    raise RuntimeError(f"{orphans} rows of {child}.{field.column} point at no {parent} row.")
                checked += 1
    return checked


def analyze(models_: Iterable[type[models.Model]]) -> None:
    """Fresh planner statistics after a load (PostgreSQL; SQLite has ANALYZE too)."""
    tables = sorted({m._meta.db_table for m in models_})
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"ANALYZE {quote(table)}")
