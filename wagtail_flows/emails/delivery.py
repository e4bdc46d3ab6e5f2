"""Delivery of messages: claim, check consent, render, send, record. Never twice.

A Message moves ``queued → sending → sent | failed``; the claim is a conditional UPDATE
(compare-and-set), so of two workers handed the same message only one sends it. A worker
that dies between sending and recording leaves ``sending``; ``mark_stale_sending`` turns
such rows into ``unknown`` once their lease is over, and nothing ever resends them.
"""

import hashlib
import hmac
import logging
from datetime import timedelta
from email.utils import parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db.models import Q
from django.utils import timezone

from wagtail_flows import signals
from wagtail_flows.conf import flows_settings
from wagtail_flows.emails import pace
from wagtail_flows.emails.confirmation import render_confirmation
from wagtail_flows.emails.rendering import (
    base_url_for,
    merge_data,
    personalise,
    prepare_page,
    prepare_revision,
    sample_data,
)
from wagtail_flows.models import Contact, Flow, Message
from wagtail_flows.models.contacts import EventKind
from wagtail_flows.models.events import record_event
from wagtail_flows.models.flows import FlowStatus
from wagtail_flows.models.messages import MessageStatus

logger = logging.getLogger(__name__)


def enqueue_delivery(message_id):
    """Deliver a message in a django-q2 worker (at least once: the claim makes it once)."""
    from django_q.tasks import async_task

    return async_task(
        "wagtail_flows.emails.delivery.deliver_message", message_id, group="wagtail_flows.email"
    )


def enqueue_batch(message_ids):
    """Deliver these messages in one django-q2 task, over one mail connection."""
    from django_q.tasks import async_task

    return async_task(
        "wagtail_flows.emails.delivery.deliver_batch",
        list(message_ids),
        group="wagtail_flows.email",
    )


# A paused flow's marketing emails already queued wait for its resume (the brake relies on
# it); transactional ones go out.
# No join: an UPDATE with one becomes "id IN (SELECT …)", and PostgreSQL would then not
# re-check the status of a row another worker just claimed (a duplicate send).
def held():
    paused = Flow.objects.filter(status=FlowStatus.PAUSED).values("pk")
    return Q(transactional=False, flow_id__in=paused)


def _claim(message_id, now):
    due = Q(send_after__isnull=True) | Q(send_after__lte=now)
    queued = Message.objects.filter(due, pk=message_id, status=MessageStatus.QUEUED)
    claimed = queued.exclude(held()).update(status=MessageStatus.SENDING, claimed_at=now)
    return claimed == 1


def _finish(message, status, **fields):
    Message.objects.filter(pk=message.pk).update(status=status, **fields)
    for name, value in {"status": status, **fields}.items():
        setattr(message, name, value)


# Loaded lazily if ever needed: the flow's steps are not, and a revision's content only when
# its inlined page is not in the render cache yet (once per revision).
UNUSED_IN_DELIVERY = (
    "flow__triggers",
    "flow__entry_conditions",
    "flow__steps",
    "flow__goal",
    "flow__exit_conditions",
    "flow__never_enter_if",
    "revision__content",
)


def deliver_message(message_id, *, connection=None, now=None):
    """Send one queued message; returns its final status, or None if it was not ours
    (already claimed by another worker, already done, or its ``send_after`` is later)."""
    now = now or timezone.now()
    if not _claim(message_id, now):
        return None
    message = (
        Message.objects.select_related("contact", "flow", "page", "enrollment", "revision")
        .defer(*UNUSED_IN_DELIVERY)
        .get(pk=message_id)
    )
    if not message.contact.can_receive_email(transactional=message.transactional):
        _finish(message, MessageStatus.SUPPRESSED, error="The contact may not be emailed.")
        return message.status
    if pace.is_paced(message):
        until = pace.free_at(message, now)
        if until is not None:
            pace.hold(message, until, now)
            return MessageStatus.QUEUED
    try:
        email = build_email(message, connection=connection)
    except Exception as error:  # a broken page must not stop the batch
        logger.exception("Rendering message %s failed", message_id)
        _finish(message, MessageStatus.FAILED, error=f"Rendering failed: {error}")
        return message.status
    try:
        email.send()
    except Exception as error:
        logger.warning("Sending message %s failed: %s", message_id, error)
        _finish(message, MessageStatus.FAILED, error=f"Sending failed: {error}")
        return message.status
    _finish(message, MessageStatus.SENT, sent_at=timezone.now())
    try:
        _record_sent(message)
    except Exception:  # the email is out and marked sent; the rest of the batch goes on
        logger.exception("Recording message %s as sent failed", message_id)
    return message.status


def deliver_batch(message_ids, *, now=None):
    """Deliver several messages as a set over one connection of the email backend (see
    ``emails.batch``); ``{id: final status, or None if it was not ours}``."""
    from wagtail_flows.emails.batch import deliver_set

    connection = get_connection()
    with connection:
        return deliver_set(list(message_ids), connection=connection, now=now)


def deliver_each(message_ids, *, connection, now=None):
    """One message after the other over ``connection`` (the pace decides per message)."""
    return {pk: deliver_message(pk, connection=connection, now=now) for pk in message_ids}


def deliver_due(now=None, limit=None):
    """Deliver queued messages whose time has come or whose task was lost (for the sweep)."""
    now = now or timezone.now()
    grace = now - timedelta(minutes=flows_settings.DELIVERY_GRACE_MINUTES)
    due = Q(send_after__lte=now) | Q(send_after__isnull=True, created_at__lte=grace)
    ids = list(
        Message.objects.filter(due, status=MessageStatus.QUEUED)
        .exclude(held())
        .order_by("created_at")
        .values_list("pk", flat=True)[: limit or flows_settings.SEND_BATCH_SIZE]
    )
    return deliver_batch(ids, now=now) if ids else {}


def mark_stale_sending(now=None):
    """Messages claimed longer ago than the lease: the worker died; the outcome is unknown."""
    now = now or timezone.now()
    cutoff = now - timedelta(minutes=flows_settings.SENDING_LEASE_MINUTES)
    return Message.objects.filter(status=MessageStatus.SENDING, claimed_at__lt=cutoff).update(
        status=MessageStatus.UNKNOWN,
        error="The worker stopped while sending; the email may or may not have gone out.",
    )


# --- building the email ------------------------------------------------------------------


def message_id_for(message, from_address):
    """A stable Message-ID: the same message always carries the same id."""
    domain = parseaddr(from_address)[1].rpartition("@")[2] or "localhost"
    digest = hmac.new(
        settings.SECRET_KEY.encode(), f"message-{message.pk}".encode(), hashlib.sha256
    ).hexdigest()[:16]
    return f"<wagtail-flows.{message.pk}.{digest}@{domain}>"


def unsubscribe_headers(unsubscribe_url, message):
    targets = [f"<{unsubscribe_url}>"]
    mailto = flows_settings.UNSUBSCRIBE_MAILTO
    if mailto:
        targets.append(f"<mailto:{mailto}?subject=unsubscribe-{message.pk}>")
    return {
        "List-Unsubscribe": ", ".join(targets),
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def _revision_for(message, memo=None):
    """The message's revision; without one (not queued by a flow), its page's live one,
    looked up once per page of a batch (``memo``)."""
    revision = message.revision
    if revision is None:
        key = ("page", message.page_id)
        if memo is not None and key in memo:
            revision = memo[key]
        else:
            revision = message.page.live_revision if message.page_id else None
            if memo is not None:
                memo[key] = revision
    if revision is None:
        raise ValueError("the email page is not published")
    return revision


def build_email(message, *, connection=None):
    """Render the message and record its subject, links and Message-ID before sending."""
    email = compose_email(message, connection=connection)
    _finish(
        message,
        MessageStatus.SENDING,
        **{field: getattr(message, field) for field in PRE_SEND_FIELDS},
    )
    return email


# What is written before the email leaves: a click or bounce on an email whose send outcome
# is unknown still finds its links and Message-ID.
PRE_SEND_FIELDS = ("revision", "subject", "links", "message_id")


def compose_email(message, *, connection=None, prepared=None):
    """The email of ``message``, its ``PRE_SEND_FIELDS`` set on it (not saved).

    ``prepared``: a dict of inlined pages by revision id, shared by a batch (each revision
    is looked up in the render cache once)."""
    if message.consent_id:  # a consent confirmation: no tracking, no list headers
        rendered, revision = render_confirmation(message)
        headers = {}
    else:
        revision = _revision_for(message, prepared)
        cached = None if prepared is None else prepared.get(revision.pk)
        if cached is None:
            cached = prepare_revision(revision)
            if prepared is not None:
                prepared[revision.pk] = cached
        context = message.enrollment.context if message.enrollment_id else {}
        data = merge_data(
            message.contact, message=message, context=context, base_url=cached.base_url
        )
        rendered = personalise(
            cached, message.contact, message=message, base_url=cached.base_url, data=data
        )
        headers = unsubscribe_headers(data["unsubscribe_url"], message)
    message.revision = revision
    message.subject = rendered.subject
    message.links = rendered.links
    message.message_id = message.message_id or message_id_for(message, rendered.from_email)
    email = EmailMultiAlternatives(
        subject=rendered.subject,
        body=rendered.text,
        from_email=rendered.from_email,
        to=[message.to_email or message.contact.email],
        reply_to=[rendered.reply_to] if rendered.reply_to else None,
        headers={"Message-ID": message.message_id, **headers},
        connection=connection,
    )
    email.attach_alternative(rendered.html, "text/html")
    return email


def _record_sent(message):
    record_event(
        EventKind.EMAIL_SENT,
        contact=message.contact,
        page=message.page,
        name=message.subject[:100],
        object_id=str(message.pk),
        data={"message": message.pk, "flow": message.flow_id, "step": message.step_id},
    )
    signals.message_sent.send(sender=Message, message=message)


# --- test sends --------------------------------------------------------------------------


def send_test(page, to=(), user=None):
    """Send the page's latest draft, rendered with sample data, to the editor and ``to``:
    one message per address, so no recipient sees the others, each personalised for its
    own address (the editor's own with the editor's name, the others with the sample's).

    Returns the list of addresses it went to."""
    addresses = [*(a for a in to if a), *([user.email] if user and user.email else [])]
    first_of = {}
    for address in addresses:  # one message per address, however it is capitalised
        first_of.setdefault(address.lower(), address)
    recipients = list(first_of.values())
    if not recipients:
        raise ValueError("No address to send the test to.")
    revision = page.get_latest_revision()
    draft = revision.as_object() if revision else page
    prepared = prepare_page(draft, base_url_for(draft))  # inlined once for every recipient
    emails = [_test_email(prepared, address, user) for address in recipients]
    get_connection().send_messages(emails)
    return recipients


def _test_email(prepared, address, user):
    own = user is not None and address.lower() == (user.email or "").lower()
    first_name, last_name = "Ann", "Example"  # the sample contact's
    if own:
        first_name = getattr(user, "first_name", "") or first_name
        last_name = getattr(user, "last_name", "")
    contact = Contact(email=address, first_name=first_name, last_name=last_name)
    data = sample_data(contact)
    data.update(unsubscribe_url="#", preferences_url="#", view_in_browser_url="#")
    rendered = personalise(prepared, contact, data=data)
    email = EmailMultiAlternatives(
        subject=f"[Test] {rendered.subject}",
        body=rendered.text,
        from_email=rendered.from_email,
        to=[address],
        reply_to=[rendered.reply_to] if rendered.reply_to else None,
    )
    email.attach_alternative(rendered.html, "text/html")
    return email
