"""Every rule saved before the history existed gets its first version, as it stands: without one, a rule never
switched on and never fired looked like a draft-only rule, and discarding a draft of it deleted the rule."""

from django.db import migrations

SNAPSHOT_PARTS = ("name", "description", "trigger", "conditions", "actions", "owner_id", "enabled")


def backfill(apps, schema_editor):
    Rule = apps.get_model("automation", "Rule")
    RuleVersion = apps.get_model("automation", "RuleVersion")
    # A rule with a pending draft and no history was created as a draft (after 0003): it stays draft-only.
    rows = [
        RuleVersion(
            rule_id=rule.pk,
            number=1,
            how="saved",
            snapshot={part: getattr(rule, part) for part in SNAPSHOT_PARTS},
            changed=["created"],
            note="History starts here (the rule existed before it was kept)",
            at=rule.updated_at,
            by_id=rule.updated_by_id,
        )
        for rule in Rule.objects.filter(versions__isnull=True, draft={}).iterator()
    ]
    RuleVersion.objects.bulk_create(rows, batch_size=500)


class Migration(migrations.Migration):
    dependencies = [("automation", "0003_rule_draft")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
