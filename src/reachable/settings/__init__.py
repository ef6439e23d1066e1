"""Settings for development and the embedded demo (SQLite unless DATABASE_URL says otherwise).

Production settings live in ``reachable.settings.production`` and tighten everything here.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url

SRC_DIR = Path(__file__).resolve().parent.parent
PROJECT_DIR = Path(os.environ.get("REACHABLE_HOME", SRC_DIR.parent.parent))
VAR_DIR = PROJECT_DIR / "var"
NODE_MODULES = PROJECT_DIR / "node_modules"

SECRET_KEY = os.environ.get(
    "DJANGO_SECRET_KEY", "insecure-development-key-never-use-in-production-0123456789"
)
DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "axes",
    "reachable.core",
    "reachable.audit",
    "reachable.organisations",
    "reachable.people",
    "reachable.access",
    "reachable.identity",
    "reachable.mpi",
    "reachable.intake",
    "reachable.chronology",
    "reachable.childstate",
    "reachable.rules",
    "reachable.records",
    "reachable.api",
    "reachable.web",
    "reachable.scenarios",
    "reachable.demo",
    "reachable.bench",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "reachable.api.middleware.RequestSizeLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "reachable.urls"
WSGI_APPLICATION = "reachable.wsgi.application"
AUTH_USER_MODEL = "organisations.User"
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "web:login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'reachable.sqlite3'}"),
        conn_max_age=0,
    )
}
# Every request is one transaction, so a read of a child's record and its audit record commit
# together or not at all.
DATABASES["default"]["ATOMIC_REQUESTS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Reachable's statements are short lookups by key. Until a young table is analysed, the
    # planner costs a few index probes as if they read thousands of rows, and at those costs
    # PostgreSQL compiles the statement with LLVM first: 5 to 30 ms spent on a 1 ms read
    # (docs/decisions/0006). A URL's own ``options`` are kept, and can turn it back on.
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    _options["options"] = " ".join(filter(None, ["-c jit=off", _options.get("options", "")]))
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].update(
        {"timeout": 30, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Failed sign-ins are throttled per username and address: five failures lock for 15 minutes.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = 0.25
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "web/locked_out.html"
AXES_VERBOSE = False

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [
    ("govuk", NODE_MODULES / "govuk-frontend" / "dist" / "govuk"),
    ("moj", NODE_MODULES / "@ministryofjustice" / "frontend" / "moj"),
    ("htmx", NODE_MODULES / "htmx.org" / "dist"),
    # GOV.UK Frontend's stylesheets ask for /assets/...; both design systems' assets are
    # served from one prefix and /assets/ redirects there.
    ("assets", NODE_MODULES / "govuk-frontend" / "dist" / "govuk" / "assets"),
    ("assets", NODE_MODULES / "@ministryofjustice" / "frontend" / "moj" / "assets"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 8 * 60 * 60
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = "reachable@localhost"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "reachable.api.authentication.AgencyTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "reachable.api.errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Reachable API",
    "DESCRIPTION": "Agency systems push typed safeguarding events into Reachable.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema is for agency developers holding a token (or signed-in staff), not the public.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "AgencyKindEnum": "reachable.intake.vocabulary.AGENCY_KINDS",
        "LegalStatusEnum": "reachable.intake.vocabulary.LEGAL_STATUSES",
        "DisputeStageEnum": "reachable.intake.vocabulary.DISPUTE_STAGES",
        "CivilOrderEnum": "reachable.intake.vocabulary.CIVIL_ORDERS",
    },
}

# Largest accepted API body. Event envelopes are small; anything bigger is refused with 413.
REACHABLE_MAX_EVENT_BYTES = 64 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
# The home police force of the local authority running Reachable (rule out-of-area-arrest).
REACHABLE_HOME_POLICE_FORCE = os.environ.get("REACHABLE_HOME_POLICE_FORCE", "met")
# Break-glass access lasts this long before it must be asked for again.
REACHABLE_BREAK_GLASS_MINUTES = 60

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
