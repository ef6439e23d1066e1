"""Test settings: the same as development, with a cheaper Argon2 so the suite stays quick."""

from __future__ import annotations

from reachable.settings import *  # noqa: F403

PASSWORD_HASHERS = ["reachable.core.hashers.FastArgon2PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
AXES_ENABLED = True
