"""Indexes that cost a write per row and serve nothing another index does not (decision 0005)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('chronology', '0004_held_rows'),
        ('organisations', '0001_initial'),
        ('people', '0004_fewer_indexes'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name='event',
            name='person',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='chronology', to='people.person'),
        ),
        migrations.AlterField(
            model_name='event',
            name='source_agency',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='events', to='organisations.agency'),
        ),
        migrations.AlterField(
            model_name='event',
            name='type',
            field=models.CharField(max_length=60),
        ),
        migrations.AddIndex(
            model_name='event',
            index=models.Index(fields=['type'], name='event_type_idx'),
        ),
    ]
