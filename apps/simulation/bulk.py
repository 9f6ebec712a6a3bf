"""Fast inserts for generated rows: PostgreSQL COPY through psycopg 3, bulk_create elsewhere.

Rows are dicts keyed by field attname ("appeal_id", not "appeal"). Every concrete column
of the model must be present, except an auto primary key, which the database fills when
the rows do not carry it (history ids, action-log ids, grant ids). Primary keys the
generator needs to know in advance (appeals, tasks, staff ...) come from `IdPool`, which
draws them from the table's own sequence, so no sequence needs resetting afterwards.

On PostgreSQL the rows become binary COPY data in the generating process (psycopg's
FileWriter: packing a timestamp costs a tenth of printing it). Outside a transaction a
writer process (apps.simulation.copy_worker, its own connection and interpreter) sends
that data and commits, so the server works on one batch while Python makes the next.

For a first load into near-empty tables, `SuspendedIndexes` drops the secondary indexes
and unique constraints and rebuilds them afterwards (a sorted build is far cheaper than
millions of random inserts), and the writer may skip the per-row foreign-key triggers;
`check_foreign_keys` then verifies every foreign key set-wise, and the rebuilt unique
constraints verify uniqueness. These writes bypass save(), signals and simple-history on
purpose: the generator writes the history rows and action-log entries itself.
"""

from __future__ import annotations

import io
import itertools
import logging
import multiprocessing
import queue
import threading
import time
from collections.abc import Iterable
from functools import partial
from operator import itemgetter
from pathlib import Path

from django.db import connection, connections, models, transaction
from psycopg.copy import Copy, FileWriter

from apps.core.encrypted import BlindIndexField, EncryptedCharField, blind_index

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


def _sealed(fields: list[models.Field], values):
    """COPY bypasses the fields' get_db_prep_value and pre_save: personal data is
    encrypted and blind-indexed here instead (apps.core.encrypted), once per row written."""
    steps = []
    for i, f in enumerate(fields):
        if isinstance(f, EncryptedCharField):
            steps.append((i, f.attname, f.encrypt))
        elif isinstance(f, BlindIndexField):
            steps.append((i, f.source, partial(blind_index, f.kind)))
    if not steps:
        return values

    def sealed(row):
        out = list(values(row))
        for i, source, seal in steps:
            if out[i] and not isinstance(fields[i], EncryptedCharField):
                continue  # a blind index the generator computed once for the appeal and its history rows
            out[i] = seal(row[source])
        return out

    return sealed


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
        self._background: _WriterProcess | None = None
        self.blocked_seconds = 0.0  # time the generator waited for the writer thread (server-bound)

    # --- formatting -------------------------------------------------------------------------

    def _payload(self, model, rows: list[dict]) -> _Payload:
        fields = _fields(model, rows[0])
        table = model._meta.db_table
        types = self._types.get(table)
        if types is None:
            types = self._types[table] = _column_types(table)
        quote = connection.ops.quote_name
        values = _sealed(fields, itemgetter(*[f.attname for f in fields]))  # a row's tuple, in C
        buffer = io.BytesIO()
        connection.ensure_connection()
        with connection.cursor() as cursor:
            with Copy(cursor.cursor, binary=True, writer=FileWriter(buffer)) as copy:
                copy.set_types([types[f.column] for f in fields])
                write = copy.write_row
                for row in rows:
                    write(values(row))
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
        started = time.perf_counter()
        self._background.submit(payloads)
        self.blocked_seconds += time.perf_counter() - started
        for payload in payloads:
            self._count(payload.table, payload.rows, 0.0)

    def start_background(self, *, skip_fk_triggers: bool = False) -> bool:
        """Send batches through a writer process from now on. PostgreSQL, outside any
        transaction only: its connection cannot see the caller's open transaction.
        `skip_fk_triggers`: the writer's session runs with session_replication_role =
        replica (superusers only), so foreign keys are not checked row by row; call
        check_foreign_keys afterwards."""
        if not is_postgresql() or connection.in_atomic_block:
            return False
        self._background = _WriterProcess(skip_fk_triggers=skip_fk_triggers)
        return True

    def abort_background(self) -> None:
        """Stop the writer process at once (its open batch rolls back)."""
        if self._background is not None:
            self._background.terminate()
            self._background = None

    def finish_background(self) -> tuple[float, bool]:
        """Wait for the writer process. Returns (seconds waited, whether FK triggers were skipped)."""
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


class _WriterProcess:
    """apps.simulation.copy_worker in a spawned process: batches in order, one transaction
    each (a batch's foreign keys may point at rows of earlier batches, committed first)."""

    def __init__(self, *, skip_fk_triggers: bool, depth: int = 2):
        from apps.simulation import copy_worker

        context = multiprocessing.get_context("spawn")
        self._inbox = context.Queue(maxsize=depth)
        self._outbox = context.Queue()
        params = {k: v for k, v in connection.get_connection_params().items()
                  if isinstance(v, str | int) and not isinstance(v, bool) and k != "prepare_threshold"}
        self._process = context.Process(target=copy_worker.run, name="seed-city-copy", daemon=True,
                                        args=(params, skip_fk_triggers, self._inbox, self._outbox))
        self._process.start()
        self.skipped_fk_triggers = self._expect("ready")
        self.seconds: dict[str, float] = {}

    def _expect(self, kind: str):
        while True:
            try:
                got, value = self._outbox.get(timeout=5)
            except queue.Empty:
                if not self._process.is_alive():
                    raise RuntimeError("the COPY writer process died") from None
                continue
            if got == "error":
                self.terminate()
                raise RuntimeError(f"the COPY writer failed: {value}")
            if got == kind:
                return value

    def _check(self) -> None:
        try:
            got, value = self._outbox.get_nowait()
        except queue.Empty:
            if not self._process.is_alive():
                raise RuntimeError("the COPY writer process died") from None
            return
        if got == "error":
            self.terminate()
            raise RuntimeError(f"the COPY writer failed: {value}")

    def submit(self, payloads: list[_Payload]) -> None:
        self._put([(p.table, p.sql, p.data) for p in payloads])

    def _put(self, item) -> None:
        self._check()
        while True:
            try:
                self._inbox.put(item, timeout=5)
                return
            except queue.Full:
                self._check()

    def close(self) -> None:
        self._put(None)
        self.seconds = self._expect("done")
        self._process.join()

    def terminate(self) -> None:
        if self._process.is_alive():
            self._process.terminate()
        self._process.join()


# --- Secondary indexes and constraints during a first load -------------------------------------


_PHASE_2 = "-- then the constraints that use them:"


class SuspendedIndexes:
    """Drop the secondary indexes and unique constraints of `models` (primary keys stay)
    and rebuild them from their own definitions afterwards. GIN indexes stay: they buffer
    new entries in their pending list (fastupdate), which costs the server less than a
    rebuild, in time it has spare while Python generates. The definitions are written to
    `restore_file` (plain SQL) before anything is dropped; a later run restores from it if
    this one was killed."""

    def __init__(self, models_: Iterable[type[models.Model]], *, restore_file: Path):
        self.tables = sorted({m._meta.db_table for m in models_})
        self.restore_file = restore_file

    def suspend(self) -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                """
                SELECT t.relname, i.relname, c.conname, c.contype, pg_get_constraintdef(c.oid), pg_get_indexdef(i.oid)
                FROM pg_index x
                JOIN pg_class i ON i.oid = x.indexrelid
                JOIN pg_class t ON t.oid = x.indrelid
                JOIN pg_am a ON a.oid = i.relam
                LEFT JOIN pg_constraint c ON c.conindid = x.indexrelid AND c.conrelid = x.indrelid
                WHERE t.relname = ANY(%s) AND t.relnamespace = 'public'::regnamespace AND NOT x.indisprimary
                  AND a.amname <> 'gin'
                ORDER BY t.relname, i.relname
                """,
                [self.tables],
            )
            found = cursor.fetchall()
        quote = connection.ops.quote_name
        drops, indexes, constraints = [], [], []
        for table, index, constraint, kind, condef, indexdef in found:
            if constraint is None:
                drops.append(f"DROP INDEX {quote(index)}")
                indexes.append(indexdef)
                continue
            drops.append(f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(constraint)}")
            if kind == "u":  # build the index like any other, then attach the constraint to it
                indexes.append(indexdef)
                options = condef[condef.rindex(")") + 1:].strip()
                constraints.append(f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(constraint)} UNIQUE USING INDEX "
                                   f"{quote(index)} {options}".rstrip())
            else:
                constraints.append(f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(constraint)} {condef}")
        self.restore_file.parent.mkdir(parents=True, exist_ok=True)
        self.restore_file.write_text(
            "".join(f"{s};\n" for s in indexes) + f"{_PHASE_2}\n" + "".join(f"{s};\n" for s in constraints),
            encoding="utf-8")
        with transaction.atomic(), connection.cursor() as cursor:
            for statement in drops:
                cursor.execute(statement)
        return len(drops)

    def restore(self, progress=None) -> int:
        return restore_indexes(self.restore_file, progress=progress)


def restore_indexes(restore_file: Path, *, progress=None, workers: int = 2) -> int:
    """Run the saved definitions (skipping any that exist again), then forget the file.

    The indexes are built by `workers` connections at once, the biggest tables first
    (CREATE INDEX takes a lock that lets other index builds on the same table proceed);
    the constraints are then attached to their indexes, which takes no time."""
    if not restore_file.exists():
        return 0
    text = restore_file.read_text(encoding="utf-8")
    first, _sep, second = text.partition(_PHASE_2)
    indexes = [s.strip() for s in first.split(";\n") if s.strip()]
    constraints = [s.strip() for s in second.split(";\n") if s.strip()]
    with connection.cursor() as cursor:
        tables = sorted({_table_of(s) for s in indexes})
        cursor.execute("SELECT relname, pg_table_size(oid) FROM pg_class WHERE relname = ANY(%s)", [tables])
        sizes = dict(cursor.fetchall())
    todo = queue.Queue()
    for statement in sorted(indexes, key=lambda s: -sizes.get(_table_of(s), 0)):
        todo.put(statement)
    total = len(indexes) + len(constraints)
    errors: list[BaseException] = []
    done = itertools.count(1)
    lock = threading.Lock()

    def run(cursor, statement: str) -> None:
        started = time.perf_counter()
        try:
            with transaction.atomic(using=cursor.db.alias):
                cursor.execute(statement)
        except Exception as exc:
            if "already exists" not in str(exc):
                raise
        if progress is not None:
            with lock:
                progress(f"rebuilt {next(done)}/{total} in {time.perf_counter() - started:,.1f}s: {statement[:90]}")

    def build() -> None:
        conn = connections["default"]
        try:
            with conn.cursor() as cursor:
                cursor.execute("SET maintenance_work_mem TO '768MB'")
                while not errors:
                    try:
                        statement = todo.get_nowait()
                    except queue.Empty:
                        return
                    run(cursor, statement)
        except BaseException as exc:
            errors.append(exc)
        finally:
            if threading.current_thread() is not threading.main_thread():
                conn.close()

    threads = [threading.Thread(target=build) for _i in range(max(0, workers - 1))]
    for thread in threads:
        thread.start()
    build()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    with connection.cursor() as cursor:
        for statement in constraints:
            run(cursor, statement)
    restore_file.unlink()
    return total


def _table_of(statement: str) -> str:
    """The table a CREATE INDEX or ALTER TABLE statement applies to."""
    if statement.startswith("ALTER TABLE "):
        return statement.split()[2].strip('"')
    return statement.split(" ON ", 1)[1].split()[0].split(".")[-1].strip('"')


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
