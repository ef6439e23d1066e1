"""Recompute every profile's blocking keys again: ``da`` (date of birth + address line) was
added, so that a record whose postcode was mistyped still meets the profile at the same
address born the same day. The rebuild is 0003's, which uses the live ``keys_for``."""

from __future__ import annotations

from importlib import import_module

from django.db import migrations

rebuild = import_module("reachable.identity.migrations.0003_rebuild_blocking_keys").rebuild


class Migration(migrations.Migration):
    dependencies = [("identity", "0003_rebuild_blocking_keys")]

    operations = [migrations.RunPython(rebuild, migrations.RunPython.noop, elidable=True)]
