"""Bounces, complaints and unsubscribes the mail provider reports (django-anymail webhooks,
or ``record_bounce``/``record_complaint`` from your own): suppress, never email again."""

from wagtail_flows.conf import flows_settings
from wagtail_flows.emails.brake import record_feedback
from wagtail_flows.models import Contact, Suppression
from wagtail_flows.models.contacts import normalize_email


def _contact(email):
    return Contact.objects.filter(email__iexact=normalize_email(email)).first()


def _suppress(email, reason):
    Suppression.objects.get_or_create(
        email_hash=Suppression.hash_email(email), defaults={"reason": reason}
    )


def record_bounce(email, hard=True):
    """A bounce reported by the mail provider. A hard bounce (or enough soft ones in a row)
    stops all email to the address at once. Returns True if the contact was suppressed."""
    if hard:
        record_feedback(email, "bounced_at")
    contact = _contact(email)
    if contact is None:
        if hard:
            _suppress(email, "bounced")
        return hard
    if not hard:
        soft = int(contact.properties.get("soft_bounces", 0)) + 1
        contact.properties["soft_bounces"] = soft
        contact.save(update_fields=["properties", "updated_at"])
        if soft < flows_settings.SOFT_BOUNCE_LIMIT:
            return False
    contact.mark_bounced()
    return True


def record_complaint(email):
    """A spam complaint: never email the address again."""
    record_feedback(email, "complained_at")
    contact = _contact(email)
    if contact is None:
        _suppress(email, "complained")
        return True
    contact.mark_complained()
    return True


def on_anymail_tracking(sender, event, esp_name=None, **kwargs):
    """django-anymail's ``tracking`` signal: bounces, complaints and unsubscribes."""
    recipient = getattr(event, "recipient", "") or ""
    kind = getattr(event, "event_type", "")
    if not recipient:
        return
    if kind in ("bounced", "rejected"):
        record_bounce(recipient, hard=not _soft_bounce(event))
    elif kind == "deferred":
        record_bounce(recipient, hard=False)
    elif kind == "complained":
        record_complaint(recipient)
    elif kind == "unsubscribed":
        contact = _contact(recipient)
        if contact is not None:
            contact.unsubscribe(reason=f"{esp_name or 'provider'} unsubscribe")


def _soft_bounce(event):
    """Postmark, Brevo, Mandrill and MailerSend report soft bounces (mailbox full) to anymail
    as ``bounced`` too; only their raw event says so, and a soft bounce must not suppress."""
    raw = getattr(event, "esp_event", None)
    if not isinstance(raw, dict):
        return False
    activity = raw.get("data") if isinstance(raw.get("data"), dict) else {}
    return (
        raw.get("Type") == "SoftBounce"
        or raw.get("event") == "soft_bounce"
        or activity.get("type") == "soft_bounced"
    )


def connect_anymail():
    """Listen to django-anymail's tracking webhooks when it is installed."""
    try:
        from anymail.signals import tracking
    except ImportError:
        return False
    tracking.connect(on_anymail_tracking, dispatch_uid="wagtail_flows.anymail_tracking")
    return True
