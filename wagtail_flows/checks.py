"""System checks that name a missing or wrong setting before anything runs."""

from django.apps import apps
from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from wagtail_flows.conf import DEFAULTS

CONSENT_MODES = ("always", "consent-cookie", "off")


@register(Tags.compatibility)
def check_settings(app_configs, **kwargs):
    errors = []
    errors += _check_required_apps()
    errors += _check_flows_dict()
    errors += _check_q_cluster()
    errors += _check_email()
    return errors


def _check_required_apps():
    errors = []
    required = ("django_q", "taggit", "wagtail.contrib.forms", "wagtail_modeladmin")
    # wagtail.contrib.settings: Settings → Email consent (double opt-in), models/consent.py
    for module in (*required, "wagtail.contrib.settings"):
        if not apps.is_installed(module):
            errors.append(
                Error(
                    f"wagtail_flows needs {module!r} in INSTALLED_APPS.",
                    hint=f"Add {module!r} to INSTALLED_APPS.",
                    id=f"wagtail_flows.E00{len(errors) + 1}",
                )
            )
    return errors


def _check_flows_dict():
    conf = getattr(settings, "WAGTAIL_FLOWS", {})
    if not isinstance(conf, dict):
        return [Error("WAGTAIL_FLOWS must be a dict.", id="wagtail_flows.E010")]
    errors = [
        Error(
            f"WAGTAIL_FLOWS[{key!r}] is not a known setting.",
            hint="Known settings are listed in docs/settings.md.",
            id="wagtail_flows.E011",
        )
        for key in conf
        if key not in DEFAULTS
    ]
    consent = conf.get("TRACKING_CONSENT", DEFAULTS["TRACKING_CONSENT"])
    if consent not in CONSENT_MODES:
        errors.append(
            Error(
                f"WAGTAIL_FLOWS['TRACKING_CONSENT'] is {consent!r}.",
                hint=f"Use one of {', '.join(CONSENT_MODES)}.",
                id="wagtail_flows.E012",
            )
        )
    for key in ("SWEEP_BATCH_SIZE", "SEND_BATCH_SIZE", "STEP_MAX_RETRIES"):
        value = conf.get(key, DEFAULTS[key])
        if not isinstance(value, int) or value < 1:
            errors.append(
                Error(
                    f"WAGTAIL_FLOWS[{key!r}] must be a positive whole number, not {value!r}.",
                    id="wagtail_flows.E013",
                )
            )
    return errors


def _check_q_cluster():
    q = getattr(settings, "Q_CLUSTER", None)
    if q is None:
        return [
            Error(
                "Q_CLUSTER is not set: flows advance in a django-q2 cluster.",
                hint="Add Q_CLUSTER = {'name': 'flows', 'orm': 'default', "
                "'timeout': 60, 'retry': 120} (see docs/developer.md).",
                id="wagtail_flows.E020",
            )
        ]
    errors = []
    timeout, retry = q.get("timeout"), q.get("retry", 60)
    if timeout is not None and retry is not None and timeout >= retry:
        errors.append(
            Error(
                f"Q_CLUSTER['timeout'] ({timeout}) must be less than Q_CLUSTER['retry'] "
                f"({retry}), or django-q2 hands running tasks out again.",
                id="wagtail_flows.E021",
            )
        )
    if not q.get("sync") and not ("orm" in q or "redis" in q or "broker_class" in q):
        errors.append(
            Warning(
                "Q_CLUSTER names no broker ('orm' or 'redis').",
                hint="Use 'orm': 'default' on one machine, 'redis' for several clusters.",
                id="wagtail_flows.W022",
            )
        )
    return errors


SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"


def _check_email():
    backend = getattr(settings, "EMAIL_BACKEND", None)
    unconfigured_smtp = backend == SMTP_BACKEND and not settings.is_overridden("EMAIL_HOST")
    if backend is None or unconfigured_smtp:
        return [
            Warning(
                "EMAIL_BACKEND is not configured; flows would send through Django's default "
                "SMTP backend on localhost:25.",
                hint="Set EMAIL_BACKEND (and DEFAULT_FROM_EMAIL) explicitly.",
                id="wagtail_flows.W030",
            )
        ]
    return []
