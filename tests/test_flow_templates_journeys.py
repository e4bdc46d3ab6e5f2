"""More catalog stories, one per template: engagement, grading, commerce follow-ups."""

from datetime import timedelta

import pytest
from django.core import mail

from tests.factories import ContactFactory, make_form_page, make_standard_page
from tests.test_flow_templates import Story, go_live, run_of, sent
from tests.test_flow_templates_stories import lists_of, tags_of
from wagtail_flows import emails, flow_templates
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
    Story().event("form_submitted", ann, page=form)
    assert lists_of(ann) == ["Visitor subscribers"]
    assert sent(ann) == ["Your discount"]
    emails.deliver_message(Message.objects.get(contact=ann).pk)
    assert "HELLO10" in mail.outbox[0].body and mail.outbox[0].to == ["ann@example.com"]
    assert run_of(flow, ann).status == "completed"


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
    ann.refresh_from_db()
    assert (ann.score, ann.stage) == (50, "mql")
    story.at(days=14)
    bob.refresh_from_db()
    assert (bob.score, bob.stage) == (10, "subscriber")
    assert run_of(flow, ann).status == run_of(flow, bob).status == "completed"


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
    assert lists_of(bob) == [] and not flow.enrollments.filter(contact=bob).exists()
    assert flow.steps[-1].value["recipients"] == "sales@example.com"


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
    assert flow.enrollments.filter(contact=ann).count() == 1  # once a month at most


def test_topic_automation_tags_readers_of_the_topic_and_sends_its_series(ann, bob):
    section = make_standard_page("Gardening")
    roses = make_standard_page("Roses", parent=section)
    elsewhere = make_standard_page("Cooking")
    flow = go_live(
        flow_templates.create_flow(
            "topic-automation", {"topic_page": section.pk, "topic": "gardening"}
        )
    )
    story = Story()
    story.event("page_viewed", ann, page=roses)
    assert not flow.enrollments.exists()
    story.event("page_viewed", ann, page=section)
    for _ in range(3):
        story.event("page_viewed", bob, page=elsewhere)
    assert tags_of(ann) == ["gardening"] and sent(ann) == ["1. Topic introduction"]
    story.at(days=4)
    assert sent(ann) == ["1. Topic introduction", "2. Topic deep dive"]
    assert tags_of(bob) == [] and sent(bob) == []


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
    assert not flow.enrollments.filter(contact=bob).exists()


def test_lead_grading_sorts_the_nurture_list_into_grades_after_five_weeks():
    flow = go_live(flow_templates.create_flow("lead-grading"))
    newsletter = ContactList.objects.get(name="Newsletter")
    story = Story()
    people = []
    for index, score in enumerate((90, 60, 30, 0)):
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


def test_new_customers_from_a_first_order_get_the_onboarding_series(ann):
    go_live(flow_templates.create_flow("purchase-list-move"))
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
    assert sent(bob) == ["Feature tips"]
    assert run_of(flow, bob).status == "completed"
