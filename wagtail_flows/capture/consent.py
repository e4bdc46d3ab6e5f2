"""Marketing consent asked for on the public site: the proof is kept, and — with double
opt-in — the contact is subscribed only when they confirm the link emailed to them.

Rules (docs/capture.md, "Consent that can be proven"):
- a new address is subscribed at once only if the site's "Require double opt-in" is off;
- an address that unsubscribed always confirms: a form never re-subscribes it by itself;
- bounced, complained, erased or suppressed addresses get no confirmation email at all;
- one confirmation email per address within ``CONSENT_RESEND_MINUTES``, however often the
  form is sent.
"""

import ipaddress
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from wagtail.models import Site

from wagtail_flows.conf import flows_settings
from wagtail_flows.models import Contact, Message
from wagtail_flows.models.consent import ConsentRecord, ConsentSettings
from wagtail_flows.vocabulary import ConsentMethod, ContactStatus

# Delivery sits above capture (setup.cfg layers), so the message is handed to it by task
# name, as ``emails.delivery.enqueue_delivery`` does; a lost task is sent by the sweep.
DELIVER_FUNC = "wagtail_flows.emails.delivery.deliver_message"


def ask_for_consent(
    contact, *, wording="", page=None, request=None, event=None, source="", at=None
):
    """Ask ``contact`` for marketing consent: the ConsentRecord (the proof) is returned, and
    the contact is subscribed now (single opt-in) or once they confirm by email.

    ``wording``: the consent text as the person saw it; ``page``: where; ``request``: gives
    the site and the IP address; ``event``: the form submission kept from marketing flows
    until confirmed. Returns None and writes nothing if the contact is subscribed already or
    may not be emailed at all."""
    if contact.status == ContactStatus.SUBSCRIBED:
        return None
    if not contact.can_receive_email(transactional=True):
        return None  # bounced, complained or suppressed: never emailed, not even to confirm
    at = at or timezone.now()
    site = _site(page, request)
    consent_settings = ConsentSettings.for_site(site) if site else None
    record = ConsentRecord(
        contact=contact,
        email=contact.email,
        source=(source or "")[:255],
        site=site,
        page=page,
        page_title=(page.title if page else "")[:255],
        page_url=(_page_url(page, request) or "")[:2000],
        wording=wording,
        event=event,
        requested_at=at,
        requested_ip=client_ip(request),
    )
    if _single_opt_in(contact, consent_settings):
        return _subscribe_now(record, at)
    return _ask_to_confirm(record, consent_settings, at)


def _single_opt_in(contact, consent_settings):
    """Only a new (pending) address, and only where the site switched double opt-in off."""
    return (
        contact.status == ContactStatus.PENDING
        and consent_settings is not None
        and not consent_settings.require_double_opt_in
    )


def _subscribe_now(record, at):
    record.method = ConsentMethod.SINGLE_OPT_IN
    record.confirmed_at = at
    with transaction.atomic():
        record.save(force_insert=True)
        record.contact.subscribe(at)
    return record


def _ask_to_confirm(record, consent_settings, at):
    record.method = ConsentMethod.DOUBLE_OPT_IN
    resend_after = at - timedelta(minutes=flows_settings.CONSENT_RESEND_MINUTES)
    with transaction.atomic():
        # One request at a time per contact: the row lock orders concurrent submissions.
        Contact.objects.select_for_update().filter(pk=record.contact_id).exists()
        sent = ConsentRecord.objects.filter(contact_id=record.contact_id)
        sent_lately = sent.filter(confirmation_sent_at__gte=resend_after).awaiting(at)
        sent_today = sent.filter(confirmation_sent_at__gte=at - timedelta(days=1)).count()
        if not sent_lately.exists() and sent_today < flows_settings.CONSENT_MAX_EMAILS_PER_DAY:
            record.confirmation_sent_at = at
        record.save(force_insert=True)
        if record.confirmation_sent_at:
            _queue_confirmation(record, consent_settings, at)
    return record


def _queue_confirmation(record, consent_settings, at):
    page = consent_settings.confirmation_email if consent_settings else None
    message = Message.objects.create(
        contact=record.contact,
        consent=record,
        page=page if page is not None and page.live else None,
        to_email=record.email,
        transactional=True,  # it asks for consent: it goes to a contact who gave none yet
        created_at=at,
    )
    transaction.on_commit(lambda: _enqueue(message.pk))


def _enqueue(message_id):
    from django_q.tasks import async_task

    async_task(DELIVER_FUNC, message_id, group="wagtail_flows.email")


def _site(page, request):
    site = page.get_site() if page is not None and page.pk else None
    if site is None and request is not None:
        site = Site.find_for_request(request)
    return site or Site.objects.filter(is_default_site=True).first()


def _page_url(page, request):
    if page is None:
        return request.build_absolute_uri() if request is not None else ""
    return page.get_full_url(request) or page.url or ""


def client_ip(request):
    """The address the request came from (``REMOTE_ADDR``; behind a proxy, set it from the
    proxy's header in your middleware — a forwarded header anyone can forge is not read)."""
    value = request.META.get("REMOTE_ADDR", "") if request is not None else ""
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


# --- forms that feed marketing flows without asking for consent ----------------------------


def has_consent_field(page):
    """Whether the form asks for marketing consent: a checkbox its form answers map to
    consent (saved on the page, or suggested from ``CONSENT_FIELD_NAMES``)."""
    from wagtail_flows.capture.forms import consent_fields  # forms imports this module

    return bool(consent_fields(page))


def form_pages_without_consent(flow):
    """The form pages that start this marketing flow but ask for no consent: everyone they
    bring in stays pending, and the flow's emails to them are suppressed."""
    from wagtail_flows.models.listening import sends_marketing_email

    if not sends_marketing_email(flow):
        return []
    pages = {}
    for child in flow.triggers:
        if child.block_type != "form_submitted":
            continue
        page = child.value.get("form_page")
        for form_page in [page.specific] if page is not None else _live_form_pages():
            pages[form_page.pk] = form_page
    return [page for page in pages.values() if not has_consent_field(page)]


def _live_form_pages():
    from django.apps import apps
    from wagtail.contrib.forms.models import FormMixin

    for model in apps.get_models():
        if issubclass(model, FormMixin) and not model._meta.abstract:
            yield from model.objects.live()


def no_consent_sentence(page):
    return (
        f"The form “{page.title}” (page {page.pk}) has no consent checkbox: contacts from "
        "this form will be pending and get no marketing email."
    )


def consent_fix():
    names = ", ".join(flows_settings.CONSENT_FIELD_NAMES)
    return (
        "Add a Checkbox field to the form labelled e.g. “I agree to receive emails” (its name "
        f"must hold one of: {names} — WAGTAIL_FLOWS['CONSENT_FIELD_NAMES']), or map a checkbox "
        "it has to Consent in the form's “Form answers → contacts”, or make the flow "
        "Transactional if its emails are not marketing."
    )
