"""Test settings. SQLite by default; PostgreSQL when FLOWS_TEST_DB=postgres.

Environment:
- FLOWS_TEST_DB=postgres      run on PostgreSQL (FLOWS_PG_HOST/PORT/USER;
                              default 127.0.0.1:5432, user postgres)
- FLOWS_TEST_BROKER=redis     real-cluster tests use the Redis broker (default: the ORM broker)
- FLOWS_TEST_SYNCDB=1         create our tables without migrations (while models change)
"""

import os
import tempfile

BASE_DIR = os.path.dirname(os.path.abspath(__file__))
SECRET_KEY = "tests-only-not-secret"  # noqa: S105
DEBUG = False
ALLOWED_HOSTS = ["*"]
USE_TZ = True
TIME_ZONE = "Europe/Amsterdam"
LANGUAGE_CODE = "en"

INSTALLED_APPS = [
    "tests.testapp",
    "wagtail_flows",
    "wagtail_modeladmin",
    "wagtail.contrib.forms",
    "wagtail.contrib.redirects",
    "wagtail.contrib.settings",
    "wagtail.contrib.sitemaps",  # /sitemap.xml (tests/test_email_pages_public.py)
    "wagtail.api.v2",  # the public pages API, /api/v2/ (tests/test_email_pages_public.py)
    "rest_framework",
    "wagtail.embeds",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
    "django_q",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sitemaps",
]

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "wagtail.contrib.redirects.middleware.RedirectMiddleware",
]

ROOT_URLCONF = "tests.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [os.path.join(BASE_DIR, "templates")],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

_RUN_ID = os.environ.get("FLOWS_RUN_ID", str(os.getpid()))

if os.environ.get("FLOWS_TEST_DB") == "postgres":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": os.environ.get("FLOWS_DB_NAME", "wagtail_flows"),
            "USER": os.environ.get("FLOWS_PG_USER", "postgres"),
            "HOST": os.environ.get("FLOWS_PG_HOST", "127.0.0.1"),
            "PORT": os.environ.get("FLOWS_PG_PORT", "5432"),
            "CONN_MAX_AGE": 60,
            "CONN_HEALTH_CHECKS": True,
            "TEST": {"NAME": f"test_wagtail_flows_{_RUN_ID}"},
        }
    }
else:
    # A file, not :memory:, so that a real qcluster process can share the test database.
    _sqlite = os.path.join(tempfile.gettempdir(), f"test_wagtail_flows_{_RUN_ID}.sqlite3")
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("FLOWS_DB_NAME", _sqlite),
            "OPTIONS": {
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "timeout": 30,
                "transaction_mode": "IMMEDIATE",
            },
            "TEST": {"NAME": _sqlite},
        }
    }

if os.environ.get("FLOWS_TEST_SYNCDB"):
    # While models change: migrations are generated afresh into a throw-away package at the
    # start of each run (tests/conftest.py), never into the source tree.
    import sys

    _dev = os.path.join(tempfile.gettempdir(), f"flows_devmig_{_RUN_ID}")
    os.makedirs(os.path.join(_dev, "flows_devmig", "wagtail_flows"), exist_ok=True)
    os.makedirs(os.path.join(_dev, "flows_devmig", "testapp"), exist_ok=True)
    for _pkg in ("", "wagtail_flows", "testapp"):
        open(os.path.join(_dev, "flows_devmig", _pkg, "__init__.py"), "a").close()
    sys.path.insert(0, _dev)
    MIGRATION_MODULES = {
        "wagtail_flows": "flows_devmig.wagtail_flows",
        "testapp": "flows_devmig.testapp",
    }
    WAGTAIL_PAGE_MODEL = "wagtailcore.Page"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

_broker = os.environ.get("FLOWS_TEST_BROKER", "orm")
Q_CLUSTER = {
    "name": f"flows-tests-{_RUN_ID}",
    "workers": 2,
    "timeout": 30,
    "retry": 60,
    "max_attempts": 3,
    "catch_up": False,
    "poll": 0.1,
    "sync": os.environ.get("FLOWS_Q_SYNC", "1") == "1",
    "save_limit": 0,
}
if _broker == "redis":
    Q_CLUSTER["redis"] = {"host": "127.0.0.1", "port": 6379, "db": 5}
else:
    Q_CLUSTER["orm"] = "default"

EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
DEFAULT_FROM_EMAIL = "Flows Tests <flows@example.com>"
# django-anymail's tracking webhooks (tests/urls.py) take this HTTP basic auth, as an ESP sends it.
ANYMAIL = {"WEBHOOK_SECRET": "flows-esp:tests-only-webhook-secret"}

STATIC_URL = "/static/"
STATIC_ROOT = os.path.join(tempfile.gettempdir(), "wagtail_flows_static")
MEDIA_URL = "/media/"
MEDIA_ROOT = os.path.join(tempfile.gettempdir(), f"wagtail_flows_media_{_RUN_ID}")
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

WAGTAIL_SITE_NAME = "Flows tests"
WAGTAILADMIN_BASE_URL = "http://testserver"
WAGTAIL_ENABLE_UPDATE_CHECK = False
WAGTAIL_GRAVATAR_PROVIDER_URL = None
WAGTAILDOCS_SERVE_METHOD = "serve_view"

WAGTAIL_FLOWS = {
    "BASE_URL": "http://testserver",
    "POSTAL_ADDRESS": "Example Ltd, 1 Test Street, Testville",
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"wagtail_flows": {"handlers": ["console"], "level": "WARNING"}},
}

# --- engine-ops: real-cluster tests (tests/cluster/) tune the qcluster processes by env ------
if os.environ.get("FLOWS_TEST_EMAIL_DIR"):
    # Every email a cluster sends lands in a file, so a test can count real sends.
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = os.environ["FLOWS_TEST_EMAIL_DIR"]
if os.environ.get("FLOWS_TEST_BATCH_SIZE"):
    WAGTAIL_FLOWS["SWEEP_BATCH_SIZE"] = int(os.environ["FLOWS_TEST_BATCH_SIZE"])
if os.environ.get("FLOWS_TEST_Q_WORKERS"):
    Q_CLUSTER["workers"] = int(os.environ["FLOWS_TEST_Q_WORKERS"])
# --- end engine-ops ------------------------------------------------------------------------
