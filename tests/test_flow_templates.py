"""Flow templates: every template of the catalog becomes a draft flow with draft starter
emails, goes live once its emails are published, and starts on its trigger."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from tests.factories import ContactFactory, make_document, make_form_page, make_standard_page
from tests.flow_stories import Story, go_live, run_of, set_property
from wagtail_flows import flow_templates
from wagtail_flows.models import ContactList, EmailLibraryPage, EmailPage, Flow, StepRun
from wagtail_flows.models.email_pages import email_pages

pytestmark = pytest.mark.django_db


@pytest.fixture
def site_pages(db):
    section = make_standard_page("Gardening")
    return {
        "form": make_form_page("Newsletter"),
        "pricing": make_standard_page("Pricing"),
        "about": make_standard_page("About us"),
        "section": section,
        "article": make_standard_page("Roses", parent=section),
        "document": make_document(),
        "event_form": make_form_page(
            "Webinar registration",
            fields=[("Email", "email", True), ("Event date", "date", True)],
        ),
    }


def params_for(slug, pages):
    return {
        "welcome-series": {"form_page": pages["form"].pk},
        "visitor-conversion": {"form_page": pages["form"].pk},
        "content-download-follow-up": {"document": pages["document"].pk},
        "topic-automation": {"topic_page": pages["section"].pk, "topic": "gardening"},
        "website-activity-follow-up": {
            "pricing_page": pages["pricing"].pk,
            "about_page": pages["about"].pk,
        },
        "sales-notification": {"pricing_page": pages["pricing"].pk},
        "upsell": {"sku": "SKU-1"},
        "replenishment-reminder": {"sku": "SKU-1"},
        "event-webinar": {"registration_form": pages["event_form"].pk},
        "nps-feedback": {"form_page": pages["form"].pk},
    }.get(slug, {})


def start_story(slug, story, contact, pages):
    """The catalog's trigger for each template, through the real entry points."""
    form, pricing = pages["form"], pages["pricing"]
    triggers = {
        "welcome-series": lambda: story.event("form_submitted", contact, page=form),
        "visitor-conversion": lambda: story.event("form_submitted", contact, page=form),
        "lead-conversion-7-day": lambda: join(story, contact, "Visitor subscribers"),
        "purchase-list-move": lambda: story.order(contact),
        "content-download-follow-up": lambda: story.event(
            "document_downloaded", contact, object_id=pages["document"].pk
        ),
        "topic-automation": lambda: [
            story.event("page_viewed", contact, page=pages["article"]) for _ in range(2)
        ],
        "website-activity-follow-up": lambda: story.event("page_viewed", contact, page=pricing),
        "super-lead": lambda: visits(story, contact, pricing, 10),
        "lead-nurturing": lambda: [
            story.event("form_submitted", contact, page=form) for _ in range(2)
        ],
        "sales-notification": lambda: story.event("page_viewed", contact, page=pricing),
        "evangelist": lambda: (contact.set_stage("customer"), visits(story, contact, pricing, 5)),
        "lead-grading": lambda: join(story, contact, "Newsletter"),
        "abandoned-cart": lambda: (
            story.event("cart_updated", contact, object_id="cart-1", value="30.00"),
            story.at(hours=4, minutes=1),
        ),
        "new-customer-onboarding": lambda: (
            contact.set_stage("customer"),
            story.latest(contact, "stage_changed"),
        ),
        "upsell": lambda: story.order(contact),
        "replenishment-reminder": lambda: story.order(contact),
        "appointment-reminder": lambda: (
            set_property(contact, "next_appointment", (story.now + timedelta(days=3)).date()),
            story.at(minutes=1),
        ),
        "re-engagement": lambda: story.at(days=91),
        "nps-feedback": lambda: story.event(
            "form_submitted", contact, page=form, data={"nps_score": "10"}
        ),
        "product-engagement": lambda: story.event("custom", contact, name="feature_used"),
        "event-webinar": lambda: story.event(
            "form_submitted",
            contact,
            page=pages["event_form"],
            data={"event_date": (story.now + timedelta(days=7)).date().isoformat()},
        ),
        "newsletter-cadence": lambda: join(story, contact, "Newsletter"),
    }
    triggers[slug]()


def join(story, contact, list_name):
    contact.add_to_list(ContactList.objects.get(name=list_name))
    story.latest(contact, "list_joined")


def visits(story, contact, page, count):
    for _ in range(count):
        story.event("page_viewed", contact, page=page)
    story.at(minutes=1)


# --- every template ------------------------------------------------------------------------


def test_the_library_has_the_22_templates_of_the_catalog_in_four_groups():
    assert len(flow_templates.TEMPLATES) == 22
    groups = flow_templates.grouped()
    assert [label for label, _ in groups] == [
        "Acquisition and welcome",
        "Interest and engagement",
        "Commerce",
        "Retention and feedback",
    ]
    assert [len(templates) for _, templates in groups] == [5, 7, 5, 5]


@pytest.mark.parametrize("slug", list(flow_templates.TEMPLATES))
def test_each_template_goes_live_and_starts_on_its_trigger(slug, site_pages, settings):
    settings.MANAGERS = [("Sales", "sales@example.com")]
    template = flow_templates.get_template(slug)
    flow = flow_templates.create_flow(slug, params_for(slug, site_pages))

    assert flow.status == "draft" and flow.name == template.title
    drafts = email_pages(flow)
    assert len({p.pk for p in drafts}) == len(template.emails)
    assert all(not page.live and page.subject for page in drafts)

    go_live(flow)
    story = Story()
    ann = ContactFactory(email="ann@example.com", first_name="Ann")
    start_story(slug, story, ann, site_pages)

    run = run_of(flow, ann)
    assert run.status in ("active", "waiting", "completed")
    assert StepRun.objects.filter(enrollment=run).exists() or (
        run.status == "waiting" and run.current_step == flow.steps[0].id
    )


# --- the builder ---------------------------------------------------------------------------


def test_starter_emails_are_drafts_in_a_library_created_under_the_home_page(site_pages):
    assert not EmailLibraryPage.objects.exists()
    flow = flow_templates.create_flow("welcome-series", {})
    library = EmailLibraryPage.objects.get()
    pages = email_pages(flow)
    assert [p.title for p in pages] == [
        "Welcome series (new subscriber): 1. Welcome",
        "Welcome series (new subscriber): 2. Best of",
        "Welcome series (new subscriber): 3. What's next",
    ]
    assert all(p.get_parent().pk == library.pk and p.has_unpublished_changes for p in pages)
    assert pages[0].subject.startswith("Welcome aboard") and pages[0].preheader
    assert [b.block_type for b in pages[0].body] == ["heading", "text", "button"]


def test_using_a_template_twice_makes_two_flows_with_their_own_emails(site_pages):
    first = flow_templates.create_flow("visitor-conversion", {"coupon_code": "HELLO10"})
    second = flow_templates.create_flow("visitor-conversion", {})
    assert first.pk != second.pk
    assert email_pages(first)[0].pk != email_pages(second)[0].pk
    assert ContactList.objects.filter(name="Visitor subscribers").count() == 1
    coupon = next(b for b in email_pages(first)[0].body if b.block_type == "coupon")
    assert coupon.value["code"] == "HELLO10"


def test_the_lists_a_template_uses_are_created_by_name(site_pages):
    flow_templates.create_flow("purchase-list-move")
    assert set(ContactList.objects.values_list("name", flat=True)) == {
        "Visitor subscribers",
        "Customers",
    }


def test_an_optional_trigger_is_left_out_when_its_setting_is_empty(site_pages):
    without = flow_templates.create_flow(
        "website-activity-follow-up", {"pricing_page": site_pages["pricing"].pk}
    )
    assert len(without.triggers) == 1
    both = flow_templates.create_flow(
        "website-activity-follow-up",
        {"pricing_page": site_pages["pricing"].pk, "about_page": site_pages["about"].pk},
    )
    assert [t.value["page"].pk for t in both.triggers] == [
        site_pages["pricing"].pk,
        site_pages["about"].pk,
    ]


def test_lead_conversion_gets_an_end_date(site_pages):
    flow = flow_templates.create_flow("lead-conversion-7-day", {"runs_for_days": 30})
    assert flow.ends_at - timezone.now() > timedelta(days=29)


@pytest.mark.parametrize(
    "slug, params, field",
    [
        ("upsell", {}, "sku"),
        ("welcome-series", {"form_page": 999999}, "form_page"),
        ("event-webinar", {"registration_form": "pricing"}, "registration_form"),
        ("abandoned-cart", {"after_hours": "0"}, "after_hours"),
        ("super-lead", {"sales_team": "not an address"}, "sales_team"),
        ("super-lead", {"min_open_rate": "150"}, "min_open_rate"),
        ("welcome-series", {"colour": "red"}, "colour"),
    ],
)
def test_a_bad_answer_names_the_setting_and_creates_nothing(slug, params, field, site_pages):
    with pytest.raises(ValidationError) as error:
        flow_templates.create_flow(slug, params)
    assert field in error.value.message_dict
    assert not Flow.objects.exists() and not EmailPage.objects.exists()


def test_a_page_that_is_not_a_form_is_refused_as_a_form(site_pages):
    with pytest.raises(ValidationError) as error:
        flow_templates.create_flow(
            "event-webinar", {"registration_form": site_pages["pricing"].pk}
        )
    assert "is not a form page" in str(error.value.message_dict["registration_form"])


def test_the_sales_team_defaults_to_the_user_who_creates_the_flow(site_pages, admin_user):
    flow = flow_templates.create_flow(
        "sales-notification", {"pricing_page": site_pages["pricing"].pk}, user=admin_user
    )
    assert flow.steps[0].value["recipients"] == admin_user.email


def test_an_unknown_slug_names_the_known_ones():
    with pytest.raises(KeyError, match="welcome-series"):
        flow_templates.get_template("nope")
