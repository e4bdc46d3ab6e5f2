"""The one settings dict, ``WAGTAIL_FLOWS``, merged over these documented defaults.

Every key is documented in ``docs/settings.md``; keep the two in step.
"""

from django.conf import settings

DEFAULTS = {
    # --- capture -------------------------------------------------------------------------
    # "always": record page views for every visitor; "consent-cookie": only when the
    # CONSENT_COOKIE cookie is present and truthy; "off": record no anonymous page views.
    "TRACKING_CONSENT": "always",
    "CONSENT_COOKIE": "flows_consent",
    "VISITOR_COOKIE": "flows_vid",
    "VISITOR_COOKIE_AGE_DAYS": 365,
    "HONOUR_DNT": True,
    # Substrings (lower-case) of user agents never tracked.
    "BOT_USER_AGENTS": (
        "bot",
        "crawl",
        "spider",
        "slurp",
        "facebookexternalhit",
        "preview",
        "monitor",
        "headless",
        "curl",
        "wget",
        "python-requests",
        "httpclient",
    ),
    # Form fields whose name is one of these hold the email, when no EmailField is present.
    "EMAIL_FIELD_NAMES": ("email", "e_mail", "email_address", "your_email"),
    # Checkbox fields with one of these names are the marketing-consent opt-in.
    "CONSENT_FIELD_NAMES": ("consent", "subscribe", "newsletter", "opt_in", "marketing"),
    "BEACON_RATE_LIMIT": 60,  # events per visitor per minute
    "MAX_EVENT_DATA_BYTES": 8192,
    # --- engine --------------------------------------------------------------------------
    "SWEEP_BATCH_SIZE": 500,
    "SWEEP_INTERVAL_MINUTES": 1,
    "STEP_MAX_RETRIES": 3,
    "STEP_RETRY_BACKOFF_SECONDS": 60,
    # Frequency cap for marketing emails: at most N per contact per 24 h / 7 days (None: off).
    "MAX_EMAILS_PER_DAY": 2,
    "MAX_EMAILS_PER_WEEK": 7,
    "SITE_TIMEZONE": None,  # None: settings.TIME_ZONE
    # --- email ---------------------------------------------------------------------------
    "FROM_EMAIL": None,  # None: settings.DEFAULT_FROM_EMAIL
    "BASE_URL": None,  # absolute origin for tracking links when no Site can tell
    "UNSUBSCRIBE_MAILTO": None,
    "RENDER_CACHE": "default",
    "SEND_BATCH_SIZE": 100,
}


class FlowsSettings:
    def __getattr__(self, name):
        if name not in DEFAULTS:
            raise AttributeError(f"WAGTAIL_FLOWS has no setting {name!r}")
        return getattr(settings, "WAGTAIL_FLOWS", {}).get(name, DEFAULTS[name])


flows_settings = FlowsSettings()
