"""GIN index for word search on PostgreSQL (apps.appeals.search). SQLite searches with LIKE."""

from django.db import migrations

INDEX_SQL = (
    "CREATE INDEX IF NOT EXISTS appeal_search_text_gin ON appeals_appeal "
    "USING gin (to_tsvector('simple'::regconfig, COALESCE(search_text, '')))"
)


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(INDEX_SQL)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS appeal_search_text_gin")


class Migration(migrations.Migration):
    dependencies = [("appeals", "0003_appeal_search_text")]
    operations = [migrations.RunPython(create, drop)]
