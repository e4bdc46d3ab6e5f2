"""Bounces and complaints from the mail provider, through django-anymail's real webhook.

Postmark posts its documented JSON to anymail's tracking webhook (tests/urls.py) with the
HTTP basic auth of ``ANYMAIL["WEBHOOK_SECRET"]`` (tests/settings.py); anymail sends its
``tracking`` signal and our receiver (connected at app ready) stops email to the address.
"""

import base64
import json

import pytest
from django.core import mail
from django.urls import reverse

from tests.factories import ContactFactory, make_email_page
from wagtail_flows.emails.delivery import deliver_message
from wagtail_flows.models import Message, Suppression
from wagtail_flows.models.contacts import ContactStatus
from wagtail_flows.models.messages import MessageStatus

pytestmark = pytest.mark.django_db

WEBHOOK_AUTH = "flows-esp:tests-only-webhook-secret"  # tests/settings.py ANYMAIL


def postmark_event(record_type, bounce_type, email):
    """A Postmark bounce / spam-complaint webhook body, as Postmark documents it."""
    return {
        "RecordType": record_type,
        "MessageStream": "outbound",
        "ID": 4323372036854775807,
        "Type": bounce_type,
        "TypeCode": {"HardBounce": 1, "SoftBounce": 4096, "SpamComplaint": 512}[bounce_type],
        "Name": bounce_type,
        "Tag": "welcome",
        "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
        "Metadata": {},
        "ServerID": 23,
        "Description": "The server was unable to deliver your message.",
        "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
        "Email": email,
        "From": "flows@example.com",
        "BouncedAt": "2026-11-05T16:33:54.9070259Z",
        "DumpAvailable": True,
        "Inactive": bounce_type != "SoftBounce",
        "CanActivate": True,
        "Subject": "Welcome, Ann",
    }


def post_to_postmark_webhook(client, payload, auth=WEBHOOK_AUTH):
    credentials = base64.b64encode(auth.encode()).decode()
    return client.post(
        reverse("anymail:postmark_tracking_webhook"),
        data=json.dumps(payload),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Basic {credentials}",
    )


def queued_to(contact):
    return Message.objects.create(contact=contact, page=make_email_page(), to_email=contact.email)


def assert_not_sent(message):
    assert deliver_message(message.pk) == MessageStatus.SUPPRESSED
    assert mail.outbox == []


def test_a_hard_bounce_stops_the_queued_email_to_the_contact(client, contact):
    message = queued_to(contact)
    response = post_to_postmark_webhook(
        client, postmark_event("Bounce", "HardBounce", "ANN@example.com")
    )
    assert response.status_code == 200
    contact.refresh_from_db()
    assert contact.status == ContactStatus.BOUNCED
    assert not contact.can_receive_email(transactional=True)
    assert_not_sent(message)


def test_a_spam_complaint_suppresses_the_address_and_stops_its_email(client, contact):
    message = queued_to(contact)
    response = post_to_postmark_webhook(
        client, postmark_event("SpamComplaint", "SpamComplaint", contact.email)
    )
    assert response.status_code == 200
    contact.refresh_from_db()
    assert contact.status == ContactStatus.COMPLAINED
    assert Suppression.is_suppressed(contact.email)
    assert_not_sent(message)


def test_a_bounce_for_an_address_we_do_not_know_suppresses_it(client):
    post_to_postmark_webhook(client, postmark_event("Bounce", "HardBounce", "gone@example.com"))
    assert Suppression.is_suppressed("gone@example.com")


def test_a_soft_bounce_counts_towards_the_limit_instead_of_suppressing(client, contact):
    """Anymail reports Postmark's SoftBounce as ``bounced``; a full mailbox is not a dead one."""
    post_to_postmark_webhook(client, postmark_event("Bounce", "SoftBounce", contact.email))
    contact.refresh_from_db()
    assert contact.status == ContactStatus.SUBSCRIBED
    assert contact.properties["soft_bounces"] == 1


def test_an_unsubscribe_at_the_provider_unsubscribes_the_contact(client, contact):
    change = {  # Postmark's documented SubscriptionChange webhook body
        "RecordType": "SubscriptionChange",
        "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
        "ServerID": 23,
        "MessageStream": "outbound",
        "ChangedAt": "2026-11-05T16:33:54.9070259Z",
        "Recipient": contact.email,
        "Origin": "Recipient",
        "SuppressSending": True,
        "SuppressionReason": "ManualSuppression",
        "Tag": "welcome",
        "Metadata": {},
    }
    assert post_to_postmark_webhook(client, change).status_code == 200
    contact.refresh_from_db()
    assert contact.status == ContactStatus.UNSUBSCRIBED
    assert contact.can_receive_email(transactional=True)  # unlike a bounce or complaint


@pytest.mark.parametrize("auth", ["flows-esp:wrong-secret", "someone:else"])
def test_a_webhook_without_the_secret_changes_nothing(client, contact, auth):
    message = queued_to(contact)
    other = ContactFactory()
    for event in (
        postmark_event("Bounce", "HardBounce", contact.email),
        postmark_event("SpamComplaint", "SpamComplaint", other.email),
    ):
        assert post_to_postmark_webhook(client, event, auth=auth).status_code == 400
    contact.refresh_from_db()
    other.refresh_from_db()
    assert contact.status == other.status == ContactStatus.SUBSCRIBED
    assert not Suppression.objects.exists()
    assert deliver_message(message.pk) == MessageStatus.SENT


def test_a_webhook_with_no_auth_at_all_is_refused(client, contact):
    event = json.dumps(postmark_event("Bounce", "HardBounce", contact.email))
    response = client.post(
        reverse("anymail:postmark_tracking_webhook"), event, content_type="application/json"
    )
    assert response.status_code == 400
    contact.refresh_from_db()
    assert contact.status == ContactStatus.SUBSCRIBED
