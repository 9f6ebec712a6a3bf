"""Re-seal every encrypted value with the newest key of XLX_DATA_KEYS.

Rotation: put the new key first in XLX_DATA_KEYS (keep the old ones after it), deploy,
run this command, then drop the old keys. Batched by primary key, one transaction per
batch; idempotent and resumable (values already sealed with the newest key are skipped,
so a stopped run just continues). With --reindex the blind indexes are recomputed too
(after XLX_BLIND_INDEX_KEY changed; until then exact lookups miss the rows not yet done).

History tables are append-only on PostgreSQL: each batch declares sanctioned maintenance
(SET LOCAL xlx.maintenance = 'on') to re-seal their values, which keeps every plaintext
unchanged.
"""

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from apps.audit.services import record
from apps.core.encrypted import encrypted_columns, newest_key_id, reseal_model
from apps.organization.services import system_actor


class Command(BaseCommand):
    help = "Re-encrypt personal data (citizens' phones, ID numbers; history included) with the newest data key."

    def add_arguments(self, parser):
        parser.add_argument("--batch", type=int, default=5000, help="rows per transaction (5,000)")
        parser.add_argument("--reindex", action="store_true", help="recompute blind indexes too")

    def handle(self, *args, batch=5000, reindex=False, **options):
        if batch < 1:
            raise CommandError("--batch must be at least 1.")
        # Proxies share their concrete model's table: each table once.
        models = [m for m in apps.get_models() if not m._meta.proxy and m._meta.managed and encrypted_columns(m)]
        kid = newest_key_id()
        self.stdout.write(f"newest key {kid}; {len(models)} tables")
        total = 0

        def progress(table, last_pk, changed):
            self.stdout.write(f"  {table}: up to id {last_pk}, {changed} rows re-sealed")

        for model in models:
            changed = reseal_model(model, connection=connection, batch=batch, reindex=reindex, progress=progress)
            self.stdout.write(f"{model._meta.db_table}: {changed} rows re-sealed")
            total += changed
        with transaction.atomic():
            record(
                actor=system_actor(),
                action="core.data_key_rotated",
                changes={"key": kid, "rows": total, "reindex": reindex},
            )
        self.stdout.write(self.style.SUCCESS(f"done: {total} rows re-sealed with key {kid}"))
