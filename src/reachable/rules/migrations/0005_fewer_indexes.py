"""Indexes that cost a write per row and serve nothing another index does not (decision 0005)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('chronology', '0005_fewer_indexes'),
        ('organisations', '0001_initial'),
        ('people', '0004_fewer_indexes'),
        ('rules', '0004_alter_alert_options_alter_clock_options'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name='alert',
            name='assignee',
            field=models.ForeignKey(blank=True, db_index=False, help_text='the person whose personal queue holds it', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='assigned_alerts', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AlterField(
            model_name='alert',
            name='rule_id',
            field=models.CharField(max_length=60),
        ),
        migrations.AlterField(
            model_name='alert',
            name='status',
            field=models.CharField(choices=[('open', 'Open'), ('acknowledged', 'Acknowledged')], default='open', max_length=20),
        ),
        migrations.AlterField(
            model_name='alert',
            name='team',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='alerts', to='organisations.team'),
        ),
        migrations.AddIndex(
            model_name='alert',
            index=models.Index(fields=['status'], name='alert_status_idx'),
        ),
    ]
