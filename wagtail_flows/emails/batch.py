"""Delivering a batch of messages as a set: a handful of queries per batch, not per message.

    claim      one compare-and-set UPDATE … RETURNING: the chunk's (``CLAIM_CHUNK``, 25)
               queued, due, not held messages become ``sending``; a message another worker
               claimed is not ours; the steps below run per chunk
    load       one SELECT: the messages with their contact, flow (its StreamFields deferred),
               run and revision (its content deferred)
    consent    one SELECT: which of the batch's addresses are suppressed; the contacts'
               statuses came with the load, read after the claim (at send time)
    render     from the per-revision render cache, looked up once per revision
    record     one UPDATE of subject, links and Message-ID, before anything is sent
    send       over the one connection the caller opened, message by message, so a refused
               recipient fails only its own message
    outcomes   one UPDATE for the sent, one for the failed or suppressed (if any), one INSERT
               of their "email sent" events

The claim is the fence, as for one message (``delivery.deliver_message``): a worker that
dies after the claim leaves its chunk's messages ``sending``, which ``mark_stale_sending``
turns into ``unknown`` once the lease is over; nothing resends them. Claiming by chunks keeps
that to 25 messages at most (the admin lists them; a person decides), for about 0.25 queries
per message. With the pace on, each marketing
email is weighed against those sent before it, so the batch goes one message at a time.
"""

import logging
import smtplib

from django.db import connections
from django.db.models import Q
from django.db.models.sql import UpdateQuery
from django.utils import timezone

from wagtail_flows import signals
from wagtail_flows.emails import pace
from wagtail_flows.emails.delivery import (
    PRE_SEND_FIELDS,
    UNUSED_IN_DELIVERY,
    _claim,
    compose_email,
    deliver_each,
    held,
)
from wagtail_flows.models import Message, Suppression
from wagtail_flows.models.contacts import ContactStatus, EventKind
from wagtail_flows.models.events import record_events
from wagtail_flows.models.messages import MessageStatus

logger = logging.getLogger(__name__)

NOT_EMAILABLE = "The contact may not be emailed."
# Refusals of one message; the SMTP session is still good for the next one.
ONE_MESSAGE_REFUSED = (smtplib.SMTPRecipientsRefused, smtplib.SMTPResponseException)


# Messages claimed together: a worker killed mid-send leaves at most these ``sending`` (then
# ``unknown``, never resent), sent or not; the claim's queries are shared by as many.
CLAIM_CHUNK = 25


def deliver_set(message_ids, *, connection, now=None):
    """Deliver ``message_ids`` over ``connection`` (open); ``{id: status or None}``."""
    now = now or timezone.now()
    if any(pace.limits(now)) or any(pace.limits(timezone.now())):
        return deliver_each(message_ids, connection=connection, now=now)
    message_ids = list(message_ids)
    results = dict.fromkeys(message_ids)
    for start in range(0, len(message_ids), CLAIM_CHUNK):
        chunk = message_ids[start : start + CLAIM_CHUNK]
        results.update(_deliver_chunk(chunk, connection, now))
    return results


def _deliver_chunk(message_ids, connection, now):
    results = dict.fromkeys(message_ids)
    claimed = claim(message_ids, now)
    if not claimed:
        return results
    messages = list(
        Message.objects.select_related("contact", "flow", "enrollment", "revision", "consent")
        .defer(*UNUSED_IN_DELIVERY)
        .filter(pk__in=claimed)
        .order_by("pk")
    )
    done = []  # failed or suppressed, before or during sending
    ready = []
    suppressed = suppressed_addresses(messages)
    prepared = {}
    for message in messages:
        if not may_email(message.contact, message.transactional, suppressed):
            done.append(_outcome(message, MessageStatus.SUPPRESSED, NOT_EMAILABLE))
            continue
        try:
            ready.append(
                (message, compose_email(message, connection=connection, prepared=prepared))
            )
        except Exception as error:  # a broken page must not stop the batch
            logger.exception("Rendering message %s failed", message.pk)
            done.append(_outcome(message, MessageStatus.FAILED, f"Rendering failed: {error}"))
    if ready:
        write_by_id([m for m, _ in ready], PRE_SEND_FIELDS)
    sent = []
    for message, email in ready:
        try:
            email.send()
        except Exception as error:
            logger.warning("Sending message %s failed: %s", message.pk, error)
            done.append(_outcome(message, MessageStatus.FAILED, f"Sending failed: {error}"))
            if not isinstance(error, ONE_MESSAGE_REFUSED):
                _reopen(connection)  # a dropped session must not fail the rest
        else:
            sent.append(message)
    at = timezone.now()
    if sent:
        Message.objects.filter(pk__in=[m.pk for m in sent]).update(
            status=MessageStatus.SENT, sent_at=at
        )
    if done:
        write_by_id(done, ["status", "error"])
    for message in sent:
        message.status, message.sent_at = MessageStatus.SENT, at
    results.update({m.pk: m.status for m in messages})
    try:
        _record_sent(sent, at)
    except Exception:  # the emails are out and marked sent
        logger.exception("Recording %s messages as sent failed", len(sent))
    return results


def claim(message_ids, now):
    """The ids of the messages this call claimed: one conditional UPDATE … RETURNING.

    The same conditions as ``delivery._claim`` (queued, due, not held by a paused flow), so
    of two workers handed the same message only one gets it back."""
    due = Q(send_after__isnull=True) | Q(send_after__lte=now)
    queued = Message.objects.filter(due, pk__in=message_ids, status=MessageStatus.QUEUED)
    queued = queued.exclude(held())
    database = connections[queued.db]
    if not _can_return(database):
        return [pk for pk in message_ids if _claim(pk, now)]
    query = queued.query.chain(UpdateQuery)
    query.add_update_values({"status": MessageStatus.SENDING, "claimed_at": now})
    sql, params = query.get_compiler(queued.db).as_sql()
    pk_column = database.ops.quote_name(Message._meta.pk.column)
    with database.cursor() as cursor:
        cursor.execute(f"{sql} RETURNING {pk_column}", params)
        return [row[0] for row in cursor.fetchall()]


def write_by_id(messages, names):
    """Each message's own values of ``names`` in one UPDATE (``CASE id WHEN … THEN …``).

    What ``bulk_update`` writes, without building an ORM expression per row and field (it
    was a third of a batch's CPU time)."""
    database = connections[Message.objects.db]
    quote = database.ops.quote_name
    fields = [Message._meta.get_field(name) for name in names]
    pk = quote(Message._meta.pk.column)
    limit = database.features.max_query_params or 32_000
    size = max(1, limit // (2 * len(fields) + 1))
    for start in range(0, len(messages), size):
        chunk = messages[start : start + size]
        assignments, params = [], []
        for field in fields:
            whens = " ".join(["WHEN %s THEN %s"] * len(chunk))
            cast = field.db_type(database)  # so a column of NULLs keeps its type
            assignments.append(f"{quote(field.column)} = CAST(CASE {pk} {whens} END AS {cast})")
            for message in chunk:
                value = field.get_db_prep_save(getattr(message, field.attname), database)
                params += [message.pk, value]
        params += [message.pk for message in chunk]
        marks = ", ".join(["%s"] * len(chunk))
        table = quote(Message._meta.db_table)
        # Names quoted by the backend, every value a parameter.
        sql = f"UPDATE {table} SET {', '.join(assignments)} WHERE {pk} IN ({marks})"  # noqa: S608
        with database.cursor() as cursor:
            cursor.execute(sql, params)


def _can_return(database):
    if database.vendor == "postgresql":
        return True
    return database.vendor == "sqlite" and database.Database.sqlite_version_info >= (3, 35)


def suppressed_addresses(messages):
    """The suppression hashes among the batch's contacts' addresses (one query)."""
    hashes = {Suppression.hash_email(m.contact.email) for m in messages}
    return set(
        Suppression.objects.filter(email_hash__in=hashes).values_list("email_hash", flat=True)
    )


def may_email(contact, transactional, suppressed):
    """``Contact.can_receive_email``, with the suppression list read once for the batch."""
    if contact.status in (ContactStatus.BOUNCED, ContactStatus.COMPLAINED):
        return False
    if not transactional and contact.status != ContactStatus.SUBSCRIBED:
        return False
    return Suppression.hash_email(contact.email) not in suppressed


def _outcome(message, status, error):
    message.status, message.error = status, error
    return message


def _reopen(connection):
    try:
        connection.close()
        connection.open()
    except Exception:  # the next sends fail on their own and say why
        logger.warning("Reopening the mail connection failed", exc_info=True)


def _record_sent(messages, at):
    record_events(
        EventKind.EMAIL_SENT,
        [
            {
                "contact": m.contact,
                "page_id": m.page_id,
                "name": m.subject[:100],
                "object_id": str(m.pk),
                "data": {"message": m.pk, "flow": m.flow_id, "step": m.step_id},
            }
            for m in messages
        ],
        at=at,
    )
    for message in messages:
        signals.message_sent.send(sender=Message, message=message)
