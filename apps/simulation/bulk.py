"""Fast inserts for generated rows: PostgreSQL COPY through psycopg 3, bulk_create elsewhere.

Rows are dicts keyed by field attname ("appeal_id", not "appeal"). Every concrete column
of the model must be present, except an auto primary key, which the database fills when
the rows do not carry it (history ids, action-log ids, grant ids). Primary keys the
generator needs to know in advance (appeals, tasks, staff ...) come from `IdPool`, which
draws them from the table's own sequence, so nothing has to be reset afterwards.

These writes bypass save(), signals and simple-history on purpose: the generator writes
the history rows and action-log entries itself, in the shape the services give them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from django.db import connection, models


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
                cursor.execute(f"SELECT COALESCE(MAX({connection.ops.quote_name(pk)}), 0) FROM "
                               f"{connection.ops.quote_name(table)}")
                self._sqlite_next = cursor.fetchone()[0] + 1
        start = self._sqlite_next
        self._sqlite_next += n
        return list(range(start, start + n))


class BulkWriter:
    """Counts what it wrote per table, for the progress lines and the final report."""

    def __init__(self, *, batch_size: int = 20_000):
        self.batch_size = batch_size
        self.written: dict[str, int] = {}

    def insert(self, model: type[models.Model], rows: list[dict]) -> int:
        if not rows:
            return 0
        fields = self._fields(model, rows[0])
        if is_postgresql():
            self._copy(model, fields, rows)
        else:
            self._bulk_create(model, fields, rows)
        table = model._meta.db_table
        self.written[table] = self.written.get(table, 0) + len(rows)
        return len(rows)

    @staticmethod
    def _fields(model, first_row: dict) -> list[models.Field]:
        fields = []
        for field in model._meta.concrete_fields:
            if field.primary_key and field.attname not in first_row:
                continue  # filled by the database
            fields.append(field)
        return fields

    def _copy(self, model, fields: list[models.Field], rows: Iterable[dict]) -> None:
        quote = connection.ops.quote_name
        columns = ", ".join(quote(f.column) for f in fields)
        sql = f"COPY {quote(model._meta.db_table)} ({columns}) FROM STDIN"
        names = [f.attname for f in fields]
        json_names = {f.attname for f in fields if isinstance(f, models.JSONField)}
        connection.ensure_connection()
        with connection.cursor() as cursor:
            raw = cursor.cursor  # the psycopg 3 cursor under Django's wrapper
            with raw.copy(sql) as copy:
                if json_names:
                    for row in rows:
                        copy.write_row(tuple(
                            json.dumps(row[n], ensure_ascii=False) if n in json_names else row[n] for n in names
                        ))
                else:
                    for row in rows:
                        copy.write_row(tuple(row[n] for n in names))

    def _bulk_create(self, model, fields: list[models.Field], rows: list[dict]) -> None:
        names = [f.attname for f in fields]
        objs = [model(**{n: row[n] for n in names}) for row in rows]
        model._base_manager.bulk_create(objs, batch_size=min(self.batch_size, 500))


def analyze(models_: Iterable[type[models.Model]]) -> None:
    """Fresh planner statistics after a load (PostgreSQL; SQLite has ANALYZE too)."""
    tables = sorted({m._meta.db_table for m in models_})
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"ANALYZE {quote(table)}")
