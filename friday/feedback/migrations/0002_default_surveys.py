"""The two surveys every business starts with: NPS (0–10) and CSAT (1–5)."""

from django.db import migrations
from django.utils import timezone

from friday.feedback.defaults import DEFAULT_SURVEYS


def add(apps, schema_editor):
    Survey = apps.get_model("feedback", "Survey")
    for values in DEFAULT_SURVEYS:
        Survey.objects.get_or_create(key=values["key"], defaults={**values, "updated_at": timezone.now()})


def remove(apps, schema_editor):
    Survey = apps.get_model("feedback", "Survey")
    Survey.objects.filter(key__in=[v["key"] for v in DEFAULT_SURVEYS], requests__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("feedback", "0001_initial")]

    operations = [migrations.RunPython(add, remove)]
