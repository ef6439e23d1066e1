"""Indexes that cost a write per row and serve nothing another index does not (decision 0005)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('people', '0003_held_rows'),
    ]

    operations = [
        migrations.AlterField(
            model_name='address',
            name='postcode',
            field=models.CharField(max_length=10),
        ),
        migrations.AlterField(
            model_name='person',
            name='name_key',
            field=models.CharField(max_length=210),
        ),
        migrations.AlterField(
            model_name='personname',
            name='name_key',
            field=models.CharField(max_length=210),
        ),
        migrations.AlterField(
            model_name='personname',
            name='person',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='names', to='people.person'),
        ),
        migrations.AlterField(
            model_name='relationship',
            name='person',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='relationships', to='people.person'),
        ),
        migrations.AddIndex(
            model_name='address',
            index=models.Index(fields=['postcode'], name='address_postcode_idx'),
        ),
        migrations.AddIndex(
            model_name='personname',
            index=models.Index(fields=['name_key'], name='person_name_key_idx'),
        ),
    ]
