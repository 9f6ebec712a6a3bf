"""Seal the phones already stored (and their history rows) with the newest data key and
fill the blind index.

Batched by primary key, one transaction per batch, so a database with a million appeals
is never locked for long; not atomic as a whole: if it stops, running `migrate` again
resumes, since rows already sealed with the newest key are skipped. The history table is
append-only on PostgreSQL; each batch that rewrites it declares sanctioned maintenance
(SET LOCAL xlx.maintenance = 'on', apps.supervision.immutability): turning plaintext into
ciphertext is the one rewrite of history this migration makes, and it keeps every value.
"""

from django.db import migrations

from apps.core.encrypted import reseal_table

COLUMNS = [("citizen_phone", "appeal.citizen_phone", "citizen_phone_index", "phone")]


def seal(apps, schema_editor):
    connection = schema_editor.connection
    for table, pk in (("appeals_appeal", "id"), ("appeals_historicalappeal", "history_id")):
        reseal_table(connection, table=table, pk=pk, columns=COLUMNS, batch=5000)


def unseal(apps, schema_editor):
    """Back to plaintext (for a rollback of the release): the same batches, reversed."""
    from django.db import transaction

    from apps.core.encrypted import decrypt, is_ciphertext

    connection = schema_editor.connection
    qn = connection.ops.quote_name
    for table, pk in (("appeals_appeal", "id"), ("appeals_historicalappeal", "history_id")):
        last = 0
        while True:
            with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT {qn(pk)}, citizen_phone FROM {qn(table)} WHERE {qn(pk)} > %s ORDER BY {qn(pk)} LIMIT 5000",
                    [last],
                )
                rows = cursor.fetchall()
                if not rows:
                    break
                last = rows[-1][0]
                if connection.vendor == "postgresql":
                    cursor.execute("SET LOCAL xlx.maintenance = 'on'")
                cursor.executemany(
                    f"UPDATE {qn(table)} SET citizen_phone = %s WHERE {qn(pk)} = %s",
                    [[decrypt(v, "appeal.citizen_phone"), i] for i, v in rows if is_ciphertext(v)],
                )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("appeals", "0009_personal_data_encrypted")]

    operations = [migrations.RunPython(seal, unseal, elidable=False)]
