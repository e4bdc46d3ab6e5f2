"""A visitor who fills in a Wagtail form becomes a known contact, with their earlier visits;
a login does the same; nobody takes over someone else's history by typing their email."""

import pytest
from django.http import HttpResponse
from django.test import Client, RequestFactory
from wagtail.contrib.forms.models import FormSubmission
from wagtail.models import Site

from tests.factories import ContactFactory, make_form_page, make_standard_page
from wagtail_flows import capture as tracking
from wagtail_flows.capture.forms import FlowsFormMixin
from wagtail_flows.models import ConsentSettings, Contact, Event, Visitor

pytestmark = pytest.mark.django_db
BROWSER = "Mozilla/5.0 (Windows NT 10.0) Firefox/128.0"
CONSENT = "subscribe_to_our_newsletter"


@pytest.fixture
def browser():
    return Client(headers={"user-agent": BROWSER})


@pytest.fixture
def form_page():
    return make_form_page("Newsletter")


def submit(client, page, **data):
    response = client.post(page.url, data)
    assert response.status_code == 200
    return response


def visitor_of(client):
    return tracking.VisitorCookie.loads(client.cookies["flows_vid"].value)


def single_opt_in():
    """The site owner switched "Require double opt-in" off (tests/test_consent.py has it on)."""
    consent = ConsentSettings.for_site(Site.objects.get(is_default_site=True))
    consent.require_double_opt_in = False
    consent.save()


def test_a_newsletter_signup_creates_a_subscribed_contact_with_its_earlier_visits(
    browser, form_page
):
    single_opt_in()
    blog = make_standard_page("Blog")
    browser.get(blog.url)
    submit(browser, form_page, email="Ann@Example.com", first_name="Ann", **{CONSENT: "on"})

    contact = Contact.objects.get()
    assert (contact.email, contact.first_name, contact.status) == (
        "ann@example.com",
        "Ann",
        "subscribed",
    )
    assert contact.consent_at is not None and contact.source == "form: Newsletter"
    form_event = contact.events.get(kind="form_submitted")
    assert form_event.page_id == form_page.pk
    assert form_event.data == {"first_name": "Ann", CONSENT: True}  # no email in event data
    assert contact.events.filter(kind="page_viewed", page=blog).exists()  # moved on identify
    assert Visitor.objects.get(pk=visitor_of(browser).id).contact == contact
    assert visitor_of(browser).identified
    contact.refresh_from_db()
    assert contact.last_form_at == form_event.created_at and contact.last_visit_at


def test_without_the_consent_tick_the_contact_is_not_subscribed(browser, form_page):
    submit(browser, form_page, email="ben@example.com")
    contact = Contact.objects.get()
    assert contact.status == "pending" and contact.consent_at is None
    assert not contact.can_receive_email()


def test_an_unsubscribed_contact_who_ticks_the_box_again_stays_unsubscribed_until_confirming(
    browser, form_page
):
    single_opt_in()  # even then: a form alone never re-subscribes (issue #14)
    contact = ContactFactory(email="cy@example.com", status="unsubscribed")
    submit(browser, form_page, email="cy@example.com", **{CONSENT: "on"})
    contact.refresh_from_db()
    assert contact.status == "unsubscribed"
    assert contact.consents.get().method == "double_opt_in"


def test_a_bounced_contact_stays_bounced(browser, form_page):
    contact = ContactFactory(email="dee@example.com", status="bounced")
    submit(browser, form_page, email="dee@example.com", **{CONSENT: "on"})
    contact.refresh_from_db()
    assert contact.status == "bounced"


def test_an_invalid_submission_records_nothing(browser, form_page):
    response = browser.post(form_page.url, {"email": "not-an-email"})
    assert response.status_code == 200 and b"email" in response.content
    assert not Event.objects.filter(kind="form_submitted").exists()
    assert not Contact.objects.exists()


def test_the_email_field_is_found_by_a_configured_name(browser):
    page = make_form_page(
        "Contact us",
        fields=[("Email address", "singleline", True), ("Message", "multiline", False)],
    )
    submit(browser, page, email_address="eve@example.com", message="Hello")
    event = Contact.objects.get(email="eve@example.com").events.get(kind="form_submitted")
    assert event.data == {"message": "Hello"}


def test_a_form_without_email_is_recorded_for_the_visitor(browser):
    page = make_form_page("Poll", fields=[("Favourite colour", "singleline", True)])
    submit(browser, page, favourite_colour="blue")
    event = Event.objects.get(kind="form_submitted")
    assert event.contact is None and event.visitor_id == visitor_of(browser).id
    assert event.data == {"favourite_colour": "blue"}


def test_a_programmatic_submission_without_a_request_still_records_the_contact(form_page):
    FormSubmission.objects.create(page=form_page, form_data={"email": "fay@example.com"})
    event = Event.objects.get(kind="form_submitted")
    assert event.contact.email == "fay@example.com" and event.visitor_id is None


def test_the_mixin_links_submissions_served_outside_wagtail_page_serving(form_page):
    class HeadlessForm:
        def serve(self, request):
            FormSubmission.objects.create(page=form_page, form_data={"email": "gil@example.com"})
            return HttpResponse("thanks")

    class FlowsHeadlessForm(FlowsFormMixin, HeadlessForm):
        pass

    request = RequestFactory(headers={"user-agent": BROWSER}).post("/api/form/")
    response = FlowsHeadlessForm().serve(request)
    visitor_id = tracking.VisitorCookie.loads(response.cookies["flows_vid"].value).id
    contact = Contact.objects.get(email="gil@example.com")
    assert Visitor.objects.get(pk=visitor_id).contact == contact
    assert contact.events.get(kind="form_submitted").visitor_id == visitor_id


def test_a_form_under_do_not_track_creates_the_contact_but_links_no_browser(form_page):
    client = Client(headers={"user-agent": BROWSER, "dnt": "1"})
    response = submit(client, form_page, email="hal@example.com")
    assert "flows_vid" not in response.cookies
    event = Contact.objects.get().events.get(kind="form_submitted")
    assert event.visitor_id is None and not Visitor.objects.exists()


# --- the attacker ------------------------------------------------------------------------------


def test_typing_someone_elses_email_does_not_take_over_their_history(form_page):
    blog = make_standard_page("Blog")
    victim_browser, attacker = (
        Client(headers={"user-agent": BROWSER}),
        Client(headers={"user-agent": BROWSER}),
    )
    victim_browser.get(blog.url)
    submit(victim_browser, form_page, email="victim@example.com")
    victim = Contact.objects.get(email="victim@example.com")
    attacker.get(blog.url)
    submit(attacker, form_page, email="mallory@example.com")
    mallory = Contact.objects.get(email="mallory@example.com")
    victim_events = set(victim.events.values_list("pk", flat=True))

    submit(attacker, form_page, email="victim@example.com")

    # The attacker's browser stays Mallory's; no visitor was re-tied; histories are unmoved.
    assert Visitor.objects.get(pk=visitor_of(attacker).id).contact == mallory
    assert Visitor.objects.get(pk=visitor_of(victim_browser).id).contact == victim
    assert victim_events < set(victim.events.values_list("pk", flat=True))
    newest = victim.events.get(kind="form_submitted", visitor__isnull=True)
    assert newest.page_id == form_page.pk  # recorded on the typed address, without a browser
    assert mallory.events.filter(kind="page_viewed").count() == 1
    attacker.get(blog.url)
    assert victim.events.filter(kind="page_viewed").count() == 1


def test_a_trusted_identification_of_another_person_starts_a_fresh_visitor():
    ann, ben = ContactFactory(), ContactFactory()
    request = RequestFactory(headers={"user-agent": BROWSER}).get("/")
    tracking.identify(request, ann)
    tracking.record_event("page_viewed", contact=ann, visitor=request._flows_visitor.id)
    first_id = request._flows_visitor.id

    assert tracking.identify(request, ben, trusted=True)
    assert request._flows_visitor.id != first_id and request._flows_visitor.dirty
    assert Visitor.objects.get(pk=first_id).contact == ann
    assert Visitor.objects.get(pk=request._flows_visitor.id).contact == ben
    assert ann.events.count() == 1 and ben.events.count() == 0


def test_an_untrusted_identification_of_another_person_is_refused():
    ann, ben = ContactFactory(), ContactFactory()
    request = RequestFactory(headers={"user-agent": BROWSER}).get("/")
    tracking.identify(request, ann)
    assert tracking.identify(request, ben, trusted=False) is False
    assert Visitor.objects.get().contact == ann


# --- login -------------------------------------------------------------------------------------


def test_logging_in_identifies_the_browser_as_the_users_contact(browser, django_user_model):
    blog = make_standard_page("Blog")
    user = django_user_model.objects.create_superuser("ida", "Ida@example.com", "pw")
    contact = ContactFactory(email="ida@example.com")
    browser.get(blog.url)
    response = browser.post("/admin/login/", {"username": "ida", "password": "pw"})
    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.user == user
    assert Visitor.objects.get(pk=visitor_of(browser).id).contact == contact
    assert contact.events.filter(kind="page_viewed").count() == 1


def test_logging_in_without_a_contact_creates_none(browser, django_user_model):
    django_user_model.objects.create_superuser("joe", "joe@example.com", "pw")
    browser.post("/admin/login/", {"username": "joe", "password": "pw"})
    assert not Contact.objects.exists()


@pytest.mark.parametrize("headers", [{"dnt": "1"}, {"user-agent": "Barracuda link scanner bot"}])
def test_a_browser_that_may_not_be_tracked_is_never_tied(headers):
    request = RequestFactory(headers={"user-agent": BROWSER, **headers}).get("/")
    assert tracking.identify(request, ContactFactory()) is False
    assert not Visitor.objects.exists() and not hasattr(request, "_flows_visitor")


# --- with a live flow listening ------------------------------------------------------------------


def test_a_signup_starts_a_live_flow_after_commit(
    browser, form_page, django_capture_on_commit_callbacks
):
    from wagtail_flows.models import Enrollment, Flow

    flow = Flow(name="Welcome", status="live")
    flow.triggers = [("form_submitted", {"form_page": form_page})]
    flow.steps = [("add_tag", {"tag": "welcomed"})]
    flow.save()
    with django_capture_on_commit_callbacks(execute=True):
        submit(browser, form_page, email="kai@example.com", **{CONSENT: "on"})
    contact = Contact.objects.get(email="kai@example.com")
    event = contact.events.get(kind="form_submitted")
    assert Enrollment.objects.get(contact=contact).flow == flow
    assert Enrollment.objects.get().trigger_event == event
