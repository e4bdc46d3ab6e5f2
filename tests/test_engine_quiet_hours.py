"""Quiet hours and a flow's own frequency cap hold marketing emails — never drop them — in the
contact's time zone; transactional flows are exempt; the report and the tester say how many
were held and why."""

import datetime as dt
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from tests.factories import ContactFactory, make_email_page
from tests.test_engine_tree import make_flow, run, start, step
from wagtail_flows.engine.simulate import simulate
from wagtail_flows.models import Message
from wagtail_flows.reports.queries import flow_report

pytestmark = pytest.mark.django_db

UTC = dt.UTC
AMS = ZoneInfo("Europe/Amsterdam")


@pytest.fixture
def quiet_nights(settings):
    settings.WAGTAIL_FLOWS = {
        **settings.WAGTAIL_FLOWS,
        "SITE_TIMEZONE": "Europe/Amsterdam",
        "QUIET_HOURS": ("21:00", "08:00"),
        "MAX_EMAILS_PER_DAY": None,
        "MAX_EMAILS_PER_WEEK": None,
    }


def one_email_flow(**fields):
    return make_flow([step("send_email", "s", page=make_email_page().pk)], **fields)


def test_an_email_due_at_night_waits_for_the_morning_in_the_contacts_zone(quiet_nights):
    flow = one_email_flow()
    tokyo = ContactFactory(timezone="Asia/Tokyo")
    site = ContactFactory()  # no zone: the site's (Amsterdam)
    at = dt.datetime(2026, 6, 1, 13, 0, tzinfo=UTC)  # 22:00 in Tokyo, 15:00 in Amsterdam

    held = run(start(flow, tokyo, now=at), at)
    assert (held.status, held.held_reason) == ("waiting", "quiet_hours")
    assert held.next_run_at == dt.datetime(2026, 6, 1, 23, 0, tzinfo=UTC)  # 08:00 Tokyo
    assert not Message.objects.filter(contact=tokyo).exists()
    assert run(start(flow, site, now=at), at).status == "completed"

    sent = run(held, held.next_run_at)
    assert (sent.status, sent.held_reason) == ("completed", "")
    assert Message.objects.get(contact=tokyo).held_reason == "quiet_hours"


def test_quiet_hours_end_at_eight_across_the_clock_change(quiet_nights):
    contact = ContactFactory(timezone="Europe/Amsterdam")
    night = dt.datetime(2027, 3, 27, 23, 30, tzinfo=AMS)  # the night clocks go forward
    from wagtail_flows.engine import timing

    assert timing.quiet_hours_end(contact, night) == dt.datetime(2027, 3, 28, 8, 0, tzinfo=AMS)
    assert timing.quiet_hours_end(contact, dt.datetime(2027, 3, 28, 9, 0, tzinfo=AMS)) is None


def test_transactional_emails_go_out_at_night(quiet_nights):
    flow = one_email_flow(kind="transactional")
    at = dt.datetime(2026, 6, 1, 23, 0, tzinfo=AMS)
    assert run(start(flow, ContactFactory(), now=at), at).status == "completed"


def test_a_flows_own_cap_holds_its_third_email_within_a_week(settings):
    settings.WAGTAIL_FLOWS = {**settings.WAGTAIL_FLOWS, "MAX_EMAILS_PER_DAY": None}
    page = make_email_page()
    flow = make_flow(
        [step("send_email", f"s{i}", page=page.pk) for i in range(3)],
        cap_emails=2,
        cap_days=7,
    )
    other = make_flow([step("send_email", "o", page=page.pk)])
    contact = ContactFactory()
    t0 = dt.datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
    assert run(start(other, contact, now=t0), t0).status == "completed"  # not this flow's

    held = run(start(flow, contact, now=t0), t0)
    assert (held.status, held.held_reason) == ("waiting", "flow_cap")
    assert held.next_run_at == t0 + timedelta(days=7)
    assert Message.objects.filter(flow=flow).count() == 2

    report = flow_report(flow)
    third = next(row for row in report.steps if row.id == "s2")
    assert (third.holding, third.held_first) == (1, {})

    run(held, held.next_run_at)
    assert Message.objects.filter(flow=flow).count() == 3
    third = next(row for row in flow_report(flow).steps if row.id == "s2")
    assert (third.holding, third.held_first) == (0, {"the flow's frequency cap": 1})


def test_the_report_page_says_how_many_were_held(quiet_nights, admin_client):
    flow = one_email_flow()
    yesterday = timezone.localdate(timezone=AMS) - timedelta(days=1)
    night = dt.datetime.combine(yesterday, dt.time(23, 0), tzinfo=AMS)  # in the report's range
    for _ in range(2):
        held = run(start(flow, ContactFactory(), now=night), night)
        run(held, held.next_run_at)
    run(start(flow, ContactFactory(), now=night), night)

    page = admin_client.get(f"/admin/flows/reports/{flow.pk}/").content.decode()
    assert "2 held first by quiet hours" in page
    assert "1 held now" in page


def test_the_tester_shows_the_hold(quiet_nights):
    flow = one_email_flow()
    night = dt.datetime(2026, 6, 1, 23, 0, tzinfo=AMS)
    path = simulate(flow, start=night, until=timedelta(days=1))
    held = [s for s in path if s.outcome == "held by quiet hours"]
    assert held and held[0].until == dt.datetime(2026, 6, 2, 8, 0, tzinfo=AMS)
