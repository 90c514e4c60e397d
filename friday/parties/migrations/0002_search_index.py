"""Substring search over Party.search_text: FTS5 trigram on SQLite, pg_trgm GIN on PostgreSQL."""

from django.db import migrations

SQLITE_UP = [
    "CREATE VIRTUAL TABLE party_fts USING fts5(search_text, content='parties_party', content_rowid='id', "
    "tokenize='trigram')",
    # Triggers keep the external-content index in step with the column the services write.
    "CREATE TRIGGER party_fts_ai AFTER INSERT ON parties_party BEGIN "
    "INSERT INTO party_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
    "CREATE TRIGGER party_fts_ad AFTER DELETE ON parties_party BEGIN "
    "INSERT INTO party_fts(party_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text); END",
    "CREATE TRIGGER party_fts_au AFTER UPDATE OF search_text ON parties_party BEGIN "
    "INSERT INTO party_fts(party_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text); "
    "INSERT INTO party_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
    "INSERT INTO party_fts(party_fts) VALUES ('rebuild')",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS party_fts_au",
    "DROP TRIGGER IF EXISTS party_fts_ad",
    "DROP TRIGGER IF EXISTS party_fts_ai",
    "DROP TABLE IF EXISTS party_fts",
]
PG_UP = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS party_search_trgm ON parties_party USING gin (search_text gin_trgm_ops)",
]
PG_DOWN = ["DROP INDEX IF EXISTS party_search_trgm"]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for sql in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("parties", "0001_initial")]

    operations = [
        migrations.RunPython(_run({"sqlite": SQLITE_UP, "postgresql": PG_UP}),
                             _run({"sqlite": SQLITE_DOWN, "postgresql": PG_DOWN})),
    ]
