"""The catalog's interest-and-engagement stories, and the commerce follow-ups, one per
template: emails, list/tag/stage changes, how each run ends, and the simulator's agreement."""

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse

from tests.factories import ContactFactory, make_email_page, make_form_page, make_standard_page
from tests.flow_stories import Story, go_live, run_of, sent, statuses
from tests.test_flow_templates_stories import lists_of, tags_of
from wagtail_flows import flow_templates
from wagtail_flows.emails import tokens
from wagtail_flows.emails.delivery import deliver_message
from wagtail_flows.models import ContactList, Message, StepRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann(db):
    return ContactFactory(email="ann@example.com", first_name="Ann")


@pytest.fixture
def bob(db):
    return ContactFactory(email="bob@example.com", first_name="Bob")


def notified(flow, contact):
    return StepRun.objects.filter(
        enrollment__flow=flow, enrollment__contact=contact, outcome="notified"
    ).count()


def test_visitor_conversion_lists_the_visitor_and_mails_their_code(ann):
    form = make_form_page("Landing page")
    flow = go_live(
        flow_templates.create_flow(
            "visitor-conversion", {"form_page": form.pk, "coupon_code": "HELLO10"}
        )
    )
    story = Story()
    story.event("form_submitted", ann, page=form)
    assert lists_of(ann) == ["Visitor subscribers"]
    assert sent(ann) == ["Your discount"]
    deliver_message(Message.objects.get(contact=ann).pk)
    assert "HELLO10" in mail.outbox[0].body and mail.outbox[0].to == ["ann@example.com"]
    assert statuses(flow, ann) == ["completed"]
    story.assert_simulator_agrees(flow, ann)


# --- lead nurturing -------------------------------------------------------------------------


def test_lead_nurturing_waits_for_a_second_form_and_makes_mqls(ann, bob):
    form = make_form_page("Guide request")
    flow = go_live(flow_templates.create_flow("lead-nurturing", {"mql_score": 50}))
    story = Story()
    story.event("form_submitted", ann, page=form)
    assert not flow.enrollments.exists()
    for contact in (ann, bob, ann, bob):
        story.event("form_submitted", contact, page=form)
    assert sent(ann) == sent(bob) == ["Case study"]
    story.at(days=3)
    assert sent(ann) == ["Case study", "Free demo invitation"]
    story.at(days=2)
    ann.change_score(40)
    story.latest(ann, "score_changed")
    story.at(days=14)
    ann.refresh_from_db(), bob.refresh_from_db()
    assert (ann.score, ann.stage) == (50, "mql")
    assert (bob.score, bob.stage) == (10, "subscriber")
    became_mql = StepRun.objects.get(enrollment=run_of(flow, ann), step_type="set_stage")
    assert became_mql.created_at - run_of(flow, ann).enrolled_at == timedelta(days=5)
    assert statuses(flow, ann) == statuses(flow, bob) == ["completed"]
    story.assert_simulator_agrees(flow, ann, bob)


# --- super lead -----------------------------------------------------------------------------


def test_super_leads_are_listed_mailed_and_passed_to_sales(ann, bob, settings):
    settings.MANAGERS = [("Sales", "sales@example.com")]
    page = make_standard_page("Pricing")
    flow = go_live(flow_templates.create_flow("super-lead"))
    story = Story()
    for contact, visits in ((ann, 10), (bob, 3)):
        for _ in range(visits):
            story.event("page_viewed", contact, page=page)
    story.at(minutes=5)
    assert lists_of(ann) == ["Super leads"] and sent(ann) == ["Personal note"]
    assert notified(flow, ann) == 1
    assert statuses(flow, ann) == ["completed"]
    assert lists_of(bob) == [] and not flow.enrollments.filter(contact=bob).exists()
    assert flow.steps[-1].value["recipients"] == "sales@example.com"
    story.assert_simulator_agrees(flow, ann)


def opened_emails(client, contact, sent_count, opened_count, at):
    """``contact`` got ``sent_count`` emails before ``at`` and opened ``opened_count``."""
    page = make_email_page()
    for index in range(sent_count):
        message = Message.objects.create(
            contact=contact,
            page=page,
            to_email=contact.email,
            subject="Our news",
            status="sent",
            created_at=at - timedelta(days=sent_count - index),
            sent_at=at - timedelta(days=sent_count - index),
        )
        if index < opened_count:
            pixel = reverse("wagtail_flows:open", args=[tokens.make_token(message.pk, "o")])
            assert client.get(pixel).status_code == 200


def test_super_leads_can_be_the_readers_who_open_most_emails(ann, bob, client):
    flow = go_live(
        flow_templates.create_flow(
            "super-lead",
            {
                "min_open_rate": 50,
                "min_click_rate": 30,
                "last_emails": 4,
                "sales_team": "s@example.com",
            },
        )
    )
    engagement = flow.triggers[0].value
    assert (engagement["min_open_rate"], engagement["min_click_rate"]) == (50, 30)
    assert engagement["last_emails"] == 4
    story = Story().watch(ann, bob)
    opened_emails(client, ann, sent_count=4, opened_count=2, at=story.now)
    opened_emails(client, bob, sent_count=4, opened_count=1, at=story.now)
    story.at(minutes=5)
    assert lists_of(ann) == ["Super leads"] and sent(ann, flow) == ["Personal note"]
    assert statuses(flow, ann) == ["completed"]
    assert not flow.enrollments.filter(contact=bob).exists()
    story.assert_simulator_agrees(flow, ann)


# --- website activity, topics, sales --------------------------------------------------------


def test_website_activity_follows_up_pricing_and_about_visitors_differently(ann, bob):
    pricing, about = make_standard_page("Pricing"), make_standard_page("About us")
    flow = go_live(
        flow_templates.create_flow(
            "website-activity-follow-up", {"pricing_page": pricing.pk, "about_page": about.pk}
        )
    )
    story = Story()
    story.event("page_viewed", ann, page=pricing)
    story.event("page_viewed", bob, page=about)
    story.at(minutes=59)
    assert sent(ann) == sent(bob) == []
    story.at(minutes=1)
    assert sent(ann) == ["Pricing follow-up"]
    assert sent(bob) == ["About-us testimonials"]
    story.at(days=1)
    story.event("page_viewed", ann, page=pricing)
    assert statuses(flow, ann) == ["completed"]  # once a month at most
    assert statuses(flow, bob) == ["completed"]
    story.assert_simulator_agrees(flow, ann, bob)


def topic_flow(section, topic):
    return go_live(
        flow_templates.create_flow("topic-automation", {"topic_page": section.pk, "topic": topic})
    )


def test_topic_automation_tags_readers_of_the_topic_and_sends_its_series(ann, bob):
    section = make_standard_page("Gardening")
    roses = make_standard_page("Roses", parent=section)
    elsewhere = make_standard_page("Cooking")
    flow = topic_flow(section, "gardening")
    story = Story()
    story.event("page_viewed", ann, page=roses)
    assert not flow.enrollments.exists()
    story.event("page_viewed", ann, page=section)
    for _ in range(3):
        story.event("page_viewed", bob, page=elsewhere)
    assert tags_of(ann) == ["gardening", "topic-series"]
    assert sent(ann) == ["1. Topic introduction"]
    story.at(days=4)
    assert sent(ann) == ["1. Topic introduction", "2. Topic deep dive"]
    assert statuses(flow, ann) == ["completed"]
    assert tags_of(bob) == [] and sent(bob) == []
    story.assert_simulator_agrees(flow, ann)


def test_a_reader_of_one_topic_never_gets_another_topics_series(ann, bob):
    gardening_section, cooking_section = (
        make_standard_page("Gardening"),
        make_standard_page("Cooking"),
    )
    gardening = topic_flow(gardening_section, "gardening")
    cooking = topic_flow(cooking_section, "cooking")
    story = Story()
    for _ in range(2):
        story.event("page_viewed", ann, page=gardening_section)
        story.event("page_viewed", bob, page=cooking_section)
    story.at(days=1)
    for _ in range(2):
        story.event("page_viewed", ann, page=cooking_section)
    story.at(days=4)

    assert sent(ann) == ["1. Topic introduction", "2. Topic deep dive"]
    assert {m.enrollment.flow for m in Message.objects.filter(contact=ann)} == {gardening}
    assert tags_of(ann) == ["gardening", "topic-series"]
    assert statuses(cooking, ann) == ["exited"]
    assert run_of(cooking, ann).exit_reason == "Already gets another topic's series"
    assert sent(bob, cooking) == ["1. Topic introduction", "2. Topic deep dive"]
    assert tags_of(bob) == ["cooking", "topic-series"]
    assert statuses(gardening, ann) == statuses(cooking, bob) == ["completed"]
    story.assert_simulator_agrees(gardening, ann)
    story.assert_simulator_agrees(cooking, ann, bob)


def test_sales_hear_about_pricing_visitors_once_a_week(ann):
    pricing = make_standard_page("Pricing")
    flow = go_live(
        flow_templates.create_flow(
            "sales-notification",
            {"pricing_page": pricing.pk, "sales_team": "sales@example.com"},
        )
    )
    story = Story()
    story.event("page_viewed", ann, page=pricing)
    story.at(days=1)
    story.event("page_viewed", ann, page=pricing)
    assert notified(flow, ann) == 1
    story.at(days=7)
    story.event("page_viewed", ann, page=pricing)
    assert notified(flow, ann) == 2
    assert statuses(flow, ann) == ["completed", "completed"]
    story.assert_simulator_agrees(flow, ann)


# --- evangelists and grades ------------------------------------------------------------------


def test_evangelists_are_engaged_customers_only(ann, bob):
    page = make_standard_page("Blog")
    flow = go_live(flow_templates.create_flow("evangelist"))
    ann.set_stage("customer")
    story = Story()
    for contact in (ann, bob):
        for _ in range(5):
            story.event("page_viewed", contact, page=page)
    story.at(minutes=5)
    ann.refresh_from_db()
    assert lists_of(ann) == ["Evangelists"] and ann.stage == "evangelist"
    assert sent(ann) == ["Review invitation"]
    assert statuses(flow, ann) == ["completed"]
    assert not flow.enrollments.filter(contact=bob).exists()
    story.assert_simulator_agrees(flow, ann)


def test_lead_grading_sorts_the_nurture_list_into_grades_after_five_weeks():
    flow = go_live(flow_templates.create_flow("lead-grading"))
    newsletter = ContactList.objects.get(name="Newsletter")
    story = Story()
    people = []
    for index, score in enumerate((120, 60, 30, 0)):
        contact = ContactFactory(email=f"lead{index}@example.com", score=score)
        contact.add_to_list(newsletter)
        story.latest(contact, "list_joined")
        people.append(contact)
    story.at(weeks=5)
    assert [lists_of(c) for c in people] == [
        ["Grade A", "Newsletter"],
        ["Grade B", "Newsletter"],
        ["Grade C", "Newsletter"],
        ["Grade D", "Newsletter"],
    ]
    assert {run_of(flow, c).status for c in people} == {"completed"}
    story.assert_simulator_agrees(flow, *people)


# --- commerce follow-ups ---------------------------------------------------------------------


def test_new_customers_from_a_first_order_get_the_onboarding_series(ann):
    purchase = go_live(flow_templates.create_flow("purchase-list-move"))
    onboarding = go_live(flow_templates.create_flow("new-customer-onboarding"))
    story = Story()
    story.order(ann)
    story.latest(ann, "stage_changed")
    start = story.now
    story.at(days=3).at(days=7)
    assert sent(ann, onboarding) == ["1. Welcome, customer", "2. Product guide", "3. Tips"]
    offsets = [
        m.created_at - start for m in Message.objects.filter(contact=ann).order_by("created_at")
    ]
    assert offsets == [timedelta(0), timedelta(days=3), timedelta(days=10)]
    assert statuses(purchase, ann) == statuses(onboarding, ann) == ["completed"]
    story.assert_simulator_agrees(purchase, ann)
    story.assert_simulator_agrees(onboarding, ann)


def test_upsell_recommends_a_week_after_buying_the_product(ann, bob):
    flow = go_live(flow_templates.create_flow("upsell", {"sku": "CAM-1"}))
    story = Story()
    story.order(ann, sku="CAM-1")
    story.order(bob, sku="OTHER")
    story.at(days=6)
    assert sent(ann) == []
    story.at(days=1)
    assert sent(ann) == ["Recommendations"] and sent(bob) == []
    assert run_of(flow, ann).context["order"]["items"][0]["sku"] == "CAM-1"
    assert statuses(flow, ann) == ["completed"]
    assert not flow.enrollments.filter(contact=bob).exists()
    story.assert_simulator_agrees(flow, ann)
