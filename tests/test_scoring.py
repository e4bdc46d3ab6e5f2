"""Lead scoring: rules give points for what contacts do, within caps; scores decay in the
sweep; grades follow the score bands and can start flows ("grade becomes A")."""

from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

import wagtail_flows
from tests.factories import ContactFactory, identified_browser, make_document, make_standard_page
from tests.test_engine_tree import make_flow, step
from wagtail_flows import capture as tracking
from wagtail_flows.engine import dispatch, scoring, sweeps
from wagtail_flows.models import Contact, Event, ScoringRule, ScoringSettings
from wagtail_flows.panels.timeline import contact_timeline

pytestmark = pytest.mark.django_db

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"


@pytest.fixture
def committing(django_capture_on_commit_callbacks):
    """Run what waits for commit (dispatch after capture), as a real request would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def pricing():
    products = make_standard_page("Products")
    return {
        "products": products,
        "pricing": make_standard_page("Pricing", parent=products),
        "about": make_standard_page("About us"),
    }


def rule(name, event, points, **fields):
    return ScoringRule.objects.create(name=name, event=event, points=points, **fields)


def score_of(contact):
    return Contact.objects.values_list("score", flat=True).get(pk=contact.pk)


def score_events(contact):
    return list(
        Event.objects.filter(contact=contact, kind="score_changed")
        .order_by("pk")
        .values_list("value", "name", "object_id")
    )


def grade_changes(contact):
    return [
        (e.data["from"], e.data["to"])
        for e in Event.objects.filter(contact=contact, kind="grade_changed").order_by("pk")
    ]


def bands(**values):
    settings = ScoringSettings.load()
    for name, value in values.items():
        setattr(settings, name, value)
    settings.full_clean()
    settings.save()
    return settings


# --- rules through the real entry points --------------------------------------------------------


def test_a_view_of_the_pricing_page_or_below_it_gives_its_points(pricing, committing):
    products = rule("Products pages viewed", "page_viewed", 10, page=pricing["products"])
    ann = ContactFactory(email="ann@example.com")
    browser = identified_browser(ann)
    with committing():
        assert browser.get(pricing["pricing"].url).status_code == 200
        assert browser.get(pricing["about"].url).status_code == 200
    assert score_of(ann) == 10
    assert score_events(ann) == [(10, "Products pages viewed", str(products.pk))]
    assert "+10 Products pages viewed (now 10)" in [e.detail for e in contact_timeline(ann)]


def test_a_rule_for_one_page_only_ignores_the_pages_below_it(pricing, committing):
    rule(
        "Products page viewed", "page_viewed", 5, page=pricing["products"], include_subpages=False
    )
    ann = ContactFactory()
    browser = identified_browser(ann)
    with committing():
        browser.get(pricing["pricing"].url)
    assert score_of(ann) == 0
    with committing():
        browser.get(pricing["products"].url)
    assert score_of(ann) == 5


def test_an_anonymous_visitor_is_not_scored(pricing, committing):
    rule("Any page", "page_viewed", 1)
    with committing():
        Client(headers={"user-agent": BROWSER}).get(pricing["pricing"].url)
    assert not Event.objects.filter(kind="score_changed").exists()


def test_downloading_the_whitepaper_scores_and_another_document_does_not(committing):
    whitepaper = make_document("Whitepaper", "whitepaper.pdf")
    prices = make_document("Price list", "prices.pdf")
    rule("Whitepaper downloaded", "document_downloaded", 20, document=whitepaper)
    ann = ContactFactory()
    browser = identified_browser(ann)
    with committing():
        assert browser.get(prices.url).status_code == 200
        assert browser.get(whitepaper.url).status_code == 200
    assert score_of(ann) == 20


def test_custom_events_tracked_by_code_score_by_name_within_the_cap(committing):
    rule("Demo requested", "custom", 30, custom_name="demo_requested", cap_points=50, cap_days=30)
    ann = ContactFactory()
    start = timezone.now()
    with committing():
        for _ in range(3):
            wagtail_flows.track("demo_requested", contact=ann)
        wagtail_flows.track("webinar_watched", contact=ann)
    assert score_of(ann) == 50  # 30, then the 20 left under the cap, then nothing
    assert [points for points, _n, _o in score_events(ann)] == [30, 20]
    later = start + timedelta(days=31)
    with committing():
        tracking.record_event("custom", contact=ann, name="Demo_Requested", at=later)
    assert score_of(ann) == 80  # a new period: the cap has room again


def test_email_opens_clicks_orders_and_forms_score_and_negative_rules_take_points(committing):
    form_page = make_standard_page("Contact sales")
    rule("Opened an email", "email_opened", 2)
    rule("Clicked a link", "link_clicked", 3)
    rule("Ordered", "order_placed", 25)
    rule("Contact sales form", "form_submitted", 15, page=form_page)
    rule("Left the survey", "custom", -40, custom_name="left_survey")
    ann = ContactFactory()
    with committing():
        for kind in ("email_opened", "link_clicked", "order_placed"):
            tracking.record_event(kind, contact=ann)
        tracking.record_event("form_submitted", contact=ann, page=form_page)
        tracking.record_event("form_submitted", contact=ann)  # another form
        tracking.record_event("custom", contact=ann, name="left_survey")
    assert score_of(ann) == 2 + 3 + 25 + 15 - 40


def test_an_inactive_rule_gives_nothing(committing):
    demo = rule("Demo", "custom", 30, custom_name="demo_requested")
    demo.active = False
    demo.save()
    ann = ContactFactory()
    with committing():
        wagtail_flows.track("demo_requested", contact=ann)
    assert score_of(ann) == 0
    assert not Event.objects.get(kind="custom").pending_dispatch  # nobody listened


def test_a_repeated_dispatch_does_not_score_twice(committing):
    rule("Demo", "custom", 30, custom_name="demo_requested")
    ann = ContactFactory()
    with committing():
        event = wagtail_flows.track("demo_requested", contact=ann)
    dispatch.dispatch_event(event.pk)  # django-q2 delivers at least once
    assert score_of(ann) == 30


# --- the query budget ---------------------------------------------------------------------------


def count(client, url):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_a_rule_for_another_kind_leaves_a_page_view_at_one_insert(
    pricing, django_assert_num_queries
):
    browser = Client(headers={"user-agent": BROWSER})
    browser.get(pricing["about"].url)
    baseline = count(browser, pricing["about"].url)  # no rule at all
    rule("Demo", "custom", 30, custom_name="demo_requested")
    browser.get(pricing["about"].url)  # the index is rebuilt once, on the first capture
    assert dispatch.is_listened("custom") and not dispatch.is_listened("page_viewed")
    with django_assert_num_queries(baseline) as queries:
        browser.get(pricing["about"].url)
    inserts = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("INSERT")]
    assert len(inserts) == 1 and "wagtail_flows_event" in inserts[0]
    assert not Event.objects.filter(pending_dispatch=True).exists()


def test_dispatch_of_a_kind_no_rule_scores_costs_no_extra_query(django_assert_num_queries):
    # a flow listens for orders (so they are dispatched) but takes none of these
    make_flow([step("add_tag", tag="big")], triggers=[step("order_placed", min_total="1000")])
    ann = ContactFactory()

    def dispatch_one():
        event = tracking.record_event("order_placed", contact=ann)
        dispatch.current_index()  # warm
        with CaptureQueriesContext(connection) as queries:
            dispatch.dispatch_event(event.pk)
        return len(queries)

    without_rules = dispatch_one()
    rule("Demo", "custom", 30, custom_name="demo_requested")
    dispatch.current_index()
    assert dispatch_one() == without_rules


# --- grades ------------------------------------------------------------------------------------


def test_every_score_change_regrades_and_records_the_grade_change():
    ann = ContactFactory()
    assert ann.grade == "D"
    ann.change_score(25)  # a flow's change-score step
    ann.refresh_from_db()
    assert ann.grade == "C" and grade_changes(ann) == [("D", "C")]
    ann.change_score(80)
    assert Contact.objects.get(pk=ann.pk).grade == "A"
    ann.change_score(-10)  # 95
    assert Contact.objects.get(pk=ann.pk).grade == "B"
    assert grade_changes(ann) == [("D", "C"), ("C", "A"), ("A", "B")]


def test_a_score_set_by_hand_is_recorded_and_regrades():
    ann = ContactFactory()
    ann = Contact.objects.get(pk=ann.pk)
    ann.score = 60
    ann.save()
    assert Contact.objects.get(pk=ann.pk).grade == "B"
    event = Event.objects.get(contact=ann, kind="score_changed")
    assert event.data == {"delta": 60, "to": 60, "source": "edit"}
    assert grade_changes(ann) == [("D", "B")]
    ann.first_name = "Ann"
    ann.save()  # no score change: nothing recorded
    assert Event.objects.filter(contact=ann, kind="score_changed").count() == 1
    ann.score = 120
    ann.save(update_fields=["score"])  # the grade is saved with it
    assert Contact.objects.get(pk=ann.pk).grade == "A"


def test_a_new_contact_starts_in_the_grade_of_its_score():
    assert ContactFactory(score=120).grade == "A"
    assert not Event.objects.filter(kind="grade_changed").exists()


def test_new_bands_regrade_everyone_in_one_update_without_events(committing):
    low, mid = ContactFactory(score=30), ContactFactory(score=60)
    assert (low.grade, mid.grade) == ("C", "B")
    with committing():
        bands(grade_a=50, grade_b=40, grade_c=35)
    assert Contact.objects.get(pk=low.pk).grade == "D"
    assert Contact.objects.get(pk=mid.pk).grade == "A"
    assert not Event.objects.filter(kind="grade_changed").exists()
    assert dispatch.current_index().scoring.grade_a == 50  # later changes grade by these


def test_regrading_is_one_update(django_assert_num_queries):
    ContactFactory.create_batch(5, score=60)
    with django_assert_num_queries(3):  # rules' kinds and the settings, then the UPDATE
        scoring.regrade_contacts()


def test_grade_becomes_a_notifies_sales_through_dispatch(committing):
    rule("Demo", "custom", 60, custom_name="demo_requested")
    flow = make_flow(
        [step("notify", recipients="sales@example.com", subject="Grade A lead", message="")],
        triggers=[step("grade_becomes", grade="A")],
        name="Grade A to sales",
    )
    ann = ContactFactory(email="ann@example.com", score=45)
    with committing():
        wagtail_flows.track("demo_requested", contact=ann)
    assert Contact.objects.get(pk=ann.pk).grade == "A"
    assert flow.enrollments.filter(contact=ann).exists()
    (email,) = mail.outbox
    assert email.subject == "Grade A lead" and "ann@example.com" in email.body


def test_grade_becomes_fires_only_when_rising_to_the_grade(committing):
    flow = make_flow([step("add_tag", tag="b")], triggers=[step("grade_becomes", grade="B")])
    ann, bob = ContactFactory(score=120), ContactFactory(score=10)
    with committing():
        ann.change_score(-60)  # A -> B: down, no news
        bob.change_score(45)  # D -> B: up
    assert not flow.enrollments.filter(contact=ann).exists()
    assert flow.enrollments.filter(contact=bob).exists()


# --- decay in the sweep -------------------------------------------------------------------------


def test_points_decay_after_inactivity_once_per_period_and_never_below_zero():
    bands(decay="points", decay_points=10, decay_after_days=30)
    now = timezone.now()
    quiet = ContactFactory(score=25, created_at=now - timedelta(days=40))
    active = ContactFactory(score=25, created_at=now - timedelta(days=40))
    tracking.record_event("email_opened", contact=active, at=now - timedelta(days=2))
    assert sweeps.run_sweep(now=now)["scores_decayed"] == 1
    assert sweeps.run_sweep(now=now + timedelta(days=1))["scores_decayed"] == 0  # same period
    assert (score_of(quiet), score_of(active)) == (15, 25)
    assert grade_changes(quiet) == [("C", "D")]
    sweeps.run_sweep(now=now + timedelta(days=31))
    sweeps.run_sweep(now=now + timedelta(days=62))
    assert score_of(quiet) == 0  # 15 -> 5 -> 0
    assert [e.detail for e in contact_timeline(quiet) if e.title == "Score changed"][0] == (
        "−5 decay after inactivity (now 0)"
    )


def test_percent_decay_takes_a_rounded_share_once_a_month():
    bands(decay="percent", decay_percent=10)
    now = timezone.now()
    old = ContactFactory(score=55, created_at=now - timedelta(days=31))
    new = ContactFactory(score=55, created_at=now - timedelta(days=3))
    sweeps.run_sweep(now=now)
    assert (score_of(old), score_of(new)) == (49, 55)  # 55 - round(5.5)
    assert grade_changes(old) == [("B", "C")]
    sweeps.run_sweep(now=now + timedelta(days=29))  # the new contact's first month is over
    assert (score_of(old), score_of(new)) == (49, 49)
    sweeps.run_sweep(now=now + timedelta(days=31))
    assert (score_of(old), score_of(new)) == (44, 49)


def test_decay_off_costs_no_query(django_assert_num_queries):
    ContactFactory(score=50, created_at=timezone.now() - timedelta(days=90))
    dispatch.current_index()
    with django_assert_num_queries(0):
        assert scoring.decay(timezone.now()) == 0


def test_decay_queries_do_not_grow_with_the_batch(settings):
    bands(decay="points", decay_points=40, decay_after_days=30)
    settings.WAGTAIL_FLOWS = {**settings.WAGTAIL_FLOWS, "SWEEP_BATCH_SIZE": 100}
    now = timezone.now()

    def decay_queries(how_many):
        ContactFactory.create_batch(
            how_many, score=60, created_at=now - timedelta(days=90)
        )  # B -> D: a score and a grade change each
        dispatch.current_index()
        with CaptureQueriesContext(connection) as queries:
            assert scoring.decay(now) == how_many
        assert Event.objects.filter(kind="grade_changed").count() == how_many
        Contact.objects.all().delete()
        return len(queries)

    assert decay_queries(3) == decay_queries(30)
