"""System checks that name a missing or wrong setting before anything runs."""

from urllib.parse import urlsplit

from django.apps import apps
from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.db import DatabaseError
from django.utils.translation import gettext as _

from wagtail_flows.conf import DEFAULTS

CONSENT_MODES = ("always", "consent-cookie", "off")


@register(Tags.compatibility)
def check_settings(app_configs, **kwargs):
    errors = []
    errors += _check_required_apps()
    errors += _check_flows_dict()
    errors += _check_q_cluster()
    errors += _check_email()
    errors += _check_sqlite()
    errors += _from_the_database(_check_link_host)
    errors += _from_the_database(_check_consent_forms)
    return errors


def _from_the_database(check):
    """A check that reads the database says nothing where it cannot (before ``migrate``
    created the tables, or where database access is blocked, as in a test without one)."""
    try:
        return check()
    except (DatabaseError, RuntimeError):
        return []


def _check_required_apps():
    errors = []
    required = ("django_q", "taggit", "wagtail.contrib.forms", "wagtail_modeladmin")
    # wagtail.contrib.settings: Settings → Email consent (double opt-in), models/consent.py
    for module in (*required, "wagtail.contrib.settings"):
        if not apps.is_installed(module):
            errors.append(
                Error(
                    _("wagtail_flows needs %(app)s in INSTALLED_APPS.") % {"app": repr(module)},
                    hint=_("Add %(app)s to INSTALLED_APPS.") % {"app": repr(module)},
                    id=f"wagtail_flows.E00{len(errors) + 1}",
                )
            )
    return errors


def _check_flows_dict():
    conf = getattr(settings, "WAGTAIL_FLOWS", {})
    if not isinstance(conf, dict):
        return [Error(_("WAGTAIL_FLOWS must be a dict."), id="wagtail_flows.E010")]
    errors = [
        Error(
            _("WAGTAIL_FLOWS[%(key)s] is not a known setting.") % {"key": repr(key)},
            hint=_("Known settings are listed in docs/settings.md."),
            id="wagtail_flows.E011",
        )
        for key in conf
        if key not in DEFAULTS
    ]
    consent = conf.get("TRACKING_CONSENT", DEFAULTS["TRACKING_CONSENT"])
    if consent not in CONSENT_MODES:
        errors.append(
            Error(
                _("WAGTAIL_FLOWS['TRACKING_CONSENT'] is %(value)s.") % {"value": repr(consent)},
                hint=_("Use one of %(modes)s.") % {"modes": ", ".join(CONSENT_MODES)},
                id="wagtail_flows.E012",
            )
        )
    for key in ("SWEEP_BATCH_SIZE", "SEND_BATCH_SIZE", "STEP_MAX_RETRIES"):
        value = conf.get(key, DEFAULTS[key])
        if not isinstance(value, int) or value < 1:
            errors.append(
                Error(
                    _("WAGTAIL_FLOWS[%(key)s] must be a positive whole number, not %(value)s.")
                    % {"key": repr(key), "value": repr(value)},
                    id="wagtail_flows.E013",
                )
            )
    return errors


def _check_q_cluster():
    q = getattr(settings, "Q_CLUSTER", None)
    if q is None:
        return [
            Error(
                _("Q_CLUSTER is not set: flows advance in a django-q2 cluster."),
                hint=_(
                    "Add Q_CLUSTER = {'name': 'flows', 'orm': 'default', "
                    "'timeout': 60, 'retry': 120, 'catch_up': False} (docs/operations.md, "
                    "“Run a cluster”)."
                ),
                id="wagtail_flows.E020",
            )
        ]
    errors = []
    timeout, retry = q.get("timeout"), q.get("retry", 60)
    if timeout is not None and retry is not None and timeout >= retry:
        errors.append(
            Error(
                _(
                    "Q_CLUSTER['timeout'] (%(timeout)s) must be less than Q_CLUSTER['retry'] "
                    "(%(retry)s), or django-q2 hands running tasks out again."
                )
                % {"timeout": timeout, "retry": retry},
                id="wagtail_flows.E021",
            )
        )
    if not q.get("sync") and not ("orm" in q or "redis" in q or "broker_class" in q):
        errors.append(
            Warning(
                _("Q_CLUSTER names no broker ('orm' or 'redis')."),
                hint=_("Use 'orm': 'default' on one machine, 'redis' for several clusters."),
                id="wagtail_flows.W022",
            )
        )
    return errors


SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"


def _check_email():
    backend = getattr(settings, "EMAIL_BACKEND", None)
    if backend is None or not settings.is_overridden("EMAIL_BACKEND"):
        return [
            Warning(
                _(
                    "EMAIL_BACKEND is not set: flows would send through Django's default SMTP "
                    "backend to %(server)s."
                )
                % {"server": _smtp_server()},
                hint=_(
                    "Set EMAIL_BACKEND (the SMTP backend with EMAIL_HOST, or a "
                    "django-anymail ESP) and DEFAULT_FROM_EMAIL."
                ),
                id="wagtail_flows.W030",
            )
        ]
    if backend == SMTP_BACKEND and not settings.is_overridden("EMAIL_HOST"):
        return [
            Warning(
                _(
                    "EMAIL_BACKEND is the SMTP backend but EMAIL_HOST is not set: flows would "
                    "send to %(server)s."
                )
                % {"server": _smtp_server()},
                hint=_(
                    "Set EMAIL_HOST (and EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD, "
                    "EMAIL_USE_TLS as your mail server needs)."
                ),
                id="wagtail_flows.W030",
            )
        ]
    return []


def _smtp_server():
    return f"{getattr(settings, 'EMAIL_HOST', 'localhost')}:{getattr(settings, 'EMAIL_PORT', 25)}"


# --- SQLite: the site and the cluster write to one file ------------------------------------

SQLITE_OPTIONS = (
    '"OPTIONS": {"init_command": "PRAGMA journal_mode=WAL;", '
    '"transaction_mode": "IMMEDIATE", "timeout": 20}'
)


def _check_sqlite():
    warnings = []
    for alias, database in settings.DATABASES.items():
        if database.get("ENGINE") != "django.db.backends.sqlite3" or _in_memory(database):
            continue
        missing = _sqlite_missing(database.get("OPTIONS") or {})
        if missing:
            warnings.append(
                Warning(
                    _(
                        "DATABASES[%(alias)s] is SQLite without %(missing)s: the site "
                        "and the django-q2 cluster write to one file, and their writes fail "
                        "with “database is locked”."
                    )
                    % {"alias": repr(alias), "missing": ", ".join(missing)},
                    hint=_(
                        "Set DATABASES[%(alias)s][%(options)s (Django 5.1+; docs/operations.md)."
                    )
                    % {"alias": repr(alias), "options": SQLITE_OPTIONS},
                    id="wagtail_flows.W040",
                )
            )
    return warnings


def _in_memory(database):
    name = str(database.get("NAME") or "")
    return name in ("", ":memory:") or "mode=memory" in name


def _sqlite_missing(options):
    init = " ".join(str(options.get("init_command") or "").lower().split())
    missing = []
    if "journal_mode=wal" not in init.replace(" = ", "="):
        missing.append(_("WAL (init_command “PRAGMA journal_mode=WAL;”)"))
    if str(options.get("transaction_mode") or "").upper() != "IMMEDIATE":
        missing.append(_("IMMEDIATE transactions (transaction_mode)"))
    if options.get("timeout", 0) < 20 and "busy_timeout" not in init:
        missing.append(_("a busy timeout of 20 s or more (timeout)"))
    return missing


# --- tracked links: the Site record gives their host ---------------------------------------


def _check_link_host():
    admin_url = getattr(settings, "WAGTAILADMIN_BASE_URL", "")
    if not admin_url:
        return []
    from wagtail.models import Site

    from wagtail_flows.models import EmailPage

    warnings = []
    for site in Site.objects.select_related("root_page"):
        holds_emails = EmailPage.objects.descendant_of(site.root_page, inclusive=True).exists()
        if holds_emails and _origin(site.root_url) != _origin(admin_url):
            warnings.append(
                Warning(
                    _(
                        "Links in emails (tracked links, unsubscribe, view in browser) will use "
                        "%(root_url)s — the Site “%(site)s” that holds the email pages — while "
                        "WAGTAILADMIN_BASE_URL is %(admin_url)s."
                    )
                    % {"root_url": site.root_url, "site": site, "admin_url": admin_url},
                    hint=_(
                        "If people reach the site at WAGTAILADMIN_BASE_URL, set this Site's "
                        "hostname and port to match (Settings → Sites); else correct "
                        "WAGTAILADMIN_BASE_URL."
                    ),
                    obj=site,
                    id="wagtail_flows.W041",
                )
            )
    return warnings


def _origin(url):
    """(host, port), a scheme's default port as None: a Site on port 80 behind HTTPS and
    https://host are the same place."""
    parts = urlsplit(url)
    port = parts.port if parts.port not in (80, 443) else None
    return (parts.hostname or "").lower(), port


# --- forms feeding marketing flows without consent -----------------------------------------


def _check_consent_forms():
    from wagtail_flows.capture.consent import (
        consent_fix,
        form_pages_without_consent,
        no_consent_sentence,
    )
    from wagtail_flows.models import Flow
    from wagtail_flows.vocabulary import FlowStatus

    warnings = []
    flows = Flow.objects.exclude(status=FlowStatus.ARCHIVED).order_by("name")
    for flow in flows:
        status = flow.get_status_display().lower()
        for page in form_pages_without_consent(flow):
            warnings.append(
                Warning(
                    _(
                        "%(sentence)s It starts the %(status)s marketing flow “%(flow)s” "
                        "(flow %(id)s)."
                    )
                    % {
                        "sentence": no_consent_sentence(page),
                        "status": status,
                        "flow": flow.name,
                        "id": flow.pk,
                    },
                    hint=consent_fix(),
                    obj=page,
                    id="wagtail_flows.W050",
                )
            )
    return warnings
