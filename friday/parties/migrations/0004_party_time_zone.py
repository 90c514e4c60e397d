"""A party's own time zone. On SQLite, adding a column with a default makes Django rebuild the table, which drops
the triggers that keep the party_fts search index in step: they are created again here, and the index rebuilt.
(Any later migration that adds a field to Party must do the same: `search_index.SQLITE_TRIGGERS`.)"""

import importlib

from django.db import migrations, models

search_index = importlib.import_module("friday.parties.migrations.0002_search_index")
SQLITE_TRIGGERS = [sql for sql in search_index.SQLITE_UP if sql.startswith("CREATE TRIGGER")]


def restore_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    for name in ("party_fts_ai", "party_fts_ad", "party_fts_au"):
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")
    for sql in SQLITE_TRIGGERS:
        schema_editor.execute(sql)
    schema_editor.execute("INSERT INTO party_fts(party_fts) VALUES ('rebuild')")


class Migration(migrations.Migration):
    dependencies = [
        ("parties", "0003_recent_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="party",
            name="time_zone",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.RunPython(restore_triggers, migrations.RunPython.noop),
    ]
