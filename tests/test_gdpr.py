"""A site owner can hand a person everything held on them, and erase it on request."""

import json

import pytest
from django.test import Client

from tests.factories import ContactFactory, ContactListFactory, make_form_page, make_standard_page
from wagtail_flows import capture as tracking
from wagtail_flows import gdpr
from wagtail_flows.models import (
    Contact,
    Enrollment,
    Event,
    Flow,
    ListMembership,
    Message,
    StepRun,
    Suppression,
    TaggedContact,
    Visitor,
)

pytestmark = pytest.mark.django_db
BROWSER = "Mozilla/5.0 (X11) Firefox/128.0"


@pytest.fixture
def known_person():
    """Ann browsed, signed up, joined a list, got a tag, an email and a flow run."""
    browser = Client(headers={"user-agent": BROWSER})
    browser.get(make_standard_page("Blog").url)
    form = make_form_page("Newsletter")
    browser.post(form.url, {"email": "ann@example.com", "subscribe_to_our_newsletter": "on"})
    ann = Contact.objects.get(email="ann@example.com")
    ann.add_to_list(ContactListFactory(name="Newsletter"))
    ann.add_tag("reader")
    enrollment = Enrollment.objects.create(flow=Flow.objects.create(name="Welcome"), contact=ann)
    StepRun.objects.create(enrollment=enrollment, step_id="s1", step_type="send_email")
    Message.objects.create(contact=ann, enrollment=enrollment, to_email=ann.email, subject="Hi")
    return ann, browser


def test_the_export_holds_everything_we_know(known_person):
    ann, _browser = known_person
    data = gdpr.export_contact(ann)
    json.dumps(data)  # JSON-ready
    assert data["contact"]["email"] == "ann@example.com"
    assert data["contact"]["status"] == "subscribed"
    assert data["tags"] == ["reader"]
    assert [m["list"] for m in data["lists"]] == ["Newsletter"]
    assert {e["kind"] for e in data["events"]} >= {
        "page_viewed",
        "form_submitted",
        "list_joined",
        "tag_added",
    }
    assert len(data["visitors"]) == 1
    assert data["messages"][0]["subject"] == "Hi"
    assert data["enrollments"][0]["flow"] == "Welcome"
    assert data["enrollments"][0]["steps"][0]["step_type"] == "send_email"
    assert data["form_submissions"] == ["Newsletter"]


def test_another_contacts_data_is_not_exported(known_person):
    ann, _browser = known_person
    other = ContactFactory(email="bob@example.com")
    tracking.record_event("custom", contact=other, name="secret")
    exported = json.dumps(gdpr.export_contact(ann))
    assert "bob@example.com" not in exported and "secret" not in exported


def test_erasing_deletes_the_person_and_keeps_only_a_hash(known_person):
    ann, browser = known_person
    bob = ContactFactory(email="bob@example.com")
    tracking.record_event("custom", contact=bob, name="kept")

    gdpr.erase_contact(ann)

    assert list(Contact.objects.all()) == [bob]
    assert list(Event.objects.values_list("name", flat=True)) == ["kept"]
    for model in (Visitor, Enrollment, StepRun, Message, ListMembership, TaggedContact):
        assert not model.objects.exists(), model
    suppression = Suppression.objects.get()
    assert "ann" not in suppression.email_hash and suppression.reason == "erased"
    assert Suppression.is_suppressed("ANN@example.com")


def test_an_erased_person_who_signs_up_again_is_never_emailed(known_person):
    ann, browser = known_person
    gdpr.erase_contact(ann)
    form = make_form_page("Landing")
    browser.post(form.url, {"email": "ann@example.com", "subscribe_to_our_newsletter": "on"})
    again = Contact.objects.get(email="ann@example.com")
    assert again.status == "subscribed"
    assert not again.can_receive_email() and not again.can_receive_email(transactional=True)


def test_the_erased_browsers_next_visit_starts_afresh(known_person):
    ann, browser = known_person
    gdpr.erase_contact(ann)
    page = make_standard_page("Pricing")
    assert browser.get(page.url).status_code == 200  # its old cookie breaks nothing
    event = Event.objects.get(kind="page_viewed")
    assert event.contact_id is None
