"""Birthdays and anniversaries: a date trigger set to *every year* fires when the day and month
come round — 30 years after the birth date too — once a year, in the contact's time zone, on
28 February for a 29 February date in other years, at a constant number of queries."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import ContactFactory
from tests.test_sweeps import enrolled_emails, make_flow
from wagtail_flows.engine import sweep_triggers
from wagtail_flows.engine.sweeps import run_sweep
from wagtail_flows.models import Enrollment, Flow
from wagtail_flows.models.enrollments import EnrollmentStatus

pytestmark = pytest.mark.django_db

UTC = dt.UTC


@pytest.fixture(autouse=True)
def site_in_amsterdam(settings):
    settings.WAGTAIL_FLOWS = {
        **settings.WAGTAIL_FLOWS,
        "SITE_TIMEZONE": "Europe/Amsterdam",
        "DATE_REACHED_LOOKBACK_DAYS": 2,
    }


def birthday_flow(offset_days=0, direction="before", **fields):
    value = {
        "date_source": "property",
        "property_name": "birth_date",
        "offset_days": offset_days,
        "direction": direction,
        "every_year": True,
    }
    return make_flow("Birthday", triggers=[("date_reached", value)], **fields)


def born(day, **fields):
    return ContactFactory(properties={"birth_date": day}, **fields)


def at(*args):
    """Noon in Amsterdam, as the sweep's clock."""
    return dt.datetime(*args, 12, 0, tzinfo=ZoneInfo("Europe/Amsterdam"))


def test_a_birthday_thirty_years_ago_fires_on_the_day_once_a_year():
    flow = birthday_flow()
    ann = born("1996-12-03")
    born("1996-12-05")  # not yet
    born("1990-06-01")

    assert run_sweep(now=at(2026, 12, 2))["enrolled"]["date_reached"] == 0
    assert run_sweep(now=at(2026, 12, 3))["enrolled"]["date_reached"] == 1
    run = Enrollment.objects.get(flow=flow)
    assert run.contact == ann
    assert (run.context["date_reached"], run.context["date_year"]) == ("1996-12-03", 2026)
    assert run_sweep(now=at(2026, 12, 4))["enrolled"]["date_reached"] == 0  # once this year

    Enrollment.objects.filter(pk=run.pk).update(status=EnrollmentStatus.COMPLETED)
    Flow.objects.filter(pk=flow.pk).update(reentry="after_exit")
    assert run_sweep(now=at(2027, 12, 3))["enrolled"]["date_reached"] == 1  # next year again
    assert Enrollment.objects.filter(flow=flow).latest("pk").context["date_year"] == 2027


def test_a_reminder_three_days_before_an_anniversary():
    flow = birthday_flow(offset_days=3)
    ann = born("2019-01-02")

    run_sweep(now=at(2026, 12, 30))  # 2 January 2027 is in three days
    runs = Enrollment.objects.filter(flow=flow)
    assert [r.contact for r in runs] == [ann]
    assert runs.get().context["date_year"] == 2027


def test_the_29th_of_february_falls_on_the_28th_in_other_years():
    flow = birthday_flow()
    leap = born("2000-02-29")

    run_sweep(now=at(2027, 2, 27))
    assert not enrolled_emails(flow)
    run_sweep(now=at(2027, 2, 28))
    assert enrolled_emails(flow) == {leap.email}
    assert Enrollment.objects.get(flow=flow).context["date_year"] == 2027


def test_in_a_leap_year_the_29th_waits_for_its_own_day():
    flow = birthday_flow()
    born("2000-02-29")
    run_sweep(now=at(2028, 2, 28))
    assert not enrolled_emails(flow)
    run_sweep(now=at(2028, 2, 29))
    assert len(enrolled_emails(flow)) == 1


def test_it_is_the_birthday_where_the_contact_lives():
    flow = birthday_flow()
    auckland = born("1990-07-10", timezone="Pacific/Auckland")
    los_angeles = born("1990-07-10", timezone="America/Los_Angeles")
    nowhere = born("1990-07-10", timezone="Mars/Olympus")  # unknown: the site's zone

    # 9 July, 14:00 UTC: already the 10th in Auckland (02:00), still the 9th in Amsterdam
    # (16:00) and in Los Angeles (07:00).
    run_sweep(now=dt.datetime(2026, 7, 9, 14, 0, tzinfo=UTC))
    assert enrolled_emails(flow) == {auckland.email}

    # 10 July, 06:00 UTC: the 10th in Amsterdam, still the 9th in Los Angeles (23:00).
    run_sweep(now=dt.datetime(2026, 7, 10, 6, 0, tzinfo=UTC))
    assert enrolled_emails(flow) == {auckland.email, nowhere.email}

    run_sweep(now=dt.datetime(2026, 7, 10, 8, 0, tzinfo=UTC))
    assert enrolled_emails(flow) == {auckland.email, nowhere.email, los_angeles.email}


def test_a_corrected_birth_date_ends_the_run_for_the_old_one():
    flow = birthday_flow(offset_days=5, reentry="after_exit")
    ann = born("1985-03-20")
    run_sweep(now=at(2026, 3, 15))
    first = Enrollment.objects.get(flow=flow)

    ann.properties = {"birth_date": "1985-04-20"}
    ann.save()
    run_sweep(now=at(2026, 3, 16))
    first.refresh_from_db()
    assert (first.status, first.exit_reason) == (EnrollmentStatus.EXITED, "date changed")


def test_the_yearly_trigger_costs_the_same_queries_for_3_or_30_contacts():
    def queries_for(count, day):
        flow = birthday_flow()
        for zone in ("Europe/Paris", "Asia/Tokyo", ""):
            for _ in range(count // 3):
                born(f"1980-{day}", timezone=zone)
        triggers = [(flow, list(flow.triggers))]
        with CaptureQueriesContext(connection) as captured:
            fired = sweep_triggers.fire(triggers, at(2026, *map(int, day.split("-"))))
        flow.delete()
        return fired["date_reached"], len(captured)

    few = queries_for(3, "05-17")
    many = queries_for(30, "08-09")
    assert (few[0], many[0]) == (3, 30)
    assert few[1] == many[1]


def test_the_trigger_says_every_year_in_plain_words():
    from wagtail_flows.flows.describe import describe

    flow = birthday_flow(offset_days=3)
    assert describe(flow.triggers[0]) == "3 days before birth_date, every year"
