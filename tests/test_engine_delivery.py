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
