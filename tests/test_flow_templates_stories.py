"""The catalog's stories for acquisition and commerce, played through the templates on a
simulated clock: which emails go to whom and when, the list/tag/stage changes, how each run
ends, and that the simulator predicts the path each contact took."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import ContactFactory, make_document, make_form_page
from tests.flow_stories import Story, go_live, run_of, sent, set_property, statuses
from wagtail_flows import flow_templates
from wagtail_flows.emails import tokens
from wagtail_flows.emails.delivery import deliver_message
from wagtail_flows.engine.sweep_triggers import site_timezone
from wagtail_flows.models import ContactList, Message

pytestmark = pytest.mark.django_db


def lists_of(contact):
    return sorted(contact.lists.values_list("name", flat=True))


def tags_of(contact):
    return sorted(contact.tagged_items.values_list("tag__name", flat=True))


def email_times(contact, flow):
    """(step id, when) of each email queued for the contact by the flow."""
    return list(
        Message.objects.filter(contact=contact, enrollment__flow=flow)
        .order_by("created_at", "pk")
        .values_list("step_id", "created_at")
    )


def sent_on(message):
    return timezone.localtime(message.created_at, site_timezone()).date()


@pytest.fixture
def ann(db):
    return ContactFactory(email="ann@example.com", first_name="Ann")


@pytest.fixture
def bob(db):
    return ContactFactory(email="bob@example.com", first_name="Bob")


# --- abandoned cart ------------------------------------------------------------------------


def test_abandoned_cart_reminds_twice_then_stops_when_they_order(ann):
    flow = go_live(flow_templates.create_flow("abandoned-cart"))
    story = Story()
    story.event("cart_updated", ann, object_id="cart-1", value="42.00")
    left = story.now

    story.at(hours=3)
    assert sent(ann) == []
    story.at(hours=1, minutes=1)
    assert sent(ann) == ["1. You left something behind"]
    story.at(days=1)
    assert sent(ann) == ["1. You left something behind", "2. A little extra"]

    story.at(hours=2)
    story.order(ann, total="42.00")
    story.at(days=3)

    run = run_of(flow, ann)
    assert run.status == "converted"
    assert sent(ann) == ["1. You left something behind", "2. A little extra"]
    assert run.context["cart"]["id"] == "cart-1"
    assert [t - left for _, t in email_times(ann, flow)] == [
        timedelta(hours=4, minutes=1),
        timedelta(days=1, hours=4, minutes=1),
    ]
    story.assert_simulator_agrees(flow, ann)


def test_abandoned_cart_without_an_order_sends_the_faq_and_completes(ann):
    flow = go_live(flow_templates.create_flow("abandoned-cart", {"after_hours": 2}))
    story = Story()
    story.event("cart_updated", ann, object_id="cart-9", value="10.00")
    story.at(hours=2, minutes=1)
    story.at(days=1).at(days=2)
    assert sent(ann) == [
        "1. You left something behind",
        "2. A little extra",
        "3. Questions answered",
    ]
    assert statuses(flow, ann) == ["completed"]
    story.assert_simulator_agrees(flow, ann)


# --- lead conversion, 7 days ----------------------------------------------------------------


def test_lead_conversion_runs_its_week_and_converts_buyers(ann, bob):
    carol = ContactFactory(email="carol@example.com", first_name="Carol")
    story = Story()
    story.order(carol)  # an earlier customer: no testimonials for her
    flow = go_live(flow_templates.create_flow("lead-conversion-7-day", {"runs_for_days": 30}))
    visitors = ContactList.objects.get(name="Visitor subscribers")
    for contact in (ann, bob, carol):
        contact.add_to_list(visitors)
        story.latest(contact, "list_joined")
    start = story.now

    story.at(days=3)
    assert sent(ann) == sent(bob) == sent(carol) == ["Day 3: discount reminder"]
    story.at(days=2)
    story.order(bob)
    story.at(days=1)
    assert sent(ann) == ["Day 3: discount reminder", "Day 6: what customers say"]
    assert sent(carol) == ["Day 3: discount reminder"]
    story.at(days=1)

    assert sent(ann) == [
        "Day 3: discount reminder",
        "Day 6: what customers say",
        "Day 7: free shipping",
    ]
    assert sent(carol) == ["Day 3: discount reminder", "Day 7: free shipping"]
    assert sent(bob) == ["Day 3: discount reminder"]
    assert [run_of(flow, c).status for c in (ann, bob, carol)] == [
        "completed",
        "converted",
        "completed",
    ]
    assert [t - start for _, t in email_times(ann, flow)] == [
        timedelta(days=3),
        timedelta(days=6),
        timedelta(days=7),
    ]
    story.assert_simulator_agrees(flow, ann, bob, carol)

    # The flow has an end date: after it, joining the list starts nothing.
    dave = ContactFactory(email="dave@example.com")
    story.at(days=30)
    dave.add_to_list(visitors)
    story.latest(dave, "list_joined")
    assert not flow.enrollments.filter(contact=dave).exists()


# --- purchase: list move --------------------------------------------------------------------


def test_an_order_moves_the_buyer_from_visitors_to_customers(ann):
    flow = go_live(flow_templates.create_flow("purchase-list-move"))
    ann.add_to_list(ContactList.objects.get(name="Visitor subscribers"))
    story = Story()
    story.order(ann)
    ann.refresh_from_db()
    assert lists_of(ann) == ["Customers"]
    assert ann.stage == "customer"
    assert statuses(flow, ann) == ["completed"]
    assert ann.events.filter(kind="list_left").exists()
    story.assert_simulator_agrees(flow, ann)


# --- welcome series ---------------------------------------------------------------------------


def test_welcome_series_spaces_its_emails_and_keeps_the_clickers(ann, bob, client):
    form = make_form_page("Newsletter")
    flow = go_live(flow_templates.create_flow("welcome-series", {"form_page": form.pk}))
    story = Story()
    for contact in (ann, bob):
        story.event("form_submitted", contact, page=form)
    assert sent(ann) == ["1. Welcome"]
    welcome = Message.objects.get(contact=ann)
    deliver_message(welcome.pk)
    token = tokens.make_token(welcome.pk, tokens.CLICK)
    assert client.get(reverse("wagtail_flows:click", args=[token, 0])).status_code == 302
    story.latest(ann, "link_clicked")
    story.at(days=3).at(days=4)
    carol = ContactFactory(email="carol@example.com")
    story.event("form_submitted", carol, page=make_form_page("Contact us"))
    assert not flow.enrollments.filter(contact=carol).exists()

    assert sent(ann) == sent(bob) == ["1. Welcome", "2. Best of", "3. What's next"]
    start = run_of(flow, bob).enrolled_at
    assert [t - start for _, t in email_times(bob, flow)] == [
        timedelta(0),
        timedelta(days=3),
        timedelta(days=7),
    ]
    assert Message.objects.get(contact=ann, step_id=flow.steps[0].id).clicks == 1
    assert lists_of(ann) == ["Primary subscribers"]
    assert lists_of(bob) == []
    assert statuses(flow, ann) == statuses(flow, bob) == ["completed"]
    story.assert_simulator_agrees(flow, ann, bob)


def test_welcome_series_variants_per_sign_up_source(ann, bob):
    blog_form, landing_form = make_form_page("Blog sign-up"), make_form_page("Landing page")
    blog = go_live(
        flow_templates.create_flow(
            "welcome-series",
            {"form_page": blog_form.pk, "source_tag": "signup-blog", "join_list": "Newsletter"},
        )
    )
    landing = go_live(
        flow_templates.create_flow(
            "welcome-series", {"form_page": landing_form.pk, "source_tag": "signup-landing"}
        )
    )
    story = Story()
    story.event("form_submitted", ann, page=blog_form)
    story.event("form_submitted", bob, page=landing_form)

    assert (sent(ann, blog), sent(ann, landing)) == (["1. Welcome"], [])
    assert (sent(bob, landing), sent(bob, blog)) == (["1. Welcome"], [])
    welcomes = Message.objects.filter(contact__in=[ann, bob]).values_list("page", flat=True)
    assert len(set(welcomes)) == 2  # each source has its own welcome email to edit
    assert (tags_of(ann), lists_of(ann)) == (["signup-blog"], ["Newsletter"])
    assert (tags_of(bob), lists_of(bob)) == (["signup-landing"], [])
    story.at(days=3).at(days=4)
    assert statuses(blog, ann) == statuses(landing, bob) == ["completed"]
    assert not landing.enrollments.filter(contact=ann).exists()
    story.assert_simulator_agrees(blog, ann)
    story.assert_simulator_agrees(landing, bob)


# --- visitor conversion and content download ---------------------------------------------------


def test_content_download_sends_the_content_and_tells_sales(
    ann, django_capture_on_commit_callbacks, mailoutbox
):
    document = make_document("E-book")
    flow = go_live(
        flow_templates.create_flow(
            "content-download-follow-up",
            {"document": document.pk, "sales_team": "sales@example.com"},
        )
    )
    story = Story()
    with django_capture_on_commit_callbacks(execute=True):
        story.event("document_downloaded", ann, object_id=document.pk)
    assert sent(ann) == ["Your download"]
    to_sales = [m for m in mailoutbox if m.to == ["sales@example.com"]]
    assert len(to_sales) == 1 and "ann@example.com" in to_sales[0].body
    assert statuses(flow, ann) == ["completed"]
    story.assert_simulator_agrees(flow, ann)


# --- replenishment ---------------------------------------------------------------------------


def test_replenishment_reminds_before_the_supply_ends_and_a_new_order_resets_it(ann, bob):
    flow = go_live(
        flow_templates.create_flow(
            "replenishment-reminder", {"sku": "LENS-6M", "remind_after_days": 150}
        )
    )
    story = Story()
    story.order(ann, sku="LENS-6M")
    story.order(bob, sku="LENS-6M")
    story.order(ContactFactory(email="carol@example.com"), sku="OTHER")
    assert flow.enrollments.count() == 2
    first = story.now

    story.at(days=100)
    story.order(bob, sku="LENS-6M")
    story.at(days=50)
    assert sent(ann) == ["Time to restock"] and sent(bob) == []
    assert email_times(ann, flow)[0][1] == first + timedelta(days=150)
    story.at(days=100)
    assert sent(bob) == ["Time to restock"]
    assert statuses(flow, ann) == ["completed"]
    assert statuses(flow, bob) == ["exited", "completed"]
    story.assert_simulator_agrees(flow, ann, bob)


# --- appointment reminder --------------------------------------------------------------------


def test_appointment_reminder_follows_the_contacts_date_when_it_changes(ann):
    flow = go_live(flow_templates.create_flow("appointment-reminder", {"days_before": 3}))
    story = Story().watch(ann)
    today = timezone.localtime(story.now, site_timezone()).date()
    set_property(ann, "next_appointment", today + timedelta(days=10))
    story.at(days=6)
    assert sent(ann) == []
    story.at(days=1)
    assert sent(ann) == ["Appointment reminder"]
    story.at(days=1)
    assert sent(ann) == ["Appointment reminder"]  # once per date

    set_property(ann, "next_appointment", today + timedelta(days=20))
    story.at(days=8)
    assert sent(ann) == ["Appointment reminder"]
    story.at(days=1)
    assert sent(ann) == ["Appointment reminder", "Appointment reminder"]
    assert statuses(flow, ann) == ["completed", "completed"]
    story.assert_simulator_agrees(flow, ann)


def test_a_new_date_set_before_the_reminder_moves_the_pending_reminder(ann, bob):
    """Self-correcting schedule: the reminder still pending for the old date is replaced by
    one for the new date, later (Ann) or sooner (Bob), and never sent for the old one."""
    flow = go_live(flow_templates.create_flow("appointment-reminder", {"days_before": 3}))
    story = Story().watch(ann, bob)
    today = timezone.localtime(story.now, site_timezone()).date()
    for contact in (ann, bob):
        set_property(contact, "next_appointment", today + timedelta(days=10))
    story.at(days=1)
    set_property(ann, "next_appointment", today + timedelta(days=20))
    set_property(bob, "next_appointment", today + timedelta(days=5))

    story.at(hours=1)
    assert sent(ann) == sent(bob) == []
    story.at(days=1)  # day 2 = Bob's new date less 3 days
    assert (sent(ann), sent(bob)) == ([], ["Appointment reminder"])
    story.at(days=5)  # day 7 = the old date less 3 days: nothing for either
    assert (sent(ann), sent(bob)) == ([], ["Appointment reminder"])
    story.at(days=10)  # day 17 = Ann's new date less 3 days
    assert (sent(ann), sent(bob)) == (["Appointment reminder"], ["Appointment reminder"])
    reminders = Message.objects.filter(contact__in=[ann, bob]).order_by("created_at")
    assert [sent_on(m) for m in reminders] == [
        today + timedelta(days=2),
        today + timedelta(days=17),
    ]
    assert statuses(flow, ann) == statuses(flow, bob) == ["completed"]
    story.assert_simulator_agrees(flow, ann, bob)
