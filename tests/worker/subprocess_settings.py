"""Settings for worker subprocesses started by tests: the test settings, with emails written
to files in ``REACHABLE_TEST_MAIL_DIR`` (so the test can count what was sent across processes)
and the database from ``DATABASE_URL`` (a scratch database the test prepared)."""

from __future__ import annotations

import os

from reachable.settings.test import *  # noqa: F403

EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
EMAIL_FILE_PATH = os.environ["REACHABLE_TEST_MAIL_DIR"]
