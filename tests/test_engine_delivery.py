"""The emails of an advance batch go out over one connection of the email backend."""

import pytest
from django.core import mail

from tests.counting_mail import CountingBackend
from tests.factories import ContactFactory, make_email_page
from tests.test_engine_tree import T0, make_flow, start, step, wait
from wagtail_flows.engine.sweeps import run_sweep
from wagtail_flows.models import Message

pytestmark = pytest.mark.django_db


@pytest.fixture
def counting_mail(settings):
    settings.EMAIL_BACKEND = "tests.counting_mail.CountingBackend"
    CountingBackend.opened = 0
    return CountingBackend


def _welcome_flow(contacts):
    flow = make_flow([step("send_email", "s1", page=make_email_page().pk), wait("w")])
    for contact in contacts:
        start(flow, contact)
    return flow


def test_a_sweep_batch_of_sends_uses_one_mail_connection(
    counting_mail, django_capture_on_commit_callbacks
):
    _welcome_flow(ContactFactory.create_batch(6))

    with django_capture_on_commit_callbacks(execute=True):
        assert run_sweep(now=T0)["advanced"] == 6

    assert len(mail.outbox) == 6
    assert set(Message.objects.values_list("status", flat=True)) == {"sent"}
    assert counting_mail.opened == 1


def test_sends_beyond_the_send_batch_size_take_one_connection_per_batch(
    counting_mail, settings, django_capture_on_commit_callbacks
):
    settings.WAGTAIL_FLOWS = {**settings.WAGTAIL_FLOWS, "SEND_BATCH_SIZE": 4}
    _welcome_flow(ContactFactory.create_batch(6))

    with django_capture_on_commit_callbacks(execute=True):
        run_sweep(now=T0)

    assert len(mail.outbox) == 6
    assert counting_mail.opened == 2


def test_a_contact_entering_on_an_event_gets_their_email_at_once(
    counting_mail, contact, django_capture_on_commit_callbacks
):
    page = make_email_page()
    make_flow(
        [step("send_email", "s1", page=page.pk)],
        triggers=[{"type": "tag_added", "value": {"tag": "vip"}, "id": "trg"}],
    )

    with django_capture_on_commit_callbacks(execute=True):
        contact.add_tag("vip")

    assert [m.to for m in mail.outbox] == [[contact.email]]
    assert counting_mail.opened == 1


def _queued_messages(count):
    from wagtail_flows.engine.advance import run_due

    _welcome_flow(ContactFactory.create_batch(count))
    run_due(100, now=T0)  # queues the messages; delivery is captured, not run
    return list(Message.objects.filter(status="queued").values_list("pk", flat=True))


# A chunk of up to 25 (batch.CLAIM_CHUNK): claim, load, suppression list, subject/links
# before sending, the sent, and their "email sent" events. Failed or suppressed messages add
# one more UPDATE. A batch of 100 is four chunks.
QUERIES_PER_BATCH = 6


def test_a_batch_of_flow_emails_costs_the_same_queries_at_any_size(
    django_capture_on_commit_callbacks, django_assert_num_queries
):
    from wagtail_flows.emails.delivery import deliver_batch

    with django_capture_on_commit_callbacks(execute=False):
        first, *rest = _queued_messages(34)
    deliver_batch([first])  # the first one renders and caches the inlined page
    with django_assert_num_queries(QUERIES_PER_BATCH):
        three = deliver_batch(rest[:3])
    with django_assert_num_queries(QUERIES_PER_BATCH) as thirty:
        deliver_batch(rest[3:28])
    with django_assert_num_queries(QUERIES_PER_BATCH):  # 5 more: one more chunk's worth
        deliver_batch(rest[28:])
    assert set(three.values()) == {"sent"} and len(mail.outbox) == 34
    for message in Message.objects.select_related("contact"):  # recorded before sending
        assert message.status == "sent" and message.sent_at
        assert message.subject == f"Welcome, {message.contact.first_name}"
        assert message.links == ["https://example.com/offer"] and message.message_id
    # The messages with their contacts, flow, run and revision in one query; the flow's
    # steps and the revision's content are not loaded once the page is in the render cache.
    (load,) = [
        q["sql"]
        for q in thirty.captured_queries
        if q["sql"].startswith("SELECT") and 'FROM "wagtail_flows_message"' in q["sql"]
    ]
    assert '"wagtailcore_revision"."object_id"' in load  # the revision, in the same query
    assert '"wagtail_flows_contact"."email"' in load  # the contacts, in the same query
    assert '"wagtailcore_revision"."content"' not in load
    assert '"wagtail_flows_flow"."steps"' not in load


def test_a_batch_of_flow_emails_inlines_the_page_once(
    premailer_runs, django_capture_on_commit_callbacks
):
    """Six contacts, six personalised emails delivered: premailer ran once, for the revision."""
    contacts = ContactFactory.create_batch(6)
    _welcome_flow(contacts)

    with django_capture_on_commit_callbacks(execute=True):
        run_sweep(now=T0)

    assert sorted(m.to for m in mail.outbox) == sorted([c.email] for c in contacts)
    assert len(premailer_runs) == 1
