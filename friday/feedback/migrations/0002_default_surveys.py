"""The two surveys every business starts with: NPS (0–10) and CSAT (1–5)."""

from django.db import migrations
from django.utils import timezone

DEFAULTS = [
    {
        "key": "nps",
        "name": "Would you recommend us?",
        "kind": "nps",
        "question": "How likely are you to recommend us to a friend or colleague?",
        "comment_prompt": "What is the main reason for your score? (optional)",
    },
    {
        "key": "csat",
        "name": "How did we do?",
        "kind": "csat",
        "question": "How satisfied are you with the work we did for you?",
        "comment_prompt": "Anything we could have done better? (optional)",
    },
]


def add(apps, schema_editor):
    Survey = apps.get_model("feedback", "Survey")
    for values in DEFAULTS:
        Survey.objects.get_or_create(
            key=values["key"],
            defaults={**values, "active": True, "valid_days": 14, "updated_at": timezone.now()},
        )


def remove(apps, schema_editor):
    Survey = apps.get_model("feedback", "Survey")
    Survey.objects.filter(key__in=[v["key"] for v in DEFAULTS], requests__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("feedback", "0001_initial")]

    operations = [migrations.RunPython(add, remove)]
