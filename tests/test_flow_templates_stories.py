"""The catalog's stories, played through the richest templates on a simulated clock: which
emails go to whom and when, the list/tag/stage changes, how each run ends, and that the
simulator predicts the same path."""

import datetime as dt
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import ContactFactory, make_document, make_form_page, make_standard_page
from tests.test_flow_templates import Story, go_live, run_of, sent, set_property
from wagtail_flows import emails, flow_templates, tokens
from wagtail_flows.engine.simulate import SimEvent, simulate
from wagtail_flows.engine.sweep_triggers import site_timezone
from wagtail_flows.engine.timing import local_instant
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


def predicted_emails(flow, start, events=(), until=timedelta(days=30)):
    """(step id, when) of the emails the simulator predicts, and how it says the run ends."""
    sample = ContactFactory(email="sample@example.com")
    path = simulate(flow, sample, events=events, until=until, start=start)
    emails_ = [(p.step_id, p.at) for p in path if p.step_type == "send_email"]
    ends = [p.outcome for p in path if p.step_type == "end"]
    return emails_, (ends[-1] if ends else "open")


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
    first_sent = story.now
    story.at(days=1)
    assert sent(ann) == ["1. You left something behind", "2. A little extra"]

    story.at(hours=2)
    story.order(ann, total="42.00")
    story.at(days=3)

    run = run_of(flow, ann)
    assert run.status == "converted"
    assert sent(ann) == ["1. You left something behind", "2. A little extra"]
    assert run.context["cart"]["id"] == "cart-1"

    predicted, ending = predicted_emails(
        flow, first_sent, events=[SimEvent(at=timedelta(days=1, hours=2), kind="order_placed")]
    )
    assert predicted == email_times(ann, flow)
    assert ending == "converted"
    assert first_sent - left == timedelta(hours=4, minutes=1)


def test_abandoned_cart_without_an_order_sends_the_faq_and_completes(ann):
    flow = go_live(flow_templates.create_flow("abandoned-cart", {"after_hours": 2}))
    story = Story()
    story.event("cart_updated", ann, object_id="cart-9", value="10.00")
    story.at(hours=2, minutes=1)
    start = story.now
    story.at(days=1).at(days=2)
    assert sent(ann) == [
        "1. You left something behind",
        "2. A little extra",
        "3. Questions answered",
    ]
    assert run_of(flow, ann).status == "completed"
    predicted, ending = predicted_emails(flow, start)
    assert predicted == email_times(ann, flow) and ending == "completed"


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
    predicted, ending = predicted_emails(flow, start)
    assert predicted == email_times(ann, flow) and ending == "completed"

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
    assert run_of(flow, ann).status == "completed"
    assert ann.events.filter(kind="list_left").exists()
    path = simulate(flow, ContactFactory(email="s@example.com"))
    assert [p.step_type for p in path] == [
        "remove_from_list",
        "add_to_list",
        "set_stage",
        "end",
    ]


# --- welcome series ---------------------------------------------------------------------------


def test_welcome_series_spaces_its_emails_and_keeps_the_clickers(ann, bob, client):
    form = make_form_page("Newsletter")
    flow = go_live(flow_templates.create_flow("welcome-series", {"form_page": form.pk}))
    other_form = make_form_page("Contact us")
    story = Story()
    carol = ContactFactory(email="carol@example.com")
    story.event("form_submitted", carol, page=other_form)
    assert not flow.enrollments.filter(contact=carol).exists()

    for contact in (ann, bob):
        story.event("form_submitted", contact, page=form)
    start = story.now
    assert sent(ann) == ["1. Welcome"]

    welcome = Message.objects.get(contact=ann)
    emails.deliver_message(welcome.pk)
    welcome.refresh_from_db()
    assert welcome.status == "sent" and welcome.links
    token = tokens.make_token(welcome.pk, tokens.CLICK)
    assert client.get(reverse("wagtail_flows:click", args=[token, 0])).status_code == 302

    story.at(days=3)
    assert sent(ann) == ["1. Welcome", "2. Best of"]
    story.at(days=4)
    assert sent(ann) == sent(bob) == ["1. Welcome", "2. Best of", "3. What's next"]
    assert lists_of(ann) == ["Primary subscribers"]
    assert lists_of(bob) == []
    assert run_of(flow, ann).status == run_of(flow, bob).status == "completed"
    predicted, _ = predicted_emails(flow, start)
    assert predicted == email_times(bob, flow)


# --- re-engagement --------------------------------------------------------------------------


def test_re_engagement_wins_back_the_ones_who_return_and_tags_the_rest(ann, bob):
    flow = go_live(flow_templates.create_flow("re-engagement", {"days": 60}))
    page = make_standard_page("Offers")
    story = Story()
    story.at(days=61)
    woke = story.now
    ann.refresh_from_db(), bob.refresh_from_db()
    assert lists_of(ann) == lists_of(bob) == ["Inactive"]
    assert sent(ann) == sent(bob) == ["1. We miss you"]

    story.at(days=2)
    story.event("page_viewed", ann, page=page)
    assert lists_of(ann) == ["Active"]
    assert run_of(flow, ann).status == "completed"

    story.at(days=5, minutes=1)
    assert sent(bob) == ["1. We miss you", "2. Last chance"]
    story.at(days=7, minutes=1)
    assert tags_of(bob) == ["dormant"] and lists_of(bob) == ["Inactive"]
    assert run_of(flow, bob).status == "completed"
    assert sent(ann) == ["1. We miss you"]

    predicted, ending = predicted_emails(flow, woke)
    assert [step for step, _ in predicted] == [step for step, _ in email_times(bob, flow)]
    assert ending == "completed"


# --- NPS ----------------------------------------------------------------------------------------


def test_nps_thanks_fans_apologises_to_critics_and_a_complaint_cancels(ann, bob):
    carol = ContactFactory(email="carol@example.com")
    flow = go_live(flow_templates.create_flow("nps-feedback"))
    story = Story()
    for contact, score in ((ann, 10), (bob, 3), (carol, 9)):
        set_property(contact, "nps_score", score)
        story.event("custom", contact, name="nps_answered")
    story.at(minutes=20)
    story.event("custom", carol, name="complaint")
    story.at(hours=1)

    assert (sent(ann), tags_of(ann)) == (["Thanks, promoter"], ["promoter"])
    assert (sent(bob), tags_of(bob)) == (["Sorry, detractor"], ["detractor"])
    assert sent(carol) == [] and run_of(flow, carol).status == "exited"
    assert run_of(flow, ann).status == "completed"


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
    runs = list(
        flow.enrollments.filter(contact=bob).order_by("pk").values_list("status", flat=True)
    )
    assert runs == ["exited", "completed"]


# --- newsletter cadence and webinar dates ------------------------------------------------------


def test_newsletter_cadence_sends_on_days_1_3_7_10_then_quarterly(ann):
    flow = go_live(flow_templates.create_flow("newsletter-cadence"))
    story = Story()
    ann.add_to_list(ContactList.objects.get(name="Newsletter"))
    story.latest(ann, "list_joined")
    start = story.now
    for _ in range(10):
        story.at(days=1)
    for _ in range(4):
        story.at(weeks=13)
    offsets = [(t - start).days for _, t in email_times(ann, flow)]
    assert offsets[:4] == [0, 2, 6, 9]
    assert len(offsets) == 8 and offsets[4] - offsets[3] >= 91
    predicted, ending = predicted_emails(flow, start, until=timedelta(days=400))
    assert [s for s, _ in predicted] == [s for s, _ in email_times(ann, flow)]
    assert ending == "completed"


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
    assert run_of(flow, ann).status == "completed"


def test_appointment_reminder_follows_the_contacts_date_when_it_changes(ann):
    flow = go_live(flow_templates.create_flow("appointment-reminder", {"days_before": 3}))
    story = Story()
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
    assert flow.enrollments.filter(contact=ann).count() == 2


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
    assert run_of(flow, ann).status == "completed"
