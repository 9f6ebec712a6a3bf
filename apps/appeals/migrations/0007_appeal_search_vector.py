"""Word search on PostgreSQL reads a stored tsvector instead of computing one per row.

Migration 0004 indexed the expression to_tsvector('simple', search_text). The index finds
rare words at once, but for words in a few percent of all appeals the planner (rightly)
walks the received-date index backwards and checks each row, and computing the tsvector
of each row checked cost ≈45 µs: two common words took ≈250 ms at a million appeals.
A stored generated column is computed once, when the row is written; the GIN index moves
to it. The column is not a model field (SQLite has no tsvector, and the ORM need never
read it): apps.appeals.selectors.appeal_search refers to it by name. Adding it rewrites
the table (≈1 min per million appeals).
"""

from django.db import migrations

FORWARD = [
    "ALTER TABLE appeals_appeal ADD COLUMN IF NOT EXISTS search_vector tsvector "
    "GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, COALESCE(search_text, ''))) STORED",
    # Serves appeal_search: words of the content or address (the @@ filter).
    "CREATE INDEX IF NOT EXISTS appeal_search_vector_gin ON appeals_appeal USING gin (search_vector)",
    "DROP INDEX IF EXISTS appeal_search_text_gin",
    # Statistics for the new column now (sampled: seconds), so the planner's estimates of
    # word frequencies hold from the first search rather than from the next autovacuum.
    "ANALYZE appeals_appeal",
]
BACKWARD = [
    "CREATE INDEX IF NOT EXISTS appeal_search_text_gin ON appeals_appeal "
    "USING gin (to_tsvector('simple'::regconfig, COALESCE(search_text, '')))",
    "DROP INDEX IF EXISTS appeal_search_vector_gin",
    "ALTER TABLE appeals_appeal DROP COLUMN IF EXISTS search_vector",
]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in FORWARD:
            schema_editor.execute(statement)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in BACKWARD:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("appeals", "0006_appeal_escalated_at_appeal_exclusion_reason_and_more")]
    operations = [migrations.RunPython(forward, backward)]
