"""Send windows through the whole engine on the night the clocks change: a contact enters a
flow through the sweep in the evening, waits for the window, and the email leaves when the
sweep finds it due at nine o'clock *local* time — in one time zone and in two at once."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core import mail

from tests.factories import ContactFactory, make_email_page
from tests.test_engine_tree import make_flow, step
from wagtail_flows.engine.sweeps import run_sweep
from wagtail_flows.models import Message

pytestmark = pytest.mark.django_db

UTC = dt.UTC
SWEEP_EVERY = dt.timedelta(minutes=10)


def _morning_email_flow():
    """Re-engagement of quiet contacts; the email goes out 09:00–17:00 in their time zone."""
    return make_flow(
        [step("send_email", "s1", page=make_email_page().pk)],
        triggers=[{"type": "inactive", "value": {"days": 30, "activity": "any"}, "id": "trg"}],
        send_window_start=dt.time(9, 0),
        send_window_end=dt.time(17, 0),
        send_window_timezone="contact",
    )


def _quiet_contact(zone, since):
    return ContactFactory(
        timezone=zone,
        created_at=since - dt.timedelta(days=400),
        last_activity_at=since - dt.timedelta(days=40),
    )


def sweep_every_ten_minutes(start, end, capture_on_commit):
    """Run the sweep as the schedule would, from ``start`` to ``end``; returns when each
    address received its email (the clock of the sweep that sent it)."""
    sent_at, clock = {}, start
    while clock <= end:
        with capture_on_commit(execute=True):
            run_sweep(now=clock)
        for email in mail.outbox[len(sent_at) :]:
            sent_at[email.to[0]] = clock
        clock += SWEEP_EVERY
    return sent_at


def _local(instant, zone):
    return instant.astimezone(ZoneInfo(zone)).replace(tzinfo=None)


@pytest.mark.parametrize(
    "zone, evening, nine_oclock_utc",
    [
        # Europe, spring: at 02:00 on Sunday 29 March 2026 clocks go to 03:00 (UTC+1 → +2).
        ("Europe/Amsterdam", dt.datetime(2026, 3, 28, 21, 0), dt.datetime(2026, 3, 29, 7, 0)),
        # Europe, autumn: at 03:00 on Sunday 26 October 2025 clocks go back to 02:00.
        ("Europe/Amsterdam", dt.datetime(2025, 10, 25, 20, 0), dt.datetime(2025, 10, 26, 8, 0)),
        # United States, spring: Sunday 8 March 2026 (UTC−5 → −4).
        ("America/New_York", dt.datetime(2026, 3, 8, 3, 0), dt.datetime(2026, 3, 8, 13, 0)),
    ],
)
def test_the_email_waits_for_nine_oclock_local_time_on_the_night_the_clocks_change(
    zone, evening, nine_oclock_utc, django_capture_on_commit_callbacks
):
    evening, nine_oclock_utc = evening.replace(tzinfo=UTC), nine_oclock_utc.replace(tzinfo=UTC)
    _morning_email_flow()
    contact = _quiet_contact(zone, evening)

    sent_at = sweep_every_ten_minutes(
        evening, nine_oclock_utc + dt.timedelta(hours=2), django_capture_on_commit_callbacks
    )

    assert sent_at == {contact.email: nine_oclock_utc}
    assert _local(sent_at[contact.email], zone) == _local(nine_oclock_utc, zone)
    assert _local(nine_oclock_utc, zone).time() == dt.time(9, 0)
    # The evening before, nine o'clock was at another UTC hour: the change was honoured.
    day_before = nine_oclock_utc - dt.timedelta(days=1)
    assert _local(day_before, zone).time() != dt.time(9, 0)
    message = Message.objects.get(contact=contact)
    assert (message.status, message.created_at) == ("sent", nine_oclock_utc)


def test_two_contacts_in_two_time_zones_each_get_the_email_at_their_nine_oclock(
    django_capture_on_commit_callbacks,
):
    # The night New York moves to summer time; Amsterdam changes three weeks later.
    evening = dt.datetime(2026, 3, 7, 23, 0, tzinfo=UTC)  # 00:00 Amsterdam, 18:00 New York
    _morning_email_flow()
    amsterdam = _quiet_contact("Europe/Amsterdam", evening)
    new_york = _quiet_contact("America/New_York", evening)

    sent_at = sweep_every_ten_minutes(
        evening, dt.datetime(2026, 3, 8, 15, 0, tzinfo=UTC), django_capture_on_commit_callbacks
    )

    assert sent_at == {
        amsterdam.email: dt.datetime(2026, 3, 8, 8, 0, tzinfo=UTC),  # 09:00 CET
        new_york.email: dt.datetime(2026, 3, 8, 13, 0, tzinfo=UTC),  # 09:00 EDT, was EST
    }
    assert _local(sent_at[amsterdam.email], "Europe/Amsterdam").time() == dt.time(9, 0)
    assert _local(sent_at[new_york.email], "America/New_York").time() == dt.time(9, 0)
