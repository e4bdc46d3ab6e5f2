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
    # Checkbox fields with one of these names are the marketing-consent opt-in: whole words
    # of the field's name ("I agree to receive emails" is i_agree_to_receive_emails).
    "CONSENT_FIELD_NAMES": (
        "consent",
        "subscribe",
        "newsletter",
        "opt_in",
        "marketing",
        "agree_to_receive",
    ),
    # --- consent (double opt-in; docs/capture.md) ------------------------------------------
    # A confirmation link works for this many days after it was sent.
    "CONSENT_CONFIRMATION_DAYS": 7,
    # No second confirmation email to one address within this many minutes (resubmissions).
    "CONSENT_RESEND_MINUTES": 10,
    # ... and at most this many confirmation emails to one address in 24 hours.
    "CONSENT_MAX_EMAILS_PER_DAY": 3,
    "BEACON_RATE_LIMIT": 60,  # events per visitor per minute
    # Events per client address (REMOTE_ADDR; an IPv6 /64) per minute, all its cookies
    # together; None: no per-address limit. Behind a proxy, REMOTE_ADDR must be the client's.
    "BEACON_RATE_LIMIT_PER_ADDRESS": 300,
    "MAX_EVENT_DATA_BYTES": 8192,
    # PostgreSQL: page views, downloads and beacon events commit without waiting for the WAL
    # flush (synchronous_commit off for their own transaction; docs/performance.md#p1-capture).
    "CAPTURE_ASYNC_COMMIT": True,
    # --- engine --------------------------------------------------------------------------
    "SWEEP_BATCH_SIZE": 500,
    "SWEEP_INTERVAL_MINUTES": 1,
    "STEP_MAX_RETRIES": 3,
    "STEP_RETRY_BACKOFF_SECONDS": 60,
    # Frequency cap for marketing emails: at most N per contact per 24 h / 7 days (None: off).
    "MAX_EMAILS_PER_DAY": 2,
    "MAX_EMAILS_PER_WEEK": 7,
    # Site-wide quiet hours for marketing emails, in each contact's time zone (the site's
    # when they have none): ("21:00", "08:00") holds emails from 21:00 until 08:00. None: off.
    "QUIET_HOURS": None,
    "SITE_TIMEZONE": None,  # None: settings.TIME_ZONE
    # --- engine-core (advance, dispatch; docs/engine.md) ----------------------------------
    # A worker's claim on an enrollment expires after this (a killed worker's contact is
    # picked up again by the next sweep). Keep it above django-q2's task timeout.
    "CLAIM_LEASE_SECONDS": 300,
    # A branch that waits for its condition re-checks it at least this often.
    "BRANCH_RECHECK_MINUTES": 60,
    "WEBHOOK_TIMEOUT_SECONDS": 5,
    # On resume with "spread", overdue contacts are spread evenly over this many hours.
    "RESUME_SPREAD_HOURS": 4,
    # How often (seconds) a process checks the shared cache for flow changes made elsewhere.
    "LISTEN_INDEX_CHECK_SECONDS": 2,
    # --- engine-ops (sweeps, manual enrollment; docs/operations.md) ------------------------
    # A sweep claims at most this many batches of due enrollments (the rest wait a minute).
    "SWEEP_MAX_BATCHES": 20,
    # An event still waiting for dispatch this long after it happened is dispatched again.
    "REDISPATCH_AFTER_MINUTES": 5,
    # "Date reached" fires for dates at most this many days past (e.g. after downtime), never
    # for dates long gone when a flow is first activated.
    "DATE_REACHED_LOOKBACK_DAYS": 7,
    # A manual enrollment whose batches made no progress for this long is resumed.
    "ENROLLMENT_JOB_STALLED_MINUTES": 10,
    # --- contact imports (docs/admin.md, "Import contacts") --------------------------------
    # The largest CSV or XLSX file the admin's import takes (bytes); 20 MB is ~200,000 rows.
    "IMPORT_MAX_BYTES": 20_000_000,
    # Rows an import checks and writes per transaction.
    "IMPORT_BATCH_SIZE": 500,
    # --- email ---------------------------------------------------------------------------
    "FROM_EMAIL": None,  # None: settings.DEFAULT_FROM_EMAIL
    # The postal address marketing emails carry when the site's Settings › Email sender has
    # none (docs/deliverability.md); a marketing flow cannot go live without one.
    "POSTAL_ADDRESS": "",
    "BASE_URL": None,  # absolute origin for tracking links when no Site can tell
    "UNSUBSCRIBE_MAILTO": None,
    "RENDER_CACHE": "default",
    "SEND_BATCH_SIZE": 100,
    # A message claimed for sending longer ago than this is marked "unknown" (never resent).
    "SENDING_LEASE_MINUTES": 15,
    # A queued message whose delivery task has not run after this long is delivered by the
    # sweep (a lost task never loses an email).
    "DELIVERY_GRACE_MINUTES": 5,
    # Soft bounces in a row before a contact is treated as bounced.
    "SOFT_BOUNCE_LIMIT": 3,
    # The deliverability brake (docs/deliverability.md): a live marketing flow pauses when,
    # of its emails sent in the last BRAKE_WINDOW_DAYS (at least BRAKE_MIN_SENT of them), the
    # share of spam complaints or of hard bounces reaches its limit (percent).
    "BRAKE_ENABLED": True,
    "BRAKE_WINDOW_DAYS": 7,
    "BRAKE_MIN_SENT": 200,
    "BRAKE_COMPLAINT_RATE": 0.3,
    "BRAKE_BOUNCE_RATE": 5.0,
    # The pace (docs/deliverability.md): marketing emails an hour, overall and per recipient
    # domain (None: no limit), and a warm-up for a new domain from WARMUP_START (a date):
    # WARMUP_FIRST_DAY emails the first day, times WARMUP_GROWTH each day, until WARMUP_UNTIL.
    "PACE_PER_HOUR": None,
    "PACE_PER_DOMAIN_PER_HOUR": None,
    "WARMUP_START": None,
    "WARMUP_FIRST_DAY": 50,
    "WARMUP_GROWTH": 2.0,
    "WARMUP_UNTIL": 100000,
    # DNS servers the sending-domain check asks ("host" or "host:port"); empty: the system's.
    "DNS_NAMESERVERS": [],
    # --- reports (reports.py; docs/reports.md) ----------------------------------------------
    # An order counts as revenue of a flow while the contact's run is open, or within this
    # many days after they clicked one of the flow's emails.
    "REVENUE_WINDOW_DAYS": 7,
    # The currency reports show revenue in (ISO 4217, e.g. "EUR"); empty: no currency shown.
    "CURRENCY": "",
    # An A/B verdict needs at least this many contacts in every variant (and n·p ≥ 5).
    "AB_MIN_CONTACTS": 30,
}


class FlowsSettings:
    def __getattr__(self, name):
        if name not in DEFAULTS:
            raise AttributeError(f"WAGTAIL_FLOWS has no setting {name!r}")
        return getattr(settings, "WAGTAIL_FLOWS", {}).get(name, DEFAULTS[name])


flows_settings = FlowsSettings()
