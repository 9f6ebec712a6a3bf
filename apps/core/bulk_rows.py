"""Many rows updated by primary key, each with its own values, in few statements.

Django's bulk_update writes one CASE WHEN per column with a branch per row, and compiling
those expressions costs milliseconds a row (the anonymisation of a month of appeals spent
nine tenths of its time there). Here PostgreSQL gets one UPDATE … FROM unnest(arrays) per
chunk, one round trip whatever the rows; other databases one prepared UPDATE run for each
row (executemany). Used by the jobs that rewrite stored rows without save(): the
anonymisation (apps.appeals.retention) and the data-key rotation (apps.core.encrypted).

These writes bypass save(), signals and history on purpose: their callers say why.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

CHUNK = 1000


def update_by_pk(
    connection,
    *,
    table: str,
    pk: str,
    columns: Sequence[tuple[str, str]],
    rows: Iterable[Sequence],
    pk_type: str = "bigint",
) -> int:
    """`columns` is [(column, its PostgreSQL type)], each row [value per column…, pk].
    Returns the rows given."""
    qn = connection.ops.quote_name
    rows = list(rows)
    if not rows or not columns:
        return 0
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            aliases = [f"v{i}" for i in range(len(columns))]
            assignments = ", ".join(f"{qn(c)} = v.{a}" for (c, _t), a in zip(columns, aliases, strict=True))
            arrays = ", ".join([f"%s::{t}[]" for _c, t in columns] + [f"%s::{pk_type}[]"])
            sql = (
                f"UPDATE {qn(table)} SET {assignments} FROM unnest({arrays}) "
                f"AS v({', '.join(aliases)}, row_pk) WHERE {qn(table)}.{qn(pk)} = v.row_pk"
            )
            for start in range(0, len(rows), CHUNK):
                chunk = rows[start : start + CHUNK]
                cursor.execute(sql, [list(column) for column in zip(*chunk, strict=True)])
        else:
            assignments = ", ".join(f"{qn(c)} = %s" for c, _t in columns)
            cursor.executemany(f"UPDATE {qn(table)} SET {assignments} WHERE {qn(pk)} = %s", rows)
    return len(rows)


def update_fields(model, objs: Sequence, field_names: Sequence[str], *, connection) -> int:
    """Write `field_names` of each of `objs` (instances of `model`, or of its history model)
    as they are now, values prepared by their fields as save() would."""
    fields = [model._meta.get_field(name) for name in field_names]
    pk = model._meta.pk
    columns = [(f.column, _array_type(f, connection)) for f in fields]
    rows = ([*(f.get_db_prep_save(getattr(obj, f.attname), connection) for f in fields), obj.pk] for obj in objs)
    return update_by_pk(
        connection,
        table=model._meta.db_table,
        pk=pk.column,
        columns=columns,
        rows=rows,
        pk_type=_array_type(pk, connection),
    )


def _array_type(field, connection) -> str:
    """The column's type as an array element: "varchar(20)" and "text" stay, an
    auto-increment key is its integer type."""
    kind = field.rel_db_type(connection) if field.primary_key else field.db_type(connection)
    return kind.split(" CHECK")[0]
