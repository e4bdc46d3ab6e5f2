"""The sweep's time-based parts cost the same queries for 5 contacts as for 50: triggers
enroll in bulk, flow-ended and stale-date exits finish in bulk."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_q.models import OrmQ

from tests.factories import ContactFactory
from tests.test_sweeps import NOW, WAIT_A_WEEK, make_flow, queue_for_real  # noqa: F401
from wagtail_flows.engine.sweeps import run_sweep
from wagtail_flows.models import Contact, Enrollment, Event, Flow
from wagtail_flows.models.contacts import EventKind

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("queue_for_real")]

LONG_AGO = NOW - timedelta(days=400)
RENEWAL = {
    "date_source": "property",
    "property_name": "renewal_date",
    "offset_days": 3,
    "direction": "before",
}


def _renewal_in(days):
    return {"renewal_date": (timezone.localdate(NOW) + timedelta(days=days)).isoformat()}


def quiet_contacts(count):
    make_flow(triggers=[("inactive", {"days": 30})], entry_conditions=[("is_subscribed", None)])
    ContactFactory.create_batch(
        count, created_at=LONG_AGO, last_activity_at=NOW - timedelta(days=40)
    )
    return "inactive", count


def frequent_visitors(count):
    make_flow(triggers=[("engagement", {"min_visits": 3, "within_days": 7})])
    Event.objects.bulk_create(
        Event(contact=contact, kind=EventKind.PAGE_VIEWED, created_at=NOW - timedelta(days=1))
        for contact in ContactFactory.create_batch(count)
        for _ in range(3)
    )
    return "engagement", count


def renewals_in_three_days(count):
    make_flow(triggers=[("date_reached", RENEWAL)])
    ContactFactory.create_batch(count, properties=_renewal_in(3))
    return "date_reached", count


def abandoned_carts(count):
    make_flow(triggers=[("cart_abandoned", {"after_hours": 4})], reentry="always")
    Event.objects.bulk_create(
        Event(
            contact=contact,
            kind=EventKind.CART_UPDATED,
            object_id=f"cart-{contact.pk}",
            value=Decimal("20.00"),
            created_at=NOW - timedelta(hours=6),
        )
        for contact in ContactFactory.create_batch(count)
    )
    return "cart_abandoned", count


def _waiting_in(flow, contacts, **fields):
    Enrollment.objects.bulk_create(
        Enrollment(
            flow=flow,
            contact=contact,
            status="waiting",
            current_step="w",
            next_run_at=NOW + timedelta(days=3),
            enrolled_at=NOW - timedelta(days=1),
            **fields,
        )
        for contact in contacts
    )


def runs_of_an_ended_flow(count):
    flow = make_flow(steps=[WAIT_A_WEEK], ends_at=NOW - timedelta(hours=1))
    _waiting_in(flow, ContactFactory.create_batch(count))
    return "ended_flows_exited", count


def runs_for_a_moved_date(count):
    flow = make_flow(triggers=[("date_reached", RENEWAL)], steps=[WAIT_A_WEEK])
    rescheduled = ContactFactory.create_batch(count, properties=_renewal_in(40))
    _waiting_in(flow, rescheduled, context={"date_reached": "2000-01-01"})
    return "date changed", count


SCENARIOS = [
    quiet_contacts,
    frequent_visitors,
    renewals_in_three_days,
    abandoned_carts,
    runs_of_an_ended_flow,
    runs_for_a_moved_date,
]


def _outcome(report, what):
    if what == "ended_flows_exited":
        return report[what]
    if what == "date changed":
        return Enrollment.objects.filter(exit_reason="date changed").count()
    return report["enrolled"][what]


def _clear():
    for model in (Flow, Contact, Event, OrmQ):
        model.objects.all().delete()


def _sweep(capture_on_commit):
    with capture_on_commit(execute=True):
        return run_sweep(now=NOW)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.__name__)
def test_a_sweep_costs_the_same_queries_for_5_or_50_contacts(
    scenario, django_assert_num_queries, django_capture_on_commit_callbacks
):
    what, count = scenario(5)
    with CaptureQueriesContext(connection) as five:
        report = _sweep(django_capture_on_commit_callbacks)
    assert _outcome(report, what) == count
    _clear()

    what, count = scenario(50)
    with django_assert_num_queries(len(five)):
        report = _sweep(django_capture_on_commit_callbacks)

    assert _outcome(report, what) == count
