"""The inspectors' history indexes (as in 0002) on the return-visit history tables.

(Their append-only triggers come from the post-migrate hook, like every history table
created after 0002.)
"""

from django.db import migrations

TABLES = [("followups_historicalvisit", "visit"), ("followups_historicalvisitattempt", "vattempt")]

FORWARD, BACKWARD = [], []
for table, short in TABLES:
    # "What did this person do in this period": history_user_id = ? AND history_date in [a, b).
    FORWARD.append(f'CREATE INDEX IF NOT EXISTS "sv_{short}_user_date_idx" ON "{table}" ("history_user_id", "history_date")')
    BACKWARD.append(f'DROP INDEX IF EXISTS "sv_{short}_user_date_idx"')
    # Field-level diffs: the version before a row = same object id, next lower history id.
    FORWARD.append(f'CREATE INDEX IF NOT EXISTS "sv_{short}_obj_idx" ON "{table}" ("id", "history_id")')
    BACKWARD.append(f'DROP INDEX IF EXISTS "sv_{short}_obj_idx"')


class Migration(migrations.Migration):
    dependencies = [
        ("supervision", "0002_history_indexes_and_append_only"),
        ("followups", "0001_initial"),
    ]
    operations = [migrations.RunSQL(sql=FORWARD, reverse_sql=BACKWARD)]
