"""A marketer asks for a page type — "any form page", "any product page" — instead of one
page: a page-view trigger starts on a view of any page of that type (its views counted by
type too), and the "Did something" condition counts views of that type, the same way for
one contact and for a whole segment. A page is of a type when its specific type is exactly
that page model, as Wagtail's page type filters read it."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from wagtail.models import Page

from tests.factories import ContactFactory, identified_browser, make_form_page, make_standard_page
from wagtail_flows.flows import conditions
from wagtail_flows.flows.blocks import ConditionsBlock, TriggersBlock
from wagtail_flows.flows.blocks.page_types import page_type_choices
from wagtail_flows.flows.describe import describe
from wagtail_flows.models import Contact, Enrollment, Event, Flow, Segment

pytestmark = pytest.mark.django_db
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"
FORM_PAGE = "testapp.formpage"
STANDARD_PAGE = "testapp.standardpage"


def child(block_type, value=None):
    return {"type": block_type, "value": value, "id": str(uuid.uuid4())}


@pytest.fixture
def site():
    return {
        "about": make_standard_page("About us"),
        "pricing": make_standard_page("Pricing"),
        "demo": make_form_page("Book a demo"),
        "trial": make_form_page("Start a trial"),
    }


def page_viewed_flow(name, **trigger):
    value = {"page": None, "include_descendants": False, "min_views": 1, **trigger}
    return Flow.objects.create(
        name=name,
        status="live",
        triggers=[child("page_viewed", value)],
        steps=[child("add_tag", {"tag": "interested"})],
    )


def views(browser, *pages, commit):
    for page in pages:
        with commit(execute=True):
            assert browser.get(page.url).status_code == 200


def test_the_choices_are_the_sites_page_types_and_no_email_page():
    assert page_type_choices() == [
        ("", "Any page type"),
        (FORM_PAGE, "Form page"),
        (STANDARD_PAGE, "Standard page"),
    ]


def test_a_view_of_any_form_page_starts_the_flow_and_other_pages_do_not(
    site, django_capture_on_commit_callbacks
):
    ann = ContactFactory(email="ann@example.com")
    flow = page_viewed_flow("Form lovers", page_type=FORM_PAGE)
    browser = identified_browser(ann)

    views(browser, site["about"], site["pricing"], commit=django_capture_on_commit_callbacks)
    assert not Enrollment.objects.filter(flow=flow).exists()

    views(browser, site["trial"], commit=django_capture_on_commit_callbacks)
    run = Enrollment.objects.get(flow=flow)
    assert run.contact == ann and run.trigger_event.page_id == site["trial"].pk


def test_views_are_counted_by_type_before_the_flow_starts(
    site, django_capture_on_commit_callbacks
):
    bo = ContactFactory(email="bo@example.com")
    flow = page_viewed_flow("Keeps looking at forms", page_type=FORM_PAGE, min_views=2)
    browser = identified_browser(bo)
    commit = django_capture_on_commit_callbacks

    views(browser, site["demo"], site["about"], site["pricing"], commit=commit)
    assert not Enrollment.objects.filter(flow=flow).exists()  # one form page: not yet
    views(browser, site["trial"], commit=commit)
    assert Enrollment.objects.get(flow=flow).trigger_event.page_id == site["trial"].pk


def test_a_page_and_a_type_together_need_both(site, django_capture_on_commit_callbacks):
    cy = ContactFactory(email="cy@example.com")
    flow = page_viewed_flow("Pricing, if a form", page=site["pricing"].pk, page_type=FORM_PAGE)
    views(identified_browser(cy), site["pricing"], commit=django_capture_on_commit_callbacks)
    assert not Enrollment.objects.filter(flow=flow).exists()


def did_view(page_type, min_count=1, **extra):
    value = {
        "kind": "page_viewed",
        "min_count": min_count,
        "page": None,
        "page_type": page_type,
        **extra,
    }
    return [child("did_event", value)]


def selected(raw):
    stream = ConditionsBlock().to_python(raw)
    segment = Segment.objects.create(name=f"Segment {uuid.uuid4()}", conditions=raw)
    in_segment = set(segment.contacts().values_list("email", flat=True))
    one_by_one = {c.email for c in Contact.objects.all() if conditions.evaluate(stream, c)}
    assert in_segment == one_by_one  # the database and one contact at a time agree
    return in_segment


def test_the_did_something_condition_counts_views_of_the_type(site):
    now = timezone.now()
    ann, bo, cy = (ContactFactory(email=f"{n}@example.com") for n in ("ann", "bo", "cy"))
    for contact, pages in ((ann, ["demo", "trial"]), (bo, ["demo", "about"]), (cy, ["about"])):
        for page in pages:
            Event.objects.create(
                contact=contact, kind="page_viewed", page=site[page], created_at=now
            )
    home = Page.objects.get(depth=2)  # of the base Page type: never "a standard page"
    Event.objects.create(contact=cy, kind="page_viewed", page=home, created_at=now)

    assert selected(did_view(FORM_PAGE)) == {"ann@example.com", "bo@example.com"}
    assert selected(did_view(FORM_PAGE, min_count=2)) == {"ann@example.com"}
    assert selected(did_view(STANDARD_PAGE)) == {"bo@example.com", "cy@example.com"}
    assert selected(did_view(STANDARD_PAGE, min_count=2)) == set()
    assert selected(did_view(FORM_PAGE, within_days=1)) == {"ann@example.com", "bo@example.com"}


def test_a_page_type_no_longer_on_the_site_matches_nothing(site):
    ann = ContactFactory(email="ann@example.com")
    Event.objects.create(contact=ann, kind="page_viewed", page=site["demo"])
    assert selected(did_view("shop.productpage")) == set()
    block = TriggersBlock().to_python(
        [child("page_viewed", {"page_type": "shop.productpage", "min_views": 1})]
    )
    assert describe(block[0]) == "Views any page of type shop.productpage"


def test_the_type_is_stored_by_name_and_read_in_plain_words(site):
    raw = [
        child("page_viewed", {"page": None, "page_type": FORM_PAGE, "min_views": 3}),
        child(
            "page_viewed",
            {"page": site["pricing"].pk, "include_descendants": True, "page_type": STANDARD_PAGE},
        ),
    ]
    block = TriggersBlock()
    value = block.to_python(raw)
    assert block.get_prep_value(value)[0]["value"]["page_type"] == FORM_PAGE
    assert [describe(c) for c in value] == [
        "Views any form page 3 times",
        "Views “Pricing” or a page below it (only standard pages)",
    ]
    condition = ConditionsBlock().to_python(did_view(FORM_PAGE, min_count=2, within_days=7))
    assert describe(condition[0]) == "Had page viewed on any form page twice within 7 days"


def test_an_unknown_type_is_refused_by_the_editor(site):
    from django.core.exceptions import ValidationError

    block = TriggersBlock()
    with pytest.raises(ValidationError):
        block.clean(block.to_python([child("page_viewed", {"page_type": "nope.nothing"})]))
    assert block.clean(block.to_python([child("page_viewed", {"page_type": FORM_PAGE})]))


def test_old_views_before_the_window_do_not_count(site):
    ann = ContactFactory(email="ann@example.com")
    long_ago = timezone.now() - timedelta(days=10)
    Event.objects.create(contact=ann, kind="page_viewed", page=site["demo"], created_at=long_ago)
    assert selected(did_view(FORM_PAGE, within_days=7)) == set()
    assert selected(did_view(FORM_PAGE)) == {"ann@example.com"}
