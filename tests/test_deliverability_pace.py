"""The pace: marketing emails an hour (overall, per recipient domain) and a warm-up ramp.

Emails go through the real delivery path (``deliver_message`` and the sweep's
``deliver_due``) into Django's test outbox; the clock is moved by passing ``now``.
"""

import datetime as dt

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import ContactFactory, make_email_page
from tests.test_admin_enroll import live_flow
from wagtail_flows.emails import pace
from wagtail_flows.emails.delivery import deliver_due, deliver_message
from wagtail_flows.models import Message
from wagtail_flows.reports import queries as reports

pytestmark = pytest.mark.django_db

HOUR = dt.timedelta(hours=1)


@pytest.fixture
def paced(settings):
    def set_pace(**limits):
        settings.WAGTAIL_FLOWS = {**settings.WAGTAIL_FLOWS, **limits}

    return set_pace


@pytest.fixture
def page():
    return make_email_page("Tips")


def queue(page, *emails, flow=None, transactional=False):
    messages = []
    for email in emails:
        contact = ContactFactory(email=email)
        messages.append(
            Message.objects.create(
                contact=contact,
                page=page,
                flow=flow,
                step_id="email",
                to_email=email,
                transactional=transactional,
            )
        )
    return messages


def outbox():
    return [email.to[0] for email in mail.outbox]


def test_over_the_hourly_limit_emails_wait_and_leave_oldest_first_exactly_once(paced, page):
    paced(PACE_PER_HOUR=2)
    now = timezone.now()
    a, b, c, d = queue(page, "a@x.example", "b@x.example", "c@x.example", "d@x.example")

    assert [deliver_message(m.pk, now=now) for m in (a, b, c, d)] == [
        "sent",
        "sent",
        "queued",
        "queued",
    ]
    assert outbox() == ["a@x.example", "b@x.example"]
    held = Message.objects.get(pk=c.pk)
    first_sent = Message.objects.get(pk=a.pk).sent_at
    assert held.paced_at == now and held.send_after == first_sent + HOUR
    assert deliver_due(now=now + dt.timedelta(minutes=30)) == {}  # not yet

    later = now + HOUR + dt.timedelta(minutes=1)
    deliver_due(now=later)
    deliver_due(now=later)
    assert outbox() == ["a@x.example", "b@x.example", "c@x.example", "d@x.example"]
    assert sorted(Message.objects.values_list("status", flat=True)) == ["sent"] * 4


def test_a_new_email_does_not_jump_ahead_of_the_held_ones(paced, page, monkeypatch):
    paced(PACE_PER_HOUR=1)
    clock = [timezone.now()]
    monkeypatch.setattr(timezone, "now", lambda: clock[0])  # every timezone.now() travels
    first, second = queue(page, "a@x.example", "b@x.example")
    deliver_message(first.pk)
    deliver_message(second.pk)  # held an hour
    clock[0] += 2 * HOUR
    [newcomer] = queue(page, "new@x.example")

    assert deliver_message(newcomer.pk) == "queued"  # the held one goes first
    deliver_due()
    assert outbox() == ["a@x.example", "b@x.example"]
    clock[0] += 2 * HOUR
    deliver_due()
    assert outbox() == ["a@x.example", "b@x.example", "new@x.example"]


def test_each_recipient_domain_has_its_own_hourly_limit(paced, page):
    paced(PACE_PER_DOMAIN_PER_HOUR=1)
    now = timezone.now()
    messages = queue(page, "a@gmail.com", "b@GMAIL.com", "c@yahoo.com")
    statuses = [deliver_message(m.pk, now=now) for m in messages]
    assert statuses == ["sent", "queued", "sent"]
    assert outbox() == ["a@gmail.com", "c@yahoo.com"]


def test_transactional_emails_are_never_held(paced, page):
    paced(PACE_PER_HOUR=1)
    now = timezone.now()
    [marketing] = queue(page, "a@x.example")
    receipts = queue(page, "b@x.example", "c@x.example", transactional=True)
    deliver_message(marketing.pk, now=now)
    assert [deliver_message(m.pk, now=now) for m in receipts] == ["sent", "sent"]


def test_a_warm_up_allows_more_each_day_then_ends(paced, page):
    today = timezone.localdate()
    paced(WARMUP_START=today.isoformat(), WARMUP_FIRST_DAY=2, WARMUP_GROWTH=2, WARMUP_UNTIL=8)
    now = timezone.now()
    day_one = queue(page, *(f"d1-{i}@x.example" for i in range(3)))
    assert [deliver_message(m.pk, now=now) for m in day_one] == ["sent", "sent", "queued"]

    tomorrow = now + dt.timedelta(days=1, minutes=1)
    assert pace.warmup_limit(tomorrow) == 4
    assert pace.warmup_limit(now + dt.timedelta(days=2)) is None  # 8 a day: the ramp is over
    assert pace.warmup_limit(now - dt.timedelta(days=1)) is None  # not started yet


def test_with_no_limit_delivery_asks_nothing_more(page, paced):
    warm, baseline, paced_one = queue(page, "w@x.example", "a@x.example", "b@x.example")
    deliver_message(warm.pk)  # renders the page into the cache
    with CaptureQueriesContext(connection) as off:
        deliver_message(baseline.pk)
    paced(PACE_PER_HOUR=100)
    with CaptureQueriesContext(connection) as on:
        deliver_message(paced_one.pk)
    assert len(on.captured_queries) == len(off.captured_queries) + 2  # out this hour; held


def test_the_report_shows_how_many_the_pace_holds(paced, page, admin_client):
    paced(PACE_PER_HOUR=1)
    flow = live_flow()
    step_id = flow.steps[0].id
    for message in queue(page, "a@x.example", "b@x.example", "c@x.example", flow=flow):
        Message.objects.filter(pk=message.pk).update(step_id=step_id)
        deliver_message(message.pk)

    [row] = [s for s in reports.flow_report(flow).steps if s.id == step_id]
    assert (row.sent, row.held) == (1, 2)
    page = admin_client.get(f"/admin/flows/reports/{flow.pk}/", {"range": "all"})
    assert '<span class="wf-rate" data-figure="held">(2 held by the pace)</span>' in (
        page.content.decode()
    )
