"""The retention goal's index led by the issue date, so that SQLite does not take it for the revenue by day paid."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('billing', '0004_paid_issue_index'),
        ('jobs', '0005_staff_indexes'),
        ('parties', '0004_party_time_zone'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='invoice',
            name='invoice_paid_issue_idx',
        ),
        migrations.AddIndex(
            model_name='invoice',
            index=models.Index(fields=['issue_date', 'status', 'kind', 'party'], name='invoice_issued_buyer_idx'),
        ),
    ]
