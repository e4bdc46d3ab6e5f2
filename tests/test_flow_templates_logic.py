"""Catalog templates that keep the wrong people out: each made through the admin's "New flow
from a template" or ``flows_templates create``, then played as a story — the contact who
should be left alone is, the others go through, and the simulator agrees."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.factories import ContactFactory, make_form_page, make_standard_page
from tests.flow_stories import Story, go_live, sent, statuses
from tests.test_flow_templates_journeys import notified
from tests.test_flow_templates_stories import lists_of, tags_of
from wagtail_flows.flows.describe import describe_conditions, describe_never_enter_if
from wagtail_flows.models import ContactList, Flow

pytestmark = pytest.mark.django_db

GALLERY = "/admin/flows/templates/"


def from_gallery(admin_client, slug, answers=None):
    response = admin_client.post(f"{GALLERY}{slug}/", answers or {})
    assert response.status_code == 302, response.content.decode()[:2000]
    return go_live(Flow.objects.get(pk=response["Location"].rstrip("/").rsplit("/", 1)[-1]))


def from_command(*args):
    call_command("flows_templates", "create", *map(str, args))
    return go_live(Flow.objects.latest("pk"))


def people(*names):
    return [ContactFactory(email=f"{n}@example.com", first_name=n.capitalize()) for n in names]


# --- upsell ---------------------------------------------------------------------------------


def test_upsell_leaves_out_who_has_a_recommended_product_and_converts_who_buys_one():
    flow = from_command(
        "upsell", "--sku", "CAM-1", "--wait-days", 10, "--recommended-skus", "LENS-1, BAG-2"
    )
    assert describe_never_enter_if(flow.never_enter_if) == (
        "Never enters if has ordered LENS-1 or has ordered BAG-2"
    )
    ann, bob, carol = people("ann", "bob", "carol")
    story = Story()
    story.order(bob, sku="LENS-1")  # already has the lens: not told to buy it
    story.at(days=30)
    for contact in (ann, bob, carol):
        story.order(contact, sku="CAM-1")
    assert statuses(flow, bob) == []
    story.at(days=3)
    story.order(carol, sku="BAG-2")  # buys a recommended product while waiting
    story.at(days=7)
    assert sent(ann) == ["Recommendations"] and sent(bob) == sent(carol) == []
    assert statuses(flow, ann) == ["completed"]
    assert statuses(flow, carol) == ["converted"]
    story.assert_simulator_agrees(flow, ann, carol)


def test_upsell_from_the_documented_command_line_still_recommends_to_every_buyer():
    flow = from_command("upsell", "--sku", "LENS-6M", "--wait-days", 10)
    assert list(flow.never_enter_if) == [] and list(flow.goal) == []
    assert flow.steps[0].value["amount"] == 10
    ann, bob = people("ann", "bob")
    story = Story()
    story.order(bob, sku="OTHER")
    story.order(ann, sku="LENS-6M")
    story.order(bob, sku="LENS-6M")
    story.at(days=10)
    assert sent(ann) == sent(bob) == ["Recommendations"]
    story.assert_simulator_agrees(flow, ann, bob)


def test_too_many_recommended_products_are_refused_naming_the_setting():
    many = ",".join(f"SKU-{n}" for n in range(21))
    with pytest.raises(CommandError, match="--recommended-skus: .*at most 20 products"):
        call_command(
            "flows_templates", "create", "upsell", "--sku", "X", "--recommended-skus", many
        )
    assert not Flow.objects.exists()


# --- re-engagement ------------------------------------------------------------------------


def test_re_engagement_never_re_targets_a_dormant_contact(admin_client):
    flow = from_gallery(admin_client, "re-engagement", {"days": 60, "coupon_code": "MISSYOU20"})
    assert describe_never_enter_if(flow.never_enter_if) == "Never enters if has tag “dormant”"
    form, page = make_form_page("Preferences"), make_standard_page("Offers")
    ann, bob, carol = people("ann", "bob", "carol")
    carol.add_tag("dormant")  # dormant from an earlier campaign
    story = Story().watch(ann, bob, carol)
    story.at(days=61)
    assert sent(ann) == sent(bob) == ["1. We miss you"] and sent(carol) == []
    assert statuses(flow, carol) == []

    story.at(days=2)
    story.event("form_submitted", ann, page=form)  # a form is a sign of life too
    assert lists_of(ann) == ["Active"] and statuses(flow, ann) == ["completed"]
    story.at(days=5, minutes=1).at(days=7, minutes=1)
    assert tags_of(bob) == ["dormant"] and statuses(flow, bob) == ["completed"]

    # Both come by once more, then go quiet again: only the one who is not dormant is
    # written to again.
    story.event("page_viewed", ann, page=page)
    story.event("page_viewed", bob, page=page)
    story.at(days=61)
    assert statuses(flow, ann) == ["completed", "waiting"]
    assert sent(ann) == ["1. We miss you", "1. We miss you"]
    assert statuses(flow, bob) == ["completed"] and sent(bob) == [
        "1. We miss you",
        "2. Last chance",
    ]
    story.assert_simulator_agrees(flow, ann, bob)


# --- evangelist ---------------------------------------------------------------------------


def test_evangelists_are_customers_engaged_by_visits_clicks_or_forms(admin_client):
    flow = from_gallery(
        admin_client,
        "evangelist",
        {"min_visits": 5, "min_clicks": 3, "min_forms": 2, "within_days": 30},
    )
    assert describe_conditions(flow.entry_conditions) == (
        "Stage is Customer and (Had page viewed 5 times within 30 days or "
        "Had link clicked 3 times within 30 days or Had form submitted twice within 30 days)"
    )
    blog, form = make_standard_page("Blog"), make_form_page("Feedback")
    ann, bob, carol, dave, erin = people("ann", "bob", "carol", "dave", "erin")
    for customer in (ann, bob, carol, erin):
        customer.set_stage("customer")
    story = Story().watch(erin)
    for _ in range(5):
        story.event("page_viewed", dave, page=blog)  # engaged, but not a customer
        story.event("page_viewed", erin, page=blog)
    for _ in range(3):
        story.event("link_clicked", ann)  # clicks in emails
    for _ in range(2):
        story.event("form_submitted", bob, page=form)
    story.event("form_submitted", carol, page=form)  # engaged, but not enough
    story.event("link_clicked", carol)
    story.at(minutes=5)
    for contact in (ann, bob, carol, dave, erin):
        contact.refresh_from_db()
    evangelists = [c.first_name for c in (ann, bob, carol, dave, erin) if c.stage == "evangelist"]
    assert evangelists == ["Ann", "Bob", "Erin"]
    assert lists_of(ann) == lists_of(bob) == lists_of(erin) == ["Evangelists"]
    assert sent(ann) == sent(bob) == sent(erin) == ["Review invitation"]
    assert statuses(flow, carol) == statuses(flow, dave) == []
    story.assert_simulator_agrees(flow, ann, bob, erin)


# --- super lead ---------------------------------------------------------------------------


def test_super_leads_leave_out_customers_and_those_already_passed_to_sales(admin_client):
    flow = from_gallery(admin_client, "super-lead", {"sales_team": "sales@example.com"})
    assert describe_never_enter_if(flow.never_enter_if) == (
        "Never enters if stage is Customer or stage is Evangelist or in list “Super leads”"
    )
    pricing = make_standard_page("Pricing")
    ann, bob, carol = people("ann", "bob", "carol")
    bob.set_stage("customer")
    carol.add_to_list(ContactList.objects.get(name="Super leads"))  # put there by sales
    story = Story()
    for contact in (ann, bob, carol):
        for _ in range(10):
            story.event("page_viewed", contact, page=pricing)
    story.at(minutes=5)
    assert lists_of(ann) == ["Super leads"] and sent(ann) == ["Personal note"]
    assert notified(flow, ann) == 1
    assert statuses(flow, bob) == statuses(flow, carol) == []
    assert sent(bob) == sent(carol) == [] and lists_of(bob) == []
    story.assert_simulator_agrees(flow, ann)
