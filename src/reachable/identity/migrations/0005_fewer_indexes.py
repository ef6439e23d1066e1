"""Indexes that cost a write per row and serve nothing another index does not (decision 0005)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('identity', '0004_blocking_key_da'),
        ('people', '0004_fewer_indexes'),
    ]

    operations = [
        migrations.AlterField(
            model_name='blockingkey',
            name='key',
            field=models.CharField(max_length=220),
        ),
        migrations.AlterField(
            model_name='linkdecision',
            name='record_key',
            field=models.CharField(blank=True, max_length=200),
        ),
        migrations.AlterField(
            model_name='linkdecision',
            name='source',
            field=models.CharField(max_length=200),
        ),
        migrations.AlterField(
            model_name='matchprofile',
            name='person',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='match_profiles', to='people.person'),
        ),
        migrations.AddIndex(
            model_name='blockingkey',
            index=models.Index(fields=['key'], name='blocking_key_idx'),
        ),
        migrations.AddIndex(
            model_name='linkdecision',
            index=models.Index(fields=['source'], name='link_decision_source_idx'),
        ),
        migrations.AddIndex(
            model_name='linkdecision',
            index=models.Index(fields=['record_key'], name='link_decision_record_idx'),
        ),
    ]
