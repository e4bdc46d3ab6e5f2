"""The catalog's retention and feedback stories (re-engagement, NPS, product engagement,
webinar, newsletter cadence) on a simulated clock, each checked against the simulator."""

import datetime as dt
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import ContactFactory, make_form_page, make_standard_page
from tests.flow_stories import Story, go_live, sent, statuses
from tests.test_flow_templates_stories import email_times, lists_of, tags_of
from wagtail_flows import flow_templates
from wagtail_flows.engine.sweep_triggers import site_timezone
from wagtail_flows.engine.timing import local_instant
from wagtail_flows.models import ContactList

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann(db):
    return ContactFactory(email="ann@example.com", first_name="Ann")


@pytest.fixture
def bob(db):
    return ContactFactory(email="bob@example.com", first_name="Bob")


# --- re-engagement --------------------------------------------------------------------------


def test_re_engagement_wins_back_the_ones_who_return_and_tags_the_rest(ann, bob):
    flow = go_live(flow_templates.create_flow("re-engagement", {"days": 60}))
    page = make_standard_page("Offers")
    story = Story().watch(ann, bob)
    story.at(days=61)
    ann.refresh_from_db(), bob.refresh_from_db()
    assert lists_of(ann) == lists_of(bob) == ["Inactive"]
    assert sent(ann) == sent(bob) == ["1. We miss you"]

    story.at(days=2)
    story.event("page_viewed", ann, page=page)
    assert lists_of(ann) == ["Active"]
    assert statuses(flow, ann) == ["completed"]

    story.at(days=5, minutes=1)
    assert sent(bob) == ["1. We miss you", "2. Last chance"]
    story.at(days=7, minutes=1)
    assert tags_of(bob) == ["dormant"] and lists_of(bob) == ["Inactive"]
    assert statuses(flow, bob) == ["completed"]
    assert sent(ann) == ["1. We miss you"]
    story.assert_simulator_agrees(flow, ann, bob)


# --- NPS ----------------------------------------------------------------------------------------


def test_nps_thanks_fans_apologises_to_critics_and_a_complaint_cancels(ann, bob):
    carol = ContactFactory(email="carol@example.com")
    form = make_form_page("How did we do?")
    flow = go_live(flow_templates.create_flow("nps-feedback", {"form_page": form.pk}))
    story = Story()
    for contact, score in ((ann, "10"), (bob, "3"), (carol, "9")):
        story.event("form_submitted", contact, page=form, data={"nps_score": score})
    story.at(minutes=20)
    story.event("custom", carol, name="complaint")
    story.at(minutes=39)
    assert sent(ann) == sent(bob) == sent(carol) == []  # the hour's wait is not over
    story.at(minutes=1)

    assert (sent(ann), tags_of(ann)) == (["Thanks, promoter"], ["promoter"])
    assert (sent(bob), tags_of(bob)) == (["Sorry, detractor"], ["detractor"])
    assert sent(carol) == [] and tags_of(carol) == []
    assert [statuses(flow, c) for c in (ann, bob, carol)] == [
        ["completed"],
        ["completed"],
        ["exited"],
    ]
    story.assert_simulator_agrees(flow, ann, bob, carol)


# --- product engagement ---------------------------------------------------------------------


def test_product_engagement_invites_power_users_and_teaches_the_others(ann, bob):
    story = Story()
    for _ in range(4):
        story.event("custom", ann, name="feature_used")
    flow = go_live(flow_templates.create_flow("product-engagement", {"min_uses": 5}))
    story.event("custom", ann, name="feature_used")
    story.event("custom", bob, name="feature_used")
    assert tags_of(ann) == ["power-user"] and sent(ann) == ["Success story invite"]
    assert sent(bob) == []
    story.at(days=7)
    assert sent(bob) == ["Feature tips"] and tags_of(bob) == []
    assert statuses(flow, ann) == statuses(flow, bob) == ["completed"]
    story.assert_simulator_agrees(flow, ann, bob)


# --- newsletter cadence -----------------------------------------------------------------------


def test_newsletter_cadence_sends_on_days_1_3_7_10_then_quarterly(ann):
    flow = go_live(flow_templates.create_flow("newsletter-cadence"))
    story = Story()
    ann.add_to_list(ContactList.objects.get(name="Newsletter"))
    story.latest(ann, "list_joined")
    start = story.now
    for _ in range(10):
        story.at(days=1)
    assert sent(ann) == [
        "Day 1: introduction",
        "Day 3: services",
        "Day 7: testimonials",
        "Day 10: promotion",
    ]
    for _ in range(4):
        story.at(weeks=13)
    offsets = [t - start for _, t in email_times(ann, flow)]
    assert offsets == [timedelta(days=d) for d in (0, 2, 6, 9, 100, 191, 282, 373)]
    assert sent(ann)[4:] == ["Quarterly digest"] * 4
    assert statuses(flow, ann) == ["completed"]
    story.assert_simulator_agrees(flow, ann)


# --- webinar --------------------------------------------------------------------------------


def test_webinar_confirms_reminds_the_day_before_and_follows_up_the_day_after(ann):
    form = make_form_page(
        "Webinar", fields=[("Email", "email", True), ("Event date", "date", True)]
    )
    flow = go_live(flow_templates.create_flow("event-webinar", {"registration_form": form.pk}))
    story = Story()
    tz = site_timezone()
    day = timezone.localtime(story.now, tz).date() + timedelta(days=7)
    story.event("form_submitted", ann, page=form, data={"event_date": day.isoformat()})
    assert sent(ann) == ["1. Registration confirmed"]
    reminder_at = local_instant(day - timedelta(days=1), dt.time(9, 0), tz)
    follow_up_at = local_instant(day + timedelta(days=1), dt.time(9, 0), tz)
    story.until(reminder_at - timedelta(minutes=1))
    assert len(sent(ann)) == 1
    story.until(reminder_at).until(follow_up_at)
    assert sent(ann) == ["1. Registration confirmed", "2. Tomorrow", "3. Thanks for coming"]
    assert [t for _, t in email_times(ann, flow)][1:] == [reminder_at, follow_up_at]
    assert statuses(flow, ann) == ["completed"]
    story.assert_simulator_agrees(flow, ann)
