"""Sending at the right time: send windows in the contact's or the site's time zone (across
a daylight-saving change), "wait until", and the frequency cap that defers, never drops."""

import datetime as dt
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.factories import ContactFactory, make_email_page
from tests.test_engine_tree import executed, make_flow, run, start, step, tag
from wagtail_flows.engine import timing
from wagtail_flows.models import Flow, Message

UTC = dt.UTC
AMS = ZoneInfo("Europe/Amsterdam")
NYC = ZoneInfo("America/New_York")


def _window_flow(**fields):
    return Flow(send_window_start=dt.time(9, 0), send_window_end=dt.time(17, 0), **fields)


class _Contact:
    def __init__(self, tz=""):
        self.timezone = tz


def test_a_window_in_the_contacts_time_zone_opens_at_their_nine_oclock():
    flow = _window_flow(send_window_timezone="contact")
    now = dt.datetime(2026, 6, 1, 5, 0, tzinfo=UTC)  # 07:00 Amsterdam, 01:00 New York
    assert timing.next_send_time(flow, _Contact("Europe/Amsterdam"), now) == dt.datetime(
        2026, 6, 1, 7, 0, tzinfo=UTC
    )
    assert timing.next_send_time(flow, _Contact("America/New_York"), now) == dt.datetime(
        2026, 6, 1, 13, 0, tzinfo=UTC
    )
    inside = dt.datetime(2026, 6, 1, 14, 0, tzinfo=UTC)  # 16:00 Amsterdam, 10:00 NY
    assert timing.next_send_time(flow, _Contact("America/New_York"), inside) == inside
    assert timing.next_send_time(flow, _Contact("Europe/Amsterdam"), inside) == inside


def test_a_window_keeps_local_time_across_the_dst_change():
    flow = _window_flow(send_window_timezone="site")
    # Saturday 28 March 2026, 18:00 Amsterdam (CET, UTC+1): closed until Sunday 09:00 CEST.
    before = dt.datetime(2026, 3, 28, 17, 0, tzinfo=UTC)
    opens = timing.next_send_time(flow, _Contact(), before)
    assert opens.astimezone(AMS).replace(tzinfo=None) == dt.datetime(2026, 3, 29, 9, 0)
    assert opens == dt.datetime(2026, 3, 29, 7, 0, tzinfo=UTC)  # UTC+2 from now on
    # And back in autumn: Sunday 25 October 09:00 is UTC+1 again.
    autumn = dt.datetime(2026, 10, 24, 20, 0, tzinfo=UTC)
    assert timing.next_send_time(flow, _Contact(), autumn) == dt.datetime(
        2026, 10, 25, 8, 0, tzinfo=UTC
    )


def test_a_window_that_crosses_midnight_and_weekdays_only():
    night = Flow(send_window_start=dt.time(22, 0), send_window_end=dt.time(6, 0))
    late = dt.datetime(2026, 6, 1, 23, 30, tzinfo=UTC)  # 01:30 Amsterdam: open
    assert timing.next_send_time(night, _Contact(), late) == late
    workdays = Flow(send_weekdays=[0, 1, 2, 3, 4], send_window_start=dt.time(9, 0))
    saturday = dt.datetime(2026, 6, 6, 12, 0, tzinfo=UTC)
    opens = timing.next_send_time(workdays, _Contact(), saturday).astimezone(AMS)
    assert (opens.weekday(), opens.hour) == (0, 9)


def test_a_local_time_in_the_spring_gap_moves_to_the_first_valid_instant():
    instant = timing.local_instant(dt.date(2026, 3, 29), dt.time(2, 30), AMS)
    assert instant.astimezone(AMS).replace(tzinfo=None) == dt.datetime(2026, 3, 29, 3, 30)


def test_wait_until_the_next_weekday_morning_in_the_contacts_zone():
    wait_step = _Step(time=dt.time(11, 0), weekdays=["1", "3"], timezone="contact")
    monday_noon = dt.datetime(2026, 6, 1, 16, 0, tzinfo=UTC)  # 12:00 in New York
    until = timing.wait_until_time(wait_step, _Contact("America/New_York"), {}, monday_noon)
    assert until.astimezone(NYC).replace(tzinfo=None) == dt.datetime(2026, 6, 2, 11, 0)


def test_wait_until_a_date_from_the_event_minus_a_day():
    wait_step = _Step(
        time=dt.time(9, 0),
        timezone="site",
        date_source="context",
        date_key="event_date",
        offset_days=-1,
    )
    context = {"event": {"event_date": "2026-07-10"}}
    now = dt.datetime(2026, 6, 1, tzinfo=UTC)
    until = timing.wait_until_time(wait_step, _Contact(), context, now)
    assert until.astimezone(AMS).replace(tzinfo=None) == dt.datetime(2026, 7, 9, 9, 0)


class _Step(dict):
    def get(self, name, default=None):
        return super().get(name, default)


# --- through the engine ------------------------------------------------------------------


@pytest.mark.django_db
def test_a_send_outside_the_window_is_deferred_to_the_window(contact):
    contact.timezone = "America/New_York"
    contact.save()
    page = make_email_page()
    flow = make_flow(
        [step("send_email", "s", page=page.pk)],
        send_window_start=dt.time(9, 0),
        send_window_end=dt.time(17, 0),
    )
    early = dt.datetime(2026, 6, 1, 5, 0, tzinfo=UTC)  # 01:00 in New York
    enrollment = run(start(flow, contact, now=early), early)
    assert enrollment.status == "waiting" and enrollment.current_step == "s"
    assert enrollment.next_run_at == dt.datetime(2026, 6, 1, 13, 0, tzinfo=UTC)
    assert not Message.objects.exists()
    enrollment = run(enrollment, enrollment.next_run_at)
    assert enrollment.status == "completed"
    assert Message.objects.get().created_at == dt.datetime(2026, 6, 1, 13, 0, tzinfo=UTC)


@pytest.mark.django_db
def test_wait_until_through_the_engine(contact):
    flow = make_flow(
        [step("wait_until", "wu", time="11:00:00", weekdays=[], timezone="site"), tag("t", "t")]
    )
    now = dt.datetime(2026, 6, 1, 12, 0, tzinfo=UTC)  # 14:00 in Amsterdam
    enrollment = run(start(flow, contact, now=now), now)
    assert enrollment.next_run_at == dt.datetime(2026, 6, 2, 9, 0, tzinfo=UTC)
    enrollment = run(enrollment, enrollment.next_run_at)
    assert executed(enrollment) == ["wu", "t"]


@pytest.mark.django_db
def test_the_frequency_cap_defers_a_marketing_email_and_never_drops_it(settings):
    settings.WAGTAIL_FLOWS = {"MAX_EMAILS_PER_DAY": 2, "MAX_EMAILS_PER_WEEK": 3}
    contact = ContactFactory()
    page = make_email_page()
    flows = [make_flow([step("send_email", f"s{i}", page=page.pk)]) for i in range(4)]
    t0 = dt.datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
    times = [t0, t0 + timedelta(hours=1)]
    for flow, at in zip(flows[:2], times, strict=True):
        assert run(start(flow, contact, now=at), at).status == "completed"
    third = run(start(flows[2], contact, now=times[1]), times[1])
    assert third.status == "waiting"
    assert third.next_run_at == t0 + timedelta(days=1)  # when the first one is 24 h old
    third = run(third, third.next_run_at)
    assert third.status == "completed"
    fourth = run(start(flows[3], contact, now=t0 + timedelta(days=2)), t0 + timedelta(days=2))
    assert fourth.status == "waiting"
    assert fourth.next_run_at == t0 + timedelta(days=7)  # the weekly cap of 3
    assert Message.objects.count() == 3


@pytest.mark.django_db
def test_transactional_flows_skip_the_frequency_cap(settings):
    settings.WAGTAIL_FLOWS = {"MAX_EMAILS_PER_DAY": 1, "MAX_EMAILS_PER_WEEK": None}
    contact = ContactFactory()
    page = make_email_page()
    t0 = dt.datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
    for index in range(3):
        flow = make_flow([step("send_email", "s", page=page.pk)], kind="transactional")
        assert run(start(flow, contact, now=t0), t0).status == "completed", index
    assert Message.objects.filter(transactional=True).count() == 3
    marketing = make_flow([step("send_email", "s", page=page.pk)])
    assert run(start(marketing, contact, now=t0), t0).status == "completed"
    second = make_flow([step("send_email", "s", page=page.pk)])
    assert run(start(second, contact, now=t0), t0).status == "waiting"
