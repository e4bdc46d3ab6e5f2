"""The brake: a marketing flow whose emails draw complaints or hard bounces pauses by itself.

The feedback arrives as the mail provider sends it: Postmark's documented webhook bodies,
posted to django-anymail's real tracking webhook (see tests/test_anymail.py).
"""

import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone
from wagtail.models import ModelLogEntry

from tests.conftest import make_staff_user
from tests.factories import ContactFactory
from tests.test_admin import make_flow
from tests.test_admin_enroll import live_flow
from tests.test_anymail import post_to_postmark_webhook, postmark_event
from wagtail_flows.emails import brake
from wagtail_flows.models import Flow, Message
from wagtail_flows.models.flows import FlowStatus

pytestmark = pytest.mark.django_db


def sent_emails(flow, count, *, ago=dt.timedelta(hours=1), transactional=False):
    now = timezone.now()
    contacts = ContactFactory.create_batch(count)
    Message.objects.bulk_create(
        Message(
            contact=contact,
            flow=flow,
            step_id="email",
            to_email=contact.email,
            status="sent",
            sent_at=now - ago,
            transactional=transactional,
        )
        for contact in contacts
    )
    return contacts


def complain(client, *contacts):
    for contact in contacts:
        event = postmark_event("SpamComplaint", "SpamComplaint", contact.email)
        assert post_to_postmark_webhook(client, event).status_code == 200


def bounce(client, *contacts, kind="HardBounce"):
    for contact in contacts:
        event = postmark_event("Bounce", kind, contact.email)
        assert post_to_postmark_webhook(client, event).status_code == 200


@pytest.fixture
def owner():
    return make_staff_user("owner", "activate_flow", "change_flow", "view_flow")


def test_a_burst_of_complaints_pauses_a_live_marketing_flow(
    client, owner, django_capture_on_commit_callbacks
):
    flow = live_flow()
    contacts = sent_emails(flow, 400)

    with django_capture_on_commit_callbacks(execute=True):
        complain(client, contacts[0])  # 1 in 400 = 0.25 %: under the limit
    assert Flow.objects.get(pk=flow.pk).status == FlowStatus.LIVE
    with django_capture_on_commit_callbacks(execute=True):
        complain(client, contacts[1])  # 2 in 400 = 0.5 %

    flow.refresh_from_db()
    assert flow.status == FlowStatus.PAUSED
    assert flow.pause_reason == (
        "Paused by the deliverability brake: 2 spam complaints for 400 emails sent "
        "(0.50 %, limit 0.3 %) in 7 days."
    )
    assert Message.objects.filter(flow=flow, complained_at__isnull=False).count() == 2
    [email] = mail.outbox
    assert email.to == ["owner@example.com"]
    assert email.subject == "Flow paused: Welcome"
    assert flow.pause_reason in email.body and f"/admin/flows/edit/{flow.pk}/" in email.body
    entry = ModelLogEntry.objects.filter(action="wagtail_flows.pause").get()
    assert entry.user is None and entry.data["reason"] == flow.pause_reason


def test_hard_bounces_pause_it_soft_ones_do_not_count(client, settings):
    flow = live_flow()
    contacts = sent_emails(flow, 200)
    bounce(client, *contacts[:20], kind="SoftBounce")
    assert Flow.objects.get(pk=flow.pk).status == FlowStatus.LIVE
    bounce(client, *contacts[20:29])  # 9 hard bounces in 200 = 4.5 %
    assert Flow.objects.get(pk=flow.pk).status == FlowStatus.LIVE
    bounce(client, contacts[29])  # 10 = 5 %
    flow.refresh_from_db()
    assert flow.status == FlowStatus.PAUSED and "10 hard bounces for 200" in flow.pause_reason


def test_too_few_emails_tell_too_little_to_brake(client):
    flow = live_flow()
    contacts = sent_emails(flow, 199)
    complain(client, *contacts[:5])
    assert Flow.objects.get(pk=flow.pk).status == FlowStatus.LIVE


def test_a_transactional_flow_keeps_going(client):
    flow = make_flow("Order receipts", status="live", kind="transactional")
    contacts = sent_emails(flow, 200, transactional=True)
    bounce(client, *contacts[:50])
    assert Flow.objects.get(pk=flow.pk).status == FlowStatus.LIVE


def test_only_the_window_counts(client):
    flow = live_flow()
    old = sent_emails(flow, 300, ago=dt.timedelta(days=8))
    complain(client, *old[:10])  # their emails went out before the window: no feedback kept
    assert not Message.objects.filter(complained_at__isnull=False).exists()
    recent = sent_emails(flow, 200)
    complain(client, recent[0])  # 1 in 200 = 0.5 % of the window's emails
    assert Flow.objects.get(pk=flow.pk).status == FlowStatus.PAUSED


def test_the_feedback_goes_to_the_last_email_the_address_was_sent(client):
    first, second = live_flow("First"), live_flow("Second")
    [contact] = sent_emails(first, 1, ago=dt.timedelta(days=2))
    Message.objects.create(
        contact=contact,
        flow=second,
        to_email=contact.email,
        status="sent",
        sent_at=timezone.now() - dt.timedelta(hours=1),
    )
    complain(client, contact)
    assert list(
        Message.objects.filter(complained_at__isnull=False).values_list("flow", flat=True)
    ) == [second.pk]


def test_after_a_person_resumes_it_the_brake_counts_afresh(client, owner):
    flow = live_flow()
    contacts = sent_emails(flow, 200)
    complain(client, contacts[0])
    flow.refresh_from_db()
    assert flow.status == FlowStatus.PAUSED

    client.force_login(owner)
    response = client.post(f"/admin/flows/{flow.pk}/resume/")
    assert response.status_code == 302
    flow.refresh_from_db()
    assert (flow.status, flow.pause_reason) == (FlowStatus.LIVE, "")
    assert flow.brake_reset_at is not None

    complain(client, contacts[1])  # feedback on an email sent before the resume
    assert Flow.objects.get(pk=flow.pk).status == FlowStatus.LIVE


def test_the_brake_can_be_turned_off(client, settings):
    settings.WAGTAIL_FLOWS = {**settings.WAGTAIL_FLOWS, "BRAKE_ENABLED": False}
    flow = live_flow()
    contacts = sent_emails(flow, 200)
    complain(client, *contacts[:10])
    assert Flow.objects.get(pk=flow.pk).status == FlowStatus.LIVE


def test_the_dashboard_says_which_flow_the_brake_paused_and_why(client, admin_client):
    flow = live_flow()
    contacts = sent_emails(flow, 200)
    complain(client, contacts[0])

    page = admin_client.get("/admin/").content.decode()
    assert f'data-braked="{flow.pk}"' in page
    assert "1 spam complaint for 200 emails sent" in page
    assert 'data-figure="complaint-rate">0.50 %' in page
    listing = admin_client.get("/admin/flows/").content.decode()
    assert Flow.objects.get(pk=flow.pk).pause_reason in listing


def test_a_person_who_pauses_gives_no_reason_and_resumes_without_reset(admin_client):
    flow = live_flow()
    admin_client.post(f"/admin/flows/{flow.pk}/pause/")
    flow.refresh_from_db()
    assert (flow.status, flow.pause_reason) == (FlowStatus.PAUSED, "")
    admin_client.post(f"/admin/flows/{flow.pk}/resume/")
    flow.refresh_from_db()
    assert flow.status == FlowStatus.LIVE and flow.brake_reset_at is None


def test_rates_read_like_the_dashboard(client):
    flow = make_flow("Unused")
    sent_emails(flow, 4)
    rates = brake.site_rates()
    assert (rates.sent, rates.complaints, rates.complaint_rate) == (4, 0, 0.0)


def test_emails_already_queued_wait_while_the_flow_is_paused(client, admin_client):
    from tests.factories import make_email_page
    from wagtail_flows.emails.delivery import deliver_due, deliver_message

    flow = live_flow()
    contacts = sent_emails(flow, 200)
    page = make_email_page("Tips")
    queued = Message.objects.create(
        contact=contacts[5], flow=flow, page=page, to_email=contacts[5].email
    )
    receipt = Message.objects.create(
        contact=contacts[6], flow=flow, page=page, to_email=contacts[6].email, transactional=True
    )
    complain(client, contacts[0])

    assert deliver_message(queued.pk) is None  # held, not lost
    assert deliver_message(receipt.pk) == "sent"
    assert deliver_due(now=timezone.now() + dt.timedelta(hours=1)) == {}
    assert Message.objects.get(pk=queued.pk).status == "queued"

    admin_client.post(f"/admin/flows/{flow.pk}/resume/")
    assert deliver_message(queued.pk) == "sent"


def test_complaints_spread_over_flows_brake_every_marketing_flow_of_the_site(client):
    first, second = live_flow("First"), live_flow("Second")
    make_flow("Receipts", status="live", kind="transactional")
    ones = sent_emails(first, 150)
    sent_emails(second, 150)  # each flow under the sample, together enough
    complain(client, ones[0])  # 1 of 300 the site sent: 0.33 %
    statuses = dict(Flow.objects.values_list("name", "status"))
    assert statuses == {"First": "paused", "Second": "paused", "Receipts": "live"}
    reason = Flow.objects.get(pk=second.pk).pause_reason
    assert reason.startswith("Paused by the deliverability brake (all the site's marketing")
    assert "1 spam complaint for 300 emails sent" in reason
