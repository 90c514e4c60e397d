"""Paid invoices by issue date with their party: the retention goal reads buyers per period from it."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('billing', '0003_open_owed_index'),
        ('jobs', '0005_staff_indexes'),
        ('parties', '0004_party_time_zone'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name='invoice',
            index=models.Index(fields=['status', 'kind', 'issue_date', 'party'], name='invoice_paid_issue_idx'),
        ),
    ]
