"""Settings of the sandbox: a small Wagtail site ("Green Spoon") with wagtail-flows turned on.

A demo, not a production template: DEBUG is on and the secret key is public.

Environment:
- SANDBOX_DATA_DIR   where the database, uploaded media and sent emails live (default: sandbox/)
- SANDBOX_DB         the SQLite file (default: $SANDBOX_DATA_DIR/db.sqlite3)
- SANDBOX_DEV_MIGRATIONS  a directory for throw-away wagtail_flows migrations (tests only,
                     while the package's models change faster than its migrations)
- SANDBOX_Q_SYNC=1   run django-q2 tasks in-process, without a cluster (tests only)
"""

import os

SANDBOX_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA_DIR = os.environ.get("SANDBOX_DATA_DIR", SANDBOX_DIR)

SECRET_KEY = "sandbox-demo-only-not-secret"
DEBUG = True
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
USE_TZ = True
TIME_ZONE = "Europe/Amsterdam"
LANGUAGE_CODE = "en"

INSTALLED_APPS = [
    "demo",
    "wagtail_flows",
    "wagtail_modeladmin",
    "wagtail.contrib.forms",
    "wagtail.contrib.redirects",
    "wagtail.contrib.settings",
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

ROOT_URLCONF = "sandbox.urls"
WSGI_APPLICATION = "sandbox.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "demo.context.site_chrome",
            ]
        },
    }
]

# SQLite on one machine, shared by the web server and the django-q2 cluster: WAL lets
# readers run beside the one writer, the busy timeout waits for the lock instead of raising
# "database is locked", and IMMEDIATE transactions take the write lock up front.
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("SANDBOX_DB", os.path.join(DATA_DIR, "db.sqlite3")),
        "OPTIONS": {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
        },
        # django-q2's ORM broker closes old connections on every broker call; with the default
        # CONN_MAX_AGE=0 every enqueue opens a new connection (on PostgreSQL about 4x slower).
        # Keep connections for a minute, and check them before reuse.
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
    }
}
# On PostgreSQL (several clusters, larger sites) the same two keys apply:
# DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "sandbox",
#     "USER": "postgres", "HOST": "127.0.0.1", "CONN_MAX_AGE": 60, "CONN_HEALTH_CHECKS": True}}

if os.environ.get("SANDBOX_DEV_MIGRATIONS"):
    import sys

    _dev = os.environ["SANDBOX_DEV_MIGRATIONS"]
    os.makedirs(os.path.join(_dev, "sandbox_devmig", "wagtail_flows"), exist_ok=True)
    for _pkg in ("", "wagtail_flows"):
        open(os.path.join(_dev, "sandbox_devmig", _pkg, "__init__.py"), "a").close()
    sys.path.insert(0, _dev)
    MIGRATION_MODULES = {"wagtail_flows": "sandbox_devmig.wagtail_flows"}
    WAGTAIL_PAGE_MODEL = "wagtailcore.Page"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The flows engine runs in a django-q2 cluster (`python manage.py qcluster`, started for you
# by `run_sandbox`). The ORM broker keeps tasks in this database, so none is lost when the
# cluster stops. A task must finish within `timeout`, which stays below `retry`, or it is
# handed out a second time; `catch_up: False` stops a restarted cluster replaying every
# sweep it missed while it was down.
Q_CLUSTER = {
    "name": "sandbox",
    "orm": "default",
    "workers": 2,
    "timeout": 60,
    "retry": 120,
    "max_attempts": 3,
    "catch_up": False,
    "poll": 1,
    "save_limit": 250,
    "sync": os.environ.get("SANDBOX_Q_SYNC") == "1",
}

# Every email the site sends is written to sandbox/sent-emails/ (one .log file per batch)
# and echoed on the console, so a demo user can read what the flows sent.
EMAIL_BACKEND = "demo.mail.FileAndConsoleBackend"
EMAIL_FILE_PATH = os.path.join(DATA_DIR, "sent-emails")
DEFAULT_FROM_EMAIL = "Green Spoon <hello@greenspoon.example>"

STATIC_URL = "/static/"
STATIC_ROOT = os.path.join(DATA_DIR, "static")
MEDIA_URL = "/media/"
MEDIA_ROOT = os.path.join(DATA_DIR, "media")

WAGTAIL_SITE_NAME = "Green Spoon"
WAGTAILADMIN_BASE_URL = "http://127.0.0.1:8000"
WAGTAIL_ENABLE_UPDATE_CHECK = False
WAGTAIL_GRAVATAR_PROVIDER_URL = None
# Documents are served through Wagtail's view, so downloads are seen (and tracked).
WAGTAILDOCS_SERVE_METHOD = "serve_view"
WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "wagtail.search.backends.database"}}

WAGTAIL_FLOWS = {
    "BASE_URL": "http://127.0.0.1:8000",
    "TRACKING_CONSENT": "always",
}

SANDBOX_CURRENCY = "EUR"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "wagtail_flows": {"handlers": ["console"], "level": "INFO"},
        "django_q": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
