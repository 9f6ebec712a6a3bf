"""The writer process of seed_city: sends ready-made COPY data to PostgreSQL.

It runs in its own interpreter (multiprocessing "spawn"), so it shares no GIL with the
generator and needs no Django: the generator hands it, batch by batch, a list of
(table, COPY statement, binary COPY data) and it writes each batch in one transaction.
Keep this module free of Django imports.
"""

from __future__ import annotations

import time


def run(conninfo: dict, skip_fk_triggers: bool, inbox, outbox) -> None:
    """Loop until a None batch arrives; report ("ready", skipped), then ("done", seconds per
    table), or ("error", text) on the first failure."""
    import psycopg

    seconds: dict[str, float] = {}
    try:
        with psycopg.connect(**conninfo, autocommit=True) as conn:
            conn.execute("SET synchronous_commit TO off")  # a crash loses the last batches, never consistency
            skipped = False
            if skip_fk_triggers:
                try:
                    conn.execute("SET session_replication_role TO replica")  # superusers only
                    skipped = True
                except psycopg.Error:
                    pass  # keep the row-by-row foreign-key checks: slower, same result
            outbox.put(("ready", skipped))
            while True:
                batch = inbox.get()
                if batch is None:
                    break
                with conn.transaction(), conn.cursor() as cursor:
                    for table, sql, data in batch:
                        started = time.perf_counter()
                        with cursor.copy(sql) as copy:
                            copy.write(data)
                        seconds[table] = seconds.get(table, 0.0) + time.perf_counter() - started
        outbox.put(("done", seconds))
    except BaseException as exc:  # reported to the generator, which stops
        outbox.put(("error", f"{type(exc).__name__}: {exc}"))
