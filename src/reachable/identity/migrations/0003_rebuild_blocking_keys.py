"""Recompute every profile's blocking keys: the set of keys changed (``ap``, ``s3`` and
``fsy`` added; ``sp`` folded into ``s3``), and a key a new record makes must find the stored
profiles that share it. Uses the live ``keys_for`` on purpose: the keys must be exactly what
the running code computes."""

from __future__ import annotations

from typing import Any

from django.db import migrations

from reachable.identity.blocking import keys_for
from reachable.identity.features import FEATURE_COLUMNS

CHUNK = 5000


def rebuild(apps: Any, schema_editor: Any) -> None:
    profile_model = apps.get_model("identity", "MatchProfile")
    key_model = apps.get_model("identity", "BlockingKey")
    last = 0
    while True:
        rows = list(profile_model.objects.filter(pk__gt=last).order_by("pk")
                    .values("id", *FEATURE_COLUMNS)[:CHUNK])
        if not rows:
            return
        ids = [r["id"] for r in rows]
        key_model.objects.filter(profile_id__in=ids).delete()
        key_model.objects.bulk_create(
            [key_model(profile_id=r["id"], key=k) for r in rows for k in keys_for(r)],
            batch_size=5000)
        last = ids[-1]


class Migration(migrations.Migration):
    dependencies = [("identity", "0002_link_decision_record_key")]

    operations = [migrations.RunPython(rebuild, migrations.RunPython.noop, elidable=True)]
