"""The sweep: due contacts advance, lost dispatches recover, time-based triggers fire."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_q.models import OrmQ
from django_q.signing import SignedPackage

from tests.factories import ContactFactory
from wagtail_flows.engine.dispatch import enroll
from wagtail_flows.engine.sweeps import run_sweep
from wagtail_flows.models import Enrollment, Event, Flow
from wagtail_flows.models.contacts import EventKind
from wagtail_flows.models.enrollments import EnrollmentStatus

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=0)
WAIT_A_WEEK = ("wait", {"amount": 7, "unit": "days"})


def make_flow(name="Flow", triggers=(), steps=(WAIT_A_WEEK,), **fields):
    fields.setdefault("status", "live")
    fields.setdefault("activated_at", NOW - timedelta(days=90))
    fields.setdefault("created_at", NOW - timedelta(days=90))
    flow = Flow(name=name, triggers=list(triggers), steps=list(steps), **fields)
    flow.save()
    return flow


def tag_names(contact):
    return list(contact.tagged_items.values_list("tag__name", flat=True))


def enrolled_emails(flow):
    return set(Enrollment.objects.filter(flow=flow).values_list("contact__email", flat=True))


def run_queued_tasks(only=None):
    """Run what the sweep handed to the ORM broker, as a cluster's worker would (``only``:
    tasks of this function, leaving the others queued)."""
    from django.utils.module_loading import import_string

    for queued in OrmQ.objects.order_by("pk"):
        task = SignedPackage.loads(queued.payload)
        func = task["func"]
        if only is not None and func != only:
            continue
        func = import_string(func) if isinstance(func, str) else func
        func(*task["args"], **task["kwargs"])
        queued.delete()


@pytest.fixture
def queue_for_real(monkeypatch):
    """Tasks go to the ORM broker instead of running inline (the production path), also
    when this run's clusters use Redis."""
    from django_q.brokers.orm import ORM
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", False)
    monkeypatch.setattr("django_q.tasks.get_broker", lambda *args: ORM(list_key=Conf.PREFIX))


# --- due enrollments ---------------------------------------------------------------------------


def test_contacts_whose_wait_ended_are_advanced_by_the_sweep():
    flow = make_flow(steps=[("add_tag", {"tag": "welcomed"})])
    ann = ContactFactory(email="ann@example.com")
    enroll(flow, ann, now=NOW)

    report = run_sweep(now=NOW)

    assert report["advanced"] == 1
    run = Enrollment.objects.get(flow=flow, contact=ann)
    assert run.status == EnrollmentStatus.COMPLETED
    assert tag_names(ann) == ["welcomed"]


def test_a_contact_still_waiting_is_left_alone():
    flow = make_flow(steps=[WAIT_A_WEEK, ("add_tag", {"tag": "later"})])
    ann = ContactFactory()
    enroll(flow, ann, now=NOW)
    run_sweep(now=NOW)

    report = run_sweep(now=NOW + timedelta(days=6))

    assert report["advanced"] == 0
    assert Enrollment.objects.get(contact=ann).status == EnrollmentStatus.WAITING
    run_sweep(now=NOW + timedelta(days=7, minutes=1))
    assert Enrollment.objects.get(contact=ann).status == EnrollmentStatus.COMPLETED


def _due(flow, count):
    for contact in ContactFactory.create_batch(count):
        enroll(flow, contact, now=NOW)


def _sweep_queries(flow, count):
    _due(flow, count)
    with CaptureQueriesContext(connection) as queries:
        run_sweep(now=NOW)
    Enrollment.objects.filter(flow=flow).delete()
    OrmQ.objects.all().delete()
    return len(queries)


def test_a_sweep_costs_the_same_queries_for_10_or_200_due_contacts(
    queue_for_real, django_assert_max_num_queries
):
    flow = make_flow(steps=[("add_tag", {"tag": "welcomed"})])
    with_ten = _sweep_queries(flow, 10)
    _due(flow, 200)

    with django_assert_max_num_queries(with_ten):
        report = run_sweep(now=NOW)

    assert report["advanced"] == 200
    assert OrmQ.objects.count() == 2  # one advance batch, one delivery check


def test_due_contacts_are_handed_out_in_batches_of_the_configured_size(
    queue_for_real, settings, django_assert_max_num_queries
):
    settings.WAGTAIL_FLOWS = {**settings.WAGTAIL_FLOWS, "SWEEP_BATCH_SIZE": 50}
    flow = make_flow(steps=[("add_tag", {"tag": "welcomed"})])
    one_batch = _sweep_queries(flow, 10)
    _due(flow, 200)

    # Four batches: each costs at most what a whole one-batch sweep did.
    with django_assert_max_num_queries(4 * one_batch):
        report = run_sweep(now=NOW)
    assert report["advanced"] == 200
    run_queued_tasks()

    statuses = set(Enrollment.objects.filter(flow=flow).values_list("status", flat=True))
    assert statuses == {EnrollmentStatus.COMPLETED}


def test_a_sweep_hands_out_at_most_the_configured_number_of_batches(queue_for_real, settings):
    settings.WAGTAIL_FLOWS = {
        **settings.WAGTAIL_FLOWS,
        "SWEEP_BATCH_SIZE": 10,
        "SWEEP_MAX_BATCHES": 2,
    }
    flow = make_flow(steps=[("add_tag", {"tag": "welcomed"})])
    _due(flow, 25)

    assert run_sweep(now=NOW)["advanced"] == 20
    run_queued_tasks()
    assert run_sweep(now=NOW)["advanced"] == 5


# --- lost dispatches ------------------------------------------------------------------------


def test_an_event_whose_dispatch_was_lost_is_dispatched_by_a_later_sweep():
    flow = make_flow(triggers=[("tag_added", {"tag": "vip"})])
    ann = ContactFactory()
    # The cluster was down: the event was committed, its dispatch task never ran.
    Event.objects.create(
        contact=ann, kind=EventKind.TAG_ADDED, name="vip", pending_dispatch=True, created_at=NOW
    )

    assert run_sweep(now=NOW + timedelta(minutes=1))["redispatched"] == 0  # grace period
    report = run_sweep(now=NOW + timedelta(minutes=10))

    assert report["redispatched"] == 1
    assert enrolled_emails(flow) == {ann.email}
    assert not Event.objects.filter(pending_dispatch=True).exists()
    assert run_sweep(now=NOW + timedelta(minutes=20))["redispatched"] == 0


# --- abandoned carts -------------------------------------------------------------------------


def cart_update(contact, cart_id, hours_ago, total="49.00"):
    return Event.objects.create(
        contact=contact,
        kind=EventKind.CART_UPDATED,
        object_id=cart_id,
        value=Decimal(total),
        data={"items": [{"sku": "LENS-6", "quantity": 1}]},
        created_at=NOW - timedelta(hours=hours_ago),
    )


def test_a_cart_left_without_an_order_becomes_cart_abandoned_once():
    flow = make_flow(triggers=[("cart_abandoned", {"after_hours": 4})])
    ann, bob = ContactFactory(), ContactFactory()
    cart_update(ann, "cart-1", hours_ago=6)
    cart_update(bob, "cart-2", hours_ago=2)  # not yet four hours

    report = run_sweep(now=NOW)

    assert report["carts_abandoned"] == 1
    assert report["enrolled"]["cart_abandoned"] == 1
    abandoned = Event.objects.get(kind=EventKind.CART_ABANDONED)
    assert (abandoned.contact, abandoned.object_id) == (ann, "cart-1")
    assert abandoned.value == Decimal("49.00")
    assert abandoned.data["items"][0]["sku"] == "LENS-6"
    run = Enrollment.objects.get(flow=flow)
    assert run.contact == ann and run.context["cart"]["id"] == "cart-1"
    assert run_sweep(now=NOW + timedelta(hours=1))["carts_abandoned"] == 0
    assert Event.objects.filter(kind=EventKind.CART_ABANDONED, contact=ann).count() == 1


def test_a_cart_at_the_size_limit_is_still_reported_without_its_items():
    make_flow(triggers=[("cart_abandoned", {"after_hours": 4})])
    ann, bob = ContactFactory(), ContactFactory()
    full = cart_update(ann, "cart-full", hours_ago=6)
    full.data = {"items": [{"sku": "X" * 8150}]}  # just under the limit, as captured
    full.save()
    cart_update(bob, "cart-2", hours_ago=5)

    assert run_sweep(now=NOW)["carts_abandoned"] == 2
    reported = Event.objects.get(kind=EventKind.CART_ABANDONED, contact=ann)
    assert reported.data == {"after_hours": 4, "cart_updated_at": full.created_at.isoformat()}
    assert Enrollment.objects.filter(contact__in=[ann, bob]).count() == 2


def test_a_cart_followed_by_an_order_is_not_abandoned():
    make_flow(triggers=[("cart_abandoned", {"after_hours": 4})])
    ann = ContactFactory()
    cart_update(ann, "cart-1", hours_ago=6)
    Event.objects.create(
        contact=ann, kind=EventKind.ORDER_PLACED, created_at=NOW - timedelta(hours=5)
    )

    assert run_sweep(now=NOW)["carts_abandoned"] == 0


def test_only_the_latest_update_of_a_cart_counts():
    make_flow(triggers=[("cart_abandoned", {"after_hours": 4})])
    ann = ContactFactory()
    cart_update(ann, "cart-1", hours_ago=6)
    cart_update(ann, "cart-1", hours_ago=1, total="80.00")

    assert run_sweep(now=NOW)["carts_abandoned"] == 0
    assert run_sweep(now=NOW + timedelta(hours=3, minutes=1))["carts_abandoned"] == 1
    assert Event.objects.get(kind=EventKind.CART_ABANDONED).value == Decimal("80.00")


def test_carts_from_before_the_flow_went_live_are_ignored():
    make_flow(
        triggers=[("cart_abandoned", {"after_hours": 4})], activated_at=NOW - timedelta(hours=1)
    )
    cart_update(ContactFactory(), "cart-1", hours_ago=30)

    assert run_sweep(now=NOW + timedelta(hours=5))["carts_abandoned"] == 0


def test_each_threshold_reports_a_cart_at_its_own_time():
    quick = make_flow("Quick", triggers=[("cart_abandoned", {"after_hours": 1})])
    slow = make_flow("Next day", triggers=[("cart_abandoned", {"after_hours": 24})])
    ann = ContactFactory()
    cart_update(ann, "cart-1", hours_ago=2)

    run_sweep(now=NOW)
    assert enrolled_emails(quick) == {ann.email} and enrolled_emails(slow) == set()
    run_sweep(now=NOW + timedelta(hours=23))
    assert enrolled_emails(slow) == {ann.email}


# --- inactive -------------------------------------------------------------------------------


def test_contacts_quiet_for_the_set_days_enter_the_re_engagement_flow():
    flow = make_flow(triggers=[("inactive", {"days": 30, "activity": "any"})])
    quiet = ContactFactory(
        last_activity_at=NOW - timedelta(days=40), created_at=NOW - timedelta(days=400)
    )
    ContactFactory(last_activity_at=NOW - timedelta(days=3), created_at=NOW - timedelta(days=400))
    ContactFactory(created_at=NOW - timedelta(days=2))  # new, never active: not yet

    report = run_sweep(now=NOW)

    assert report["enrolled"]["inactive"] == 1
    assert enrolled_emails(flow) == {quiet.email}
    assert Enrollment.objects.get(flow=flow).context["trigger"] == "inactive"


def test_contacts_kept_out_by_entry_conditions_never_hold_up_the_others(settings):
    settings.WAGTAIL_FLOWS = {**settings.WAGTAIL_FLOWS, "SWEEP_BATCH_SIZE": 2}
    vip = [{"type": "has_tag", "value": {"tag": "vip"}, "id": "c"}]
    flow = make_flow(triggers=[("inactive", {"days": 30})], entry_conditions=vip)
    quiet = {"last_activity_at": NOW - timedelta(days=40), "created_at": NOW - timedelta(days=400)}
    ContactFactory.create_batch(3, **quiet)  # the first by id: no tag, may never enter
    wanted = ContactFactory(**quiet)
    wanted.add_tag("vip")

    assert run_sweep(now=NOW)["enrolled"]["inactive"] == 1
    assert enrolled_emails(flow) == {wanted.email}


def test_an_inactive_contact_enters_once_per_quiet_period():
    flow = make_flow(
        triggers=[("inactive", {"days": 30, "activity": "visit"})],
        steps=[("add_tag", {"tag": "nudged"})],
        reentry="after_exit",
    )
    ann = ContactFactory(
        last_visit_at=NOW - timedelta(days=40), created_at=NOW - timedelta(days=400)
    )
    run_sweep(now=NOW)
    run_sweep(now=NOW)  # advances and completes the run
    assert Enrollment.objects.get(flow=flow).status == EnrollmentStatus.COMPLETED

    assert run_sweep(now=NOW + timedelta(days=1))["enrolled"]["inactive"] == 0
    ann.last_visit_at = NOW + timedelta(days=2)  # came back …
    ann.save()
    later = NOW + timedelta(days=33)  # … and went quiet again
    assert run_sweep(now=later)["enrolled"]["inactive"] == 1
    assert Enrollment.objects.filter(flow=flow).count() == 2


def test_inactivity_respects_the_flow_entry_conditions():
    flow = make_flow(
        triggers=[("inactive", {"days": 30, "activity": "email"})],
        entry_conditions=[("is_subscribed", None)],
    )
    old = NOW - timedelta(days=400)
    subscribed = ContactFactory(created_at=old, status="subscribed")
    ContactFactory(created_at=old, status="unsubscribed")

    run_sweep(now=NOW)

    assert enrolled_emails(flow) == {subscribed.email}


# --- engagement -----------------------------------------------------------------------------


def page_views(contact, count, days_ago=1):
    Event.objects.bulk_create(
        Event(
            contact=contact, kind=EventKind.PAGE_VIEWED, created_at=NOW - timedelta(days=days_ago)
        )
        for _ in range(count)
    )


def test_a_contact_visiting_often_is_a_super_lead():
    flow = make_flow(triggers=[("engagement", {"min_visits": 10, "within_days": 7})])
    hot, lukewarm, long_ago = ContactFactory(), ContactFactory(), ContactFactory()
    page_views(hot, 10)
    page_views(lukewarm, 9)
    page_views(long_ago, 12, days_ago=8)

    report = run_sweep(now=NOW)

    assert report["enrolled"]["engagement"] == 1
    assert enrolled_emails(flow) == {hot.email}
    assert run_sweep(now=NOW + timedelta(days=2))["enrolled"]["engagement"] == 0


def sent_emails(contact, opened, clicked=0, total=10):
    from wagtail_flows.models import Message

    for index in range(total):
        at = NOW - timedelta(days=total - index)
        Message.objects.create(
            contact=contact,
            to_email=contact.email,
            status="sent",
            sent_at=at,
            created_at=at,
            first_opened_at=at if index >= total - opened else None,
            first_clicked_at=at if index >= total - clicked else None,
        )


def test_open_and_click_rates_over_the_last_emails_make_a_contact_engaged():
    opens = make_flow("Opens", triggers=[("engagement", {"min_open_rate": 50, "last_emails": 4})])
    clicks = make_flow(
        "Clicks", triggers=[("engagement", {"min_click_rate": 50, "last_emails": 4})]
    )
    reader, clicker, new = ContactFactory(), ContactFactory(), ContactFactory()
    sent_emails(reader, opened=2)  # two of the last four opened
    sent_emails(clicker, opened=4, clicked=2)
    sent_emails(new, opened=2, total=2)  # fewer than four emails: too early to tell
    sleeper = ContactFactory()
    sent_emails(sleeper, opened=1)

    run_sweep(now=NOW)

    assert enrolled_emails(opens) == {reader.email, clicker.email}
    assert enrolled_emails(clicks) == {clicker.email}


# --- date reached ----------------------------------------------------------------------------


def test_a_reminder_fires_the_set_days_before_a_contact_date():
    flow = make_flow(
        triggers=[
            (
                "date_reached",
                {
                    "date_source": "property",
                    "property_name": "renewal_date",
                    "offset_days": 3,
                    "direction": "before",
                },
            )
        ]
    )
    today = timezone.localdate(NOW)
    due = ContactFactory(properties={"renewal_date": (today + timedelta(days=3)).isoformat()})
    ContactFactory(properties={"renewal_date": (today + timedelta(days=10)).isoformat()})
    ContactFactory(properties={"renewal_date": (today - timedelta(days=60)).isoformat()})

    report = run_sweep(now=NOW)

    assert report["enrolled"]["date_reached"] == 1
    run = Enrollment.objects.get(flow=flow)
    assert run.contact == due
    assert run.context["date_reached"] == (today + timedelta(days=3)).isoformat()
    assert run_sweep(now=NOW + timedelta(hours=1))["enrolled"]["date_reached"] == 0


def test_a_new_date_resets_the_pending_reminder():
    flow = make_flow(
        triggers=[
            (
                "date_reached",
                {
                    "date_source": "property",
                    "property_name": "appointment",
                    "offset_days": 1,
                    "direction": "before",
                },
            )
        ],
        reentry="after_exit",
    )
    today = timezone.localdate(NOW)
    ann = ContactFactory(properties={"appointment": (today + timedelta(days=1)).isoformat()})
    run_sweep(now=NOW)
    first = Enrollment.objects.get(flow=flow)

    ann.properties = {"appointment": (today + timedelta(days=8)).isoformat()}  # rescheduled
    ann.save()
    run_sweep(now=NOW + timedelta(hours=1))
    first.refresh_from_db()
    assert first.status == EnrollmentStatus.EXITED and first.exit_reason == "date changed"

    run_sweep(now=NOW + timedelta(days=7, hours=1))
    latest = Enrollment.objects.filter(flow=flow).latest("pk")
    assert latest.pk != first.pk and latest.is_open
    assert latest.context["date_reached"] == (today + timedelta(days=8)).isoformat()


def test_a_replenishment_reminder_follows_the_last_order():
    flow = make_flow(
        triggers=[
            (
                "date_reached",
                {"date_source": "last_order", "offset_days": 150, "direction": "after"},
            )
        ]
    )
    ann = ContactFactory(last_order_at=NOW - timedelta(days=150))
    ContactFactory(last_order_at=NOW - timedelta(days=20))

    run_sweep(now=NOW)

    assert enrolled_emails(flow) == {ann.email}


# --- housekeeping -----------------------------------------------------------------------------


def test_a_flow_past_its_end_date_lets_its_contacts_go():
    flow = make_flow(ends_at=NOW + timedelta(days=1))
    ann = ContactFactory()
    enroll(flow, ann, now=NOW)
    run_sweep(now=NOW)

    report = run_sweep(now=NOW + timedelta(days=2))

    assert report["ended_flows_exited"] == 1
    run = Enrollment.objects.get(flow=flow)
    assert (run.status, run.exit_reason) == (EnrollmentStatus.EXITED, "flow ended")


def test_paused_and_draft_flows_fire_no_time_based_trigger():
    old = NOW - timedelta(days=400)
    ContactFactory(created_at=old)
    for status in ("paused", "draft"):
        make_flow(status, triggers=[("inactive", {"days": 30})], status=status)

    assert run_sweep(now=NOW)["enrolled"]["inactive"] == 0
