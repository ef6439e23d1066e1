"""Indexes that cost a write per row and serve nothing another index does not (decision 0005)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('childstate', '0002_alter_childflag_options'),
        ('people', '0004_fewer_indexes'),
    ]

    operations = [
        migrations.AlterField(
            model_name='childflag',
            name='person',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='flags', to='people.person'),
        ),
    ]
