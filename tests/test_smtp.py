"""A real SMTP conversation: the email a subscriber's mail server receives."""

import email
import socket
from email import policy

import pytest
from aiosmtpd.controller import Controller
from django.core.cache import caches

from tests.factories import ContactFactory, make_email_page
from wagtail_flows.emails.delivery import deliver_batch, deliver_message
from wagtail_flows.models import Message
from wagtail_flows.models.messages import MessageStatus

pytestmark = pytest.mark.django_db


class Mailbox:
    """An aiosmtpd handler that keeps what it receives and counts SMTP sessions."""

    def __init__(self):
        self.messages = []
        self.sessions = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.sessions += 1
        session.host_name = hostname
        return responses

    async def handle_DATA(self, server, session, envelope):
        parsed = email.message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append((envelope.rcpt_tos, parsed))
        return "250 Message accepted for delivery"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server(settings):
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.WAGTAIL_FLOWS = {**settings.WAGTAIL_FLOWS, "UNSUBSCRIBE_MAILTO": "unsub@example.com"}
    caches["default"].clear()
    yield mailbox
    controller.stop()


def test_a_flow_email_arrives_complete_over_smtp(smtp_server, contact):
    body = [
        ("heading", 'Hi {{ contact.first_name|default:"there" }}'),
        ("text", '<p>See <a href="https://example.com/new">what is new</a>.</p>'),
    ]
    page = make_email_page(
        subject="{{ contact.first_name }}, news for you",
        body=body,
        preheader="Fresh this week",
        from_name="Lens Shop",
        reply_to="help@example.com",
    )
    message = Message.objects.create(contact=contact, page=page, to_email=contact.email)
    assert deliver_message(message.pk) == MessageStatus.SENT
    [(recipients, received)] = smtp_server.messages
    message.refresh_from_db()

    assert recipients == ["ann@example.com"]
    assert received["Subject"] == "Ann, news for you"
    assert received["From"] == "Lens Shop <flows@example.com>"
    assert received["Reply-To"] == "help@example.com"
    assert received["Message-ID"] == message.message_id
    assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = str(received["List-Unsubscribe"]).strip()  # may be folded
    assert unsubscribe.startswith("<http://localhost/flows/e/u/")
    assert "<mailto:unsub@example.com?subject=unsubscribe-" in unsubscribe

    assert received.get_content_type() == "multipart/alternative"
    text = received.get_body(preferencelist=("plain",)).get_content()
    html = received.get_body(preferencelist=("html",)).get_content()
    assert "Hi Ann" in text and "what is new ( https://example.com/new )" in text
    assert "Hi Ann" in html and "Fresh this week" in html
    assert '<h1 style="' in html  # CSS inlined for clients that drop <style>
    assert "@media only screen" in html  # and the <style> block kept for media queries
    assert "https://example.com/new" not in html  # the link goes through the click redirect
    assert "/flows/e/c/" in html and "/flows/e/o/" in html
    assert "{{" not in html and "{%" not in html and "%7B%7B" not in html


def test_a_batch_uses_one_smtp_session(smtp_server):
    page = make_email_page()
    contacts = ContactFactory.create_batch(3)
    ids = [Message.objects.create(contact=c, page=page, to_email=c.email).pk for c in contacts]
    results = deliver_batch(ids)
    assert set(results.values()) == {MessageStatus.SENT}
    assert smtp_server.sessions == 1
    assert sorted(r[0] for r, _ in smtp_server.messages) == sorted(c.email for c in contacts)
    subjects = {m["Subject"] for _, m in smtp_server.messages}
    assert subjects == {f"Welcome, {c.first_name}" for c in contacts}


def test_a_refused_recipient_marks_the_message_failed(smtp_server, contact):
    async def refuse(server, session, envelope, address, rcpt_options):
        return "550 No such user"

    smtp_server.handle_RCPT = refuse
    message = Message.objects.create(
        contact=contact, page=make_email_page(), to_email=contact.email
    )
    assert deliver_message(message.pk) == MessageStatus.FAILED
    message.refresh_from_db()
    assert message.error.startswith("Sending failed:") and "550" in message.error


def test_a_refused_recipient_in_a_batch_fails_only_its_own_message(smtp_server):
    async def refuse_one(server, session, envelope, address, rcpt_options):
        if address.startswith("gone"):
            return "550 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    smtp_server.handle_RCPT = refuse_one
    page = make_email_page()
    contacts = [ContactFactory(), ContactFactory(email="gone@example.com"), ContactFactory()]
    ids = [Message.objects.create(contact=c, page=page, to_email=c.email).pk for c in contacts]
    results = deliver_batch(ids)
    assert list(results.values()) == ["sent", "failed", "sent"]
    assert smtp_server.sessions == 1  # the session goes on after the refusal
    assert sorted(r[0] for r, _ in smtp_server.messages) == sorted(
        [contacts[0].email, contacts[2].email]
    )
    refused = Message.objects.get(pk=ids[1])
    assert refused.error.startswith("Sending failed:") and "550" in refused.error
    assert refused.sent_at is None
    assert deliver_batch(ids) == dict.fromkeys(ids)  # and nothing is tried again
