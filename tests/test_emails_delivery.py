"""Delivering messages: once and only once, only with consent, outcome always recorded."""

import json
import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.core.cache import caches
from django.db import connection
from django.utils import timezone

from tests.factories import ContactFactory, make_email_page
from wagtail_flows.emails import delivery as email_delivery
from wagtail_flows.emails.bounces import record_bounce, record_complaint
from wagtail_flows.emails.delivery import (
    deliver_batch,
    deliver_due,
    deliver_message,
    enqueue_delivery,
    mark_stale_sending,
    send_test,
)
from wagtail_flows.emails.rendering import message_urls
from wagtail_flows.models import Event, Message, Suppression
from wagtail_flows.models.contacts import ContactStatus, EventKind
from wagtail_flows.models.messages import MessageStatus

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _empty_render_cache():
    caches["default"].clear()


def queued(contact, page=None, **kwargs):
    page = page or make_email_page()
    return Message.objects.create(contact=contact, page=page, to_email=contact.email, **kwargs)


def test_a_queued_message_is_sent_once_and_recorded(contact):
    message = queued(contact)
    assert deliver_message(message.pk) == MessageStatus.SENT
    assert deliver_message(message.pk) is None  # a redelivered task does nothing
    [sent] = mail.outbox
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT and message.sent_at
    assert message.subject == "Welcome, Ann" == sent.subject
    assert message.revision_id == message.page.live_revision_id
    assert sent.extra_headers["Message-ID"] == message.message_id
    assert message.links == ["https://example.com/offer"]
    assert Event.objects.filter(contact=contact, kind=EventKind.EMAIL_SENT).count() == 1


def test_the_message_id_is_stable(contact):
    message = queued(contact)
    first = email_delivery.message_id_for(message, "flows@example.com")
    assert first == email_delivery.message_id_for(message, "flows@example.com")
    assert first.endswith("@example.com>") and str(message.pk) in first


def test_every_email_carries_one_click_unsubscribe_headers(contact, settings):
    settings.WAGTAIL_FLOWS = {**settings.WAGTAIL_FLOWS, "UNSUBSCRIBE_MAILTO": "unsub@example.com"}
    message = queued(contact)
    deliver_message(message.pk)
    headers = mail.outbox[0].extra_headers
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    https, mailto = headers["List-Unsubscribe"].split(", ")
    assert https.startswith("<http://") and "/flows/e/u/" in https
    assert mailto == f"<mailto:unsub@example.com?subject=unsubscribe-{message.pk}>"


def test_concurrent_deliveries_send_a_message_once(contact, monkeypatch):
    """Two workers handed the same message: only the compare-and-set winner sends."""
    message = queued(contact)
    real_claim = email_delivery._claim
    barrier_hit = []

    def racing_claim(message_id, now):
        if not barrier_hit:
            barrier_hit.append(1)
            # The other worker claims in between our read and our write.
            assert deliver_message(message_id) == MessageStatus.SENT
        return real_claim(message_id, now)

    monkeypatch.setattr(email_delivery, "_claim", racing_claim)
    assert deliver_message(message.pk) is None
    assert len(mail.outbox) == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_threads_delivering_the_same_message_send_it_once():
    if connection.vendor == "sqlite":
        pytest.skip("SQLite serialises writers; the CAS is covered by the race above")
    contact = ContactFactory(first_name="Ann")
    message = queued(contact)
    results = []

    def worker():
        results.append(deliver_message(message.pk))
        connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(map(str, results)) == ["None", "None", "None", "sent"]
    assert len(mail.outbox) == 1


@pytest.mark.parametrize(
    "status", [ContactStatus.UNSUBSCRIBED, ContactStatus.BOUNCED, ContactStatus.PENDING]
)
def test_no_marketing_email_without_consent(status):
    contact = ContactFactory(status=status)
    message = queued(contact)
    assert deliver_message(message.pk) == MessageStatus.SUPPRESSED
    assert mail.outbox == []
    assert not Event.objects.filter(kind=EventKind.EMAIL_SENT).exists()


def test_transactional_email_reaches_the_unsubscribed_but_never_the_bounced():
    unsubscribed = ContactFactory(status=ContactStatus.UNSUBSCRIBED)
    bounced = ContactFactory(status=ContactStatus.BOUNCED)
    page = make_email_page()
    assert deliver_message(queued(unsubscribed, page, transactional=True).pk) == "sent"
    assert deliver_message(queued(bounced, page, transactional=True).pk) == "suppressed"
    assert [m.to for m in mail.outbox] == [[unsubscribed.email]]


def test_an_erased_address_is_never_emailed(contact):
    Suppression.objects.create(email_hash=Suppression.hash_email(contact.email), reason="erased")
    assert deliver_message(queued(contact).pk) == MessageStatus.SUPPRESSED


def test_unsubscribing_stops_a_pending_send_of_the_same_flow(contact, client):
    page = make_email_page()
    earlier = queued(contact, page)
    pending = queued(contact, page)
    deliver_message(earlier.pk)
    earlier.refresh_from_db()
    unsubscribe_url = message_urls(earlier, "")["unsubscribe_url"]
    assert client.post(unsubscribe_url, {"List-Unsubscribe": "One-Click"}).status_code == 200
    assert deliver_message(pending.pk) == MessageStatus.SUPPRESSED
    assert len(mail.outbox) == 1


def test_a_broken_backend_marks_the_message_failed_not_resent(contact, monkeypatch):
    def refuse(self, *args, **kwargs):
        raise OSError("connection refused")

    monkeypatch.setattr("django.core.mail.backends.locmem.EmailBackend.send_messages", refuse)
    message = queued(contact)
    assert deliver_message(message.pk) == MessageStatus.FAILED
    message.refresh_from_db()
    assert "connection refused" in message.error
    assert deliver_message(message.pk) is None


def test_an_unpublished_page_fails_with_a_clear_error(contact):
    page = make_email_page(publish=False)
    message = queued(contact, page)
    assert deliver_message(message.pk) == MessageStatus.FAILED
    message.refresh_from_db()
    assert "not published" in message.error


def test_a_worker_killed_mid_send_leaves_unknown_never_resent(contact):
    message = queued(contact)
    claimed_at = timezone.now() - timedelta(minutes=30)
    Message.objects.filter(pk=message.pk).update(status="sending", claimed_at=claimed_at)
    fresh = queued(contact)
    Message.objects.filter(pk=fresh.pk).update(status="sending", claimed_at=timezone.now())
    assert mark_stale_sending() == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.UNKNOWN
    assert deliver_message(message.pk) is None
    assert deliver_due(now=timezone.now() + timedelta(hours=1)) == {}
    assert mail.outbox == []


def test_a_batch_shares_one_connection(monkeypatch):
    opened = []
    from django.core.mail.backends.locmem import EmailBackend

    real_open = EmailBackend.open

    def counting_open(self):
        opened.append(self)
        return real_open(self)

    monkeypatch.setattr(EmailBackend, "open", counting_open)
    page = make_email_page()
    ids = [queued(c, page).pk for c in ContactFactory.create_batch(3)]
    assert set(deliver_batch(ids).values()) == {MessageStatus.SENT}
    assert len(opened) == 1 and len(mail.outbox) == 3


def test_enqueued_delivery_runs_as_a_django_q_task(contact):
    message = queued(contact)
    enqueue_delivery(message.pk)  # tests run django-q2 in sync mode
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT


def test_the_sweep_delivers_a_message_whose_task_was_lost(contact):
    message = queued(contact)
    assert deliver_due() == {}  # still within the grace period
    later = timezone.now() + timedelta(minutes=10)
    assert deliver_due(now=later) == {message.pk: MessageStatus.SENT}


def test_a_message_waits_for_its_send_after(contact):
    message = queued(contact, send_after=timezone.now() + timedelta(hours=2))
    assert deliver_message(message.pk) is None
    assert deliver_due(now=timezone.now() + timedelta(hours=3)) == {message.pk: MessageStatus.SENT}


def test_a_hard_bounce_suppresses_the_contact_at_once(contact):
    assert record_bounce("ANN@example.com", hard=True)
    contact.refresh_from_db()
    assert contact.status == ContactStatus.BOUNCED
    assert deliver_message(queued(contact).pk) == MessageStatus.SUPPRESSED


def test_soft_bounces_suppress_after_the_limit(contact):
    assert not record_bounce(contact.email, hard=False)
    assert not record_bounce(contact.email, hard=False)
    assert record_bounce(contact.email, hard=False)
    contact.refresh_from_db()
    assert contact.status == ContactStatus.BOUNCED


def test_a_complaint_suppresses_even_an_unknown_address(contact):
    assert record_complaint(contact.email)
    contact.refresh_from_db()
    assert contact.status == ContactStatus.COMPLAINED
    assert record_complaint("stranger@example.com")
    assert Suppression.is_suppressed("stranger@example.com")


def test_send_test_needs_an_address():
    with pytest.raises(ValueError, match="No address"):
        send_test(make_email_page(), to=[])


# --- through a flow ------------------------------------------------------------------------


def test_a_cart_flow_email_shows_the_contacts_cart(contact, django_capture_on_commit_callbacks):
    from tests.test_engine_tree import T0, make_flow, run, start, step

    cards = {"source": "cart", "heading": "Your cart", "max_items": 3, "button_text": "View"}
    page = make_email_page(
        subject="Forgot something, {{ contact.first_name }}?",
        body=json.dumps([{"type": "product_cards", "value": cards}]),
    )
    flow = make_flow([step("send_email", "s1", page=page.pk, subject_override="")], name="Cart")
    item = {"name": "Lens", "price": "59.00", "quantity": 1, "url": "https://shop.example.com/l"}
    with django_capture_on_commit_callbacks(execute=True):
        run(start(flow, contact, context={"cart": {"currency": "EUR", "items": [item]}}), T0)
    [sent] = mail.outbox
    html = sent.alternatives[0][0]
    assert sent.subject == "Forgot something, Ann?"
    assert "Your cart" in html and "Lens" in html and "59.00 EUR" in html
    assert Message.objects.get(flow=flow).links == ["https://shop.example.com/l"]


def test_one_click_unsubscribe_stops_the_flows_queued_email(
    contact, client, django_capture_on_commit_callbacks
):
    from tests.test_engine_tree import T0, make_flow, run, start, step

    page = make_email_page()
    earlier = queued(contact, page)
    deliver_message(earlier.pk)
    flow = make_flow([step("send_email", "s1", page=page.pk, subject_override="")])
    with django_capture_on_commit_callbacks(execute=False) as pending_deliveries:
        run(start(flow, contact), T0)
    pending = Message.objects.get(flow=flow)
    assert pending.status == MessageStatus.QUEUED
    unsubscribe_url = message_urls(earlier, "")["unsubscribe_url"]
    assert client.post(unsubscribe_url, {"List-Unsubscribe": "One-Click"}).status_code == 200
    for deliver in pending_deliveries:
        deliver()  # the delivery task runs after the unsubscribe
    pending.refresh_from_db()
    assert pending.status == MessageStatus.SUPPRESSED
    assert len(mail.outbox) == 1


# --- a batch as a set ------------------------------------------------------------------------


def test_a_worker_killed_between_claim_and_send_leaves_its_batch_unknown_never_resent(
    monkeypatch,
):
    """The claim is the fence: once a batch is claimed, a dead worker's messages are
    ``unknown`` after the lease, the one that did go out included, and none is sent again."""
    from django.core.mail.backends.locmem import EmailBackend

    page = make_email_page()
    ids = [queued(c, page).pk for c in ContactFactory.create_batch(3)]
    real_send = EmailBackend.send_messages

    def killed_after_the_first(self, messages):
        if mail.outbox:
            raise SystemExit("worker killed")  # not an error the batch may catch
        return real_send(self, messages)

    monkeypatch.setattr(EmailBackend, "send_messages", killed_after_the_first)
    with pytest.raises(SystemExit):
        deliver_batch(ids)
    monkeypatch.setattr(EmailBackend, "send_messages", real_send)  # the next worker lives
    assert len(mail.outbox) == 1
    assert set(Message.objects.values_list("status", flat=True)) == {MessageStatus.SENDING}
    assert deliver_batch(ids) == dict.fromkeys(ids)  # claimed: nobody sends them again
    later = timezone.now() + timedelta(hours=1)
    assert mark_stale_sending(now=later) == 3
    assert set(Message.objects.values_list("status", flat=True)) == {MessageStatus.UNKNOWN}
    # What was recorded before sending still serves the one that went out (clicks, bounces).
    assert all(m.message_id and m.links for m in Message.objects.all())
    assert deliver_due(now=later) == {} and deliver_batch(ids) == dict.fromkeys(ids)
    assert len(mail.outbox) == 1


def test_two_workers_handed_the_same_batch_send_each_message_once(monkeypatch):
    from wagtail_flows.emails import batch

    page = make_email_page()
    ids = [queued(c, page).pk for c in ContactFactory.create_batch(3)]
    real_claim = batch.claim
    raced = []

    def racing_claim(message_ids, now):
        if not raced:
            raced.append(1)  # the other worker claims the same batch just before us
            assert set(deliver_batch(message_ids[1:]).values()) == {MessageStatus.SENT}
        return real_claim(message_ids, now)

    monkeypatch.setattr(batch, "claim", racing_claim)
    assert deliver_batch(ids) == {ids[0]: MessageStatus.SENT, ids[1]: None, ids[2]: None}
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        Message.objects.values_list("to_email", flat=True)
    )


def test_a_batch_checks_consent_of_each_contact_when_it_sends(django_assert_num_queries):
    page = make_email_page()
    deliver_batch(  # renders the page into the cache
        [queued(ContactFactory(), page).pk]
    )
    subscribed = ContactFactory(first_name="Sam")
    unsubscribed = ContactFactory(status=ContactStatus.UNSUBSCRIBED)
    erased = ContactFactory()
    Suppression.objects.create(email_hash=Suppression.hash_email(erased.email), reason="erased")
    page.refresh_from_db()
    revision = page.live_revision  # as a flow's send step queues them
    receipt = queued(unsubscribed, page, revision=revision, transactional=True)
    ids = [queued(c, page, revision=revision).pk for c in (subscribed, unsubscribed, erased)]
    ids.append(receipt.pk)
    with django_assert_num_queries(7):  # a batch's 6, and one UPDATE for the suppressed
        results = deliver_batch(ids)
    assert list(results.values()) == ["sent", "suppressed", "suppressed", "sent"]
    assert sorted(m.to[0] for m in mail.outbox[1:]) == sorted(
        [subscribed.email, unsubscribed.email]
    )
    sent = Event.objects.filter(kind=EventKind.EMAIL_SENT, object_id__in=map(str, ids))
    assert sorted(sent.values_list("contact_id", flat=True)) == sorted(
        [subscribed.pk, unsubscribed.pk]
    )
    assert set(sent.values_list("page_id", flat=True)) == {page.pk}


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_threads_delivering_the_same_batch_send_each_message_once():
    if connection.vendor == "sqlite":
        pytest.skip("SQLite serialises writers; the claim is covered by the race above")
    page = make_email_page()
    ids = [queued(c, page).pk for c in ContactFactory.create_batch(6)]
    results = []

    def worker():
        results.append(deliver_batch(ids))
        connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for pk in ids:
        assert sorted(str(result[pk]) for result in results) == ["None", "None", "None", "sent"]
    assert len(mail.outbox) == 6
    assert Event.objects.filter(kind=EventKind.EMAIL_SENT).count() == 6
