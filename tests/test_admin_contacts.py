"""Contacts, lists, segments and messages in the admin; GDPR export and erase."""

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from wagtail.models import ModelLogEntry

from tests.conftest import make_staff_user
from tests.factories import ContactFactory, ContactListFactory
from wagtail_flows.models import Contact, Event, Message, Segment, Suppression

CONTACTS_URL = "/admin/flows/contacts/"
LISTS_URL = "/admin/flows/lists/"
SEGMENTS_URL = "/admin/flows/segments/"
MESSAGES_URL = "/admin/flows/messages/"


def emails_in(response):
    return sorted(c.email for c in response.context["object_list"])


def messages_of(response):
    return [str(m).strip() for m in response.context["messages"]]


@pytest.fixture
def contact_manager(db):
    return make_staff_user("crm", "add_contact", "change_contact", "view_contact")


# --- contacts listing ---------------------------------------------------------------------


@pytest.mark.django_db
def test_contacts_are_searched_by_email_and_name(admin_client):
    ContactFactory(email="ann@example.com", first_name="Ann", last_name="Lee")
    ContactFactory(email="bob@example.com", first_name="Bob", last_name="Stone")
    assert admin_client.get(CONTACTS_URL).status_code == 200
    assert emails_in(admin_client.get(CONTACTS_URL, {"q": "bob@"})) == ["bob@example.com"]
    assert emails_in(admin_client.get(CONTACTS_URL, {"q": "lee"})) == ["ann@example.com"]


@pytest.mark.django_db
def test_contacts_are_filtered_by_status_stage_list_tag_score_and_activity(admin_client):
    now = timezone.now()
    customers = ContactListFactory(name="Customers")
    ann = ContactFactory(email="ann@example.com", stage="customer", score=60)
    ann.add_to_list(customers)
    ann.add_tag("vip")
    Contact.objects.filter(pk=ann.pk).update(last_activity_at=now - timedelta(days=2))
    bob = ContactFactory(email="bob@example.com", status="unsubscribed", score=5)
    Contact.objects.filter(pk=bob.pk).update(last_activity_at=now - timedelta(days=100))
    old = ContactFactory(email="old@example.com", score=-3)
    Contact.objects.filter(pk=old.pk).update(last_activity_at=now - timedelta(days=200))

    def filtered(**params):
        return emails_in(admin_client.get(CONTACTS_URL, params))

    assert filtered(status__exact="unsubscribed") == ["bob@example.com"]
    assert filtered(stage__exact="customer") == ["ann@example.com"]
    assert filtered(list=str(customers.pk)) == ["ann@example.com"]
    assert filtered(tag="vip") == ["ann@example.com"]
    assert filtered(score="50-99") == ["ann@example.com"]
    assert filtered(score="below-0") == ["old@example.com"]
    assert filtered(activity="7") == ["ann@example.com"]
    assert filtered(activity="none-90") == ["bob@example.com", "old@example.com"]
    # A value the filter does not offer filters nothing: it is refused, naming the filter
    # (tests/test_admin_listings.py).
    refused = admin_client.get(CONTACTS_URL, {"list": "not-a-number"})
    assert refused.status_code == 400 and "list" in refused.content.decode()


@pytest.mark.django_db
def test_contacts_listing_queries_do_not_grow_with_rows(admin_client):
    ContactFactory().add_tag("vip")
    admin_client.get(CONTACTS_URL)
    with CaptureQueriesContext(connection) as one:
        admin_client.get(CONTACTS_URL)
    for _ in range(19):
        contact = ContactFactory()
        contact.add_tag("vip")
        contact.add_tag("lead")
    with CaptureQueriesContext(connection) as twenty:
        response = admin_client.get(CONTACTS_URL)
    assert len(response.context["object_list"]) == 20
    assert len(twenty) <= len(one)


# --- the contact page ---------------------------------------------------------------------


@pytest.mark.django_db
def test_the_contact_page_shows_the_timeline_and_actions(admin_client, contact):
    Event.objects.create(contact=contact, kind="page_viewed", name="Pricing")
    response = admin_client.get(f"{CONTACTS_URL}edit/{contact.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Timeline" in html and "Pricing" in html
    for action in ("add-to-list", "unsubscribe", "export", "erase"):
        assert f"{CONTACTS_URL}{contact.pk}/{action}/" in html


@pytest.mark.django_db
def test_consent_cannot_be_edited_as_a_field(admin_client):
    contact = ContactFactory(email="ann@example.com", status="unsubscribed")
    data = {"email": "ann@example.com", "status": "subscribed", "stage": "lead", "score": "1"}
    data.update({"tag_list": "", "properties": "{}", "first_name": "", "last_name": ""})
    data.update({"timezone": "", "source": ""})
    response = admin_client.post(f"{CONTACTS_URL}edit/{contact.pk}/", data)
    assert response.status_code == 302
    contact.refresh_from_db()
    assert (contact.status, contact.stage) == ("unsubscribed", "lead")


@pytest.mark.django_db
def test_a_contact_is_created_in_the_admin(admin_client):
    assert admin_client.get(f"{CONTACTS_URL}create/").status_code == 200
    data = {"email": "New@Example.com", "status": "pending", "stage": "subscriber", "score": "0"}
    data.update({"tag_list": "vip, Lead", "properties": "{}"})
    assert admin_client.post(f"{CONTACTS_URL}create/", data).status_code == 302
    contact = Contact.objects.get()
    assert contact.email == "new@example.com"
    assert sorted(contact.tagged_items.values_list("tag__name", flat=True)) == ["Lead", "vip"]
    assert contact.events.filter(kind="tag_added").count() == 2


@pytest.mark.django_db
def test_editing_tags_records_them_on_the_timeline(admin_client, contact):
    contact.add_tag("old")
    data = {"email": contact.email, "stage": "lead", "score": "0", "properties": "{}"}
    data["tag_list"] = "vip,  ,new"
    assert admin_client.post(f"{CONTACTS_URL}edit/{contact.pk}/", data).status_code == 302
    assert sorted(contact.tagged_items.values_list("tag__name", flat=True)) == ["new", "vip"]
    assert contact.events.filter(kind="tag_removed", name="old").count() == 1
    data["tag_list"] = "x" * 101
    response = admin_client.post(f"{CONTACTS_URL}edit/{contact.pk}/", data)
    assert "tag_list" in response.context["form"].errors


@pytest.mark.django_db
def test_a_contact_is_added_to_a_list(client, contact_manager, contact):
    customers = ContactListFactory(name="Customers")
    client.force_login(contact_manager)
    url = f"{CONTACTS_URL}{contact.pk}/add-to-list/"
    assert "Customers" in client.get(url).content.decode()
    response = client.post(url, {"contact_list": customers.pk}, follow=True)
    assert list(contact.lists.all()) == [customers]
    assert contact.events.filter(kind="list_joined").count() == 1
    assert any("joined “Customers”" in line for line in messages_of(response))
    again = client.post(url, {"contact_list": customers.pk}, follow=True)
    assert any("already on" in line for line in messages_of(again))
    assert client.post(url, {"contact_list": "999"}).status_code == 200  # form error
    assert contact.memberships.count() == 1


@pytest.mark.django_db
def test_a_contact_is_unsubscribed_after_confirmation(client, contact_manager, contact):
    client.force_login(contact_manager)
    url = f"{CONTACTS_URL}{contact.pk}/unsubscribe/"
    assert "no more marketing emails" in client.get(url).content.decode()
    contact.refresh_from_db()
    assert contact.status == "subscribed"
    client.post(url)
    contact.refresh_from_db()
    assert contact.status == "unsubscribed"
    assert contact.events.filter(kind="unsubscribed").count() == 1


@pytest.mark.django_db
def test_unsubscribing_in_the_admin_ends_runs_that_send_email(
    admin_client, contact, django_capture_on_commit_callbacks
):
    import uuid

    from tests.factories import make_email_page
    from wagtail_flows.models import Enrollment, Flow

    page = make_email_page()
    step = {"type": "send_email", "value": {"page": page.pk}, "id": str(uuid.uuid4())}
    flow = Flow.objects.create(
        name="Welcome", status="live", triggers=[{"type": "manual", "value": None}], steps=[step]
    )
    run = Enrollment.objects.create(
        flow=flow, contact=contact, status="waiting", current_step=step["id"]
    )
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(f"{CONTACTS_URL}{contact.pk}/unsubscribe/")
    run.refresh_from_db()
    assert run.status == "exited"


@pytest.mark.django_db
def test_gdpr_export_downloads_json(client, contact_manager, contact):
    Event.objects.create(contact=contact, kind="page_viewed", name="Pricing")
    client.force_login(contact_manager)
    response = client.get(f"{CONTACTS_URL}{contact.pk}/export/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == f'attachment; filename="contact-{contact.pk}.json"'
    data = json.loads(response.content)
    assert data["contact"]["email"] == "ann@example.com"
    assert [e["name"] for e in data["events"]] == ["Pricing"]
    assert ModelLogEntry.objects.filter(action="wagtail_flows.export").count() == 1


@pytest.mark.django_db
def test_erase_deletes_the_contact_and_keeps_only_a_hash(admin_client, contact):
    Event.objects.create(contact=contact, kind="page_viewed", name="Pricing")
    admin_client.post(
        f"{CONTACTS_URL}edit/{contact.pk}/",
        {"email": contact.email, "stage": "lead", "score": "0", "properties": "{}"},
    )
    url = f"{CONTACTS_URL}{contact.pk}/erase/"
    assert "cannot be undone" in admin_client.get(url).content.decode()
    assert Contact.objects.exists()  # a GET erases nothing
    response = admin_client.post(url)
    assert response["Location"] == CONTACTS_URL
    assert not Contact.objects.exists() and not Event.objects.exists()
    assert Suppression.is_suppressed("ann@example.com")
    labels = ModelLogEntry.objects.values_list("label", flat=True)
    assert labels and not any("ann@example.com" in label for label in labels)
    assert ModelLogEntry.objects.filter(action="wagtail_flows.erase").count() == 1


@pytest.mark.django_db
def test_contact_actions_need_their_permissions(client, contact):
    client.force_login(make_staff_user("viewer", "view_contact"))
    for action in ("add-to-list", "unsubscribe", "export", "erase"):
        assert client.get(f"{CONTACTS_URL}{contact.pk}/{action}/").status_code == 403
    assert client.post(f"{CONTACTS_URL}{contact.pk}/erase/").status_code == 403
    assert client.post(f"{CONTACTS_URL}{contact.pk}/unsubscribe/").status_code == 403
    contact.refresh_from_db()
    assert contact.status == "subscribed"
    assert client.get(f"{CONTACTS_URL}edit/{contact.pk}/").status_code == 302


@pytest.mark.django_db
def test_a_contact_manager_may_not_erase(client, contact_manager, contact):
    client.force_login(contact_manager)
    assert (
        f"{contact.pk}/erase/"
        not in client.get(f"{CONTACTS_URL}edit/{contact.pk}/").content.decode()
    )
    assert client.post(f"{CONTACTS_URL}{contact.pk}/erase/").status_code == 403
    assert Contact.objects.filter(pk=contact.pk).exists()


@pytest.mark.django_db
def test_contact_views_send_anonymous_visitors_to_login(client, contact):
    for url in (CONTACTS_URL, f"{CONTACTS_URL}{contact.pk}/export/"):
        assert client.get(url)["Location"].startswith("/admin/login/")


# --- lists and segments -------------------------------------------------------------------


@pytest.mark.django_db
def test_lists_show_member_counts_in_one_query(admin_client):
    customers = ContactListFactory(name="Customers")
    ContactListFactory(name="Empty")
    for _ in range(3):
        ContactFactory().add_to_list(customers)
    response = admin_client.get(LISTS_URL)
    assert response.status_code == 200
    counts = {row.name: row.member_count for row in response.context["object_list"]}
    assert counts == {"Customers": 3, "Empty": 0}
    assert f"{CONTACTS_URL}?list={customers.pk}" in response.content.decode()
    assert admin_client.get(f"{LISTS_URL}edit/{customers.pk}/").status_code == 200
    assert admin_client.get(f"{LISTS_URL}create/").status_code == 200


@pytest.mark.django_db
def test_a_segment_shows_its_live_count(admin_client):
    ContactFactory(stage="customer")
    ContactFactory(stage="customer")
    ContactFactory(stage="lead")
    segment = Segment.objects.create(
        name="Customers", conditions=[{"type": "stage_is", "value": {"stage": "customer"}}]
    )
    assert admin_client.get(SEGMENTS_URL).status_code == 200
    html = admin_client.get(f"{SEGMENTS_URL}edit/{segment.pk}/").content.decode()
    assert "2 contacts" in html
    assert f"{CONTACTS_URL}?segment={segment.pk}" in html
    listing = admin_client.get(CONTACTS_URL, {"segment": str(segment.pk)})
    assert len(listing.context["object_list"]) == 2
    create = admin_client.get(f"{SEGMENTS_URL}create/").content.decode()
    assert "Save the segment to see" in create


@pytest.mark.django_db
def test_lists_and_segments_need_permissions(client):
    client.force_login(make_staff_user("nobody"))
    for url in (LISTS_URL, SEGMENTS_URL, MESSAGES_URL, CONTACTS_URL):
        assert client.get(url).status_code == 302


@pytest.mark.django_db
def test_the_list_chooser_needs_the_permission_to_see_lists(client):
    customers = ContactListFactory(name="Customers")
    modal = "/admin/flows/choose-list/"
    chosen = f"{modal}chosen/{customers.pk}/"
    xhr = {"HTTP_X_REQUESTED_WITH": "XMLHttpRequest"}
    client.force_login(make_staff_user("writer", "change_flow"))
    assert client.get(modal)["Location"] == "/admin/"
    assert client.get(modal, **xhr).status_code == 403
    assert client.get(chosen, **xhr).status_code == 403
    assert client.get(f"{modal}results/", {"q": "Cust"}, **xhr).status_code == 403

    client.force_login(make_staff_user("planner", "change_flow", "view_contactlist"))
    response = client.get(modal, **xhr)
    assert response.status_code == 200 and "Customers" in response.content.decode()
    assert client.get(chosen, **xhr).status_code == 200


# --- messages -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_messages_are_read_only_and_unknown_outcomes_are_flagged(admin_client, contact):
    unknown = Message.objects.create(
        contact=contact, to_email=contact.email, subject="Welcome", status="unknown"
    )
    Message.objects.create(contact=contact, to_email=contact.email, subject="Hi", status="sent")
    response = admin_client.get(MESSAGES_URL)
    assert response.status_code == 200
    assert "Outcome unknown — not resent" in response.content.decode()
    only_unknown = admin_client.get(MESSAGES_URL, {"status__exact": "unknown"})
    assert [m.pk for m in only_unknown.context["object_list"]] == [unknown.pk]
    inspect = admin_client.get(f"{MESSAGES_URL}inspect/{unknown.pk}/")
    assert inspect.status_code == 200
    assert "never sends it again" in inspect.content.decode()
    assert admin_client.get(f"{MESSAGES_URL}edit/{unknown.pk}/").status_code == 302
    assert admin_client.get(f"{MESSAGES_URL}create/").status_code == 302
    assert admin_client.post(f"{MESSAGES_URL}delete/{unknown.pk}/").status_code == 302
    assert Message.objects.filter(pk=unknown.pk).exists()


@pytest.mark.django_db
def test_messages_listing_queries_do_not_grow_with_rows(admin_client, contact):
    from wagtail_flows.models import Flow

    flow = Flow.objects.create(name="Welcome")
    Message.objects.create(contact=contact, to_email=contact.email, flow=flow)
    admin_client.get(MESSAGES_URL)
    with CaptureQueriesContext(connection) as one:
        admin_client.get(MESSAGES_URL)
    for i in range(19):
        other = Flow.objects.create(name=f"Flow {i}")
        Message.objects.create(contact=contact, to_email=contact.email, flow=other)
    with CaptureQueriesContext(connection) as twenty:
        response = admin_client.get(MESSAGES_URL)
    assert len(response.context["object_list"]) == 20
    assert len(twenty) <= len(one)
