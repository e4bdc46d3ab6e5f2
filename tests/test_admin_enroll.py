"""A marketer puts chosen contacts into a live flow: ticked on the Contacts listing, or
named by email address on the flow's "Enroll contacts" page."""

import pytest

from tests.conftest import make_staff_user
from tests.factories import ContactFactory, ContactListFactory
from tests.test_admin import action_url, make_flow, messages_of, raw
from wagtail_flows.models import Enrollment, EnrollmentJob

CONTACTS_URL = "/admin/flows/contacts/"
ENROLL_URL = f"{CONTACTS_URL}enroll/"


def live_flow(name="Welcome"):
    flow = make_flow(name, status="live")
    flow.triggers = [raw("manual", None)]
    flow.save()
    return flow


def chosen(*contacts):
    return ENROLL_URL + "?" + "&".join(f"id={c.pk}" for c in contacts)


def enrolled_emails(flow):
    return sorted(Enrollment.objects.filter(flow=flow).values_list("contact__email", flat=True))


@pytest.mark.django_db
def test_a_marketer_ticks_contacts_and_enrolls_them_in_a_live_flow(
    client, django_capture_on_commit_callbacks
):
    marketer = make_staff_user("marketer", "view_contact", "change_flow", "activate_flow")
    flow = live_flow()
    make_flow("Draft idea")
    ann, bob = ContactFactory(email="ann@example.com"), ContactFactory(email="bob@example.com")
    ContactFactory(email="cy@example.com")
    client.force_login(marketer)
    listing = client.get(CONTACTS_URL).content.decode()
    assert f'name="id" value="{ann.pk}" form="wf-contact-selection"' in listing
    assert f'action="{ENROLL_URL}"' in listing and "Enroll selected in a flow" in listing

    confirm = client.get(chosen(ann, bob))
    assert confirm.status_code == 200
    page = confirm.content.decode()
    assert "ann@example.com, bob@example.com" in page and "cy@example.com" not in page
    assert [f.name for f in confirm.context["form"].fields["flow"].queryset] == ["Welcome"]
    assert not Enrollment.objects.exists()  # a GET enrolls nobody

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(chosen(ann, bob), {"flow": flow.pk}, follow=True)
    assert response.redirect_chain[-1][0] == f"/admin/flows/edit/{flow.pk}/"
    assert "2 contacts are entering “Welcome” in the background." in messages_of(response)
    assert enrolled_emails(flow) == ["ann@example.com", "bob@example.com"]
    job = EnrollmentJob.objects.get()
    assert (job.total, job.enrolled, job.created_by) == (2, 2, marketer)
    assert "Enrolling 2 chosen contacts" in " ".join(response.content.decode().split())


@pytest.mark.django_db
def test_only_a_live_flow_can_be_chosen_and_nothing_ticked_is_refused(admin_client):
    draft = make_flow("Draft idea")
    ann = ContactFactory()
    response = admin_client.post(chosen(ann), {"flow": draft.pk})
    assert response.status_code == 200 and "flow" in response.context["form"].errors
    nothing = admin_client.get(ENROLL_URL, follow=True)
    assert "Tick the contacts to enroll first." in messages_of(nothing)
    assert "No flow is live yet" in admin_client.get(chosen(ann)).content.decode()
    assert not Enrollment.objects.exists()


@pytest.mark.django_db
def test_enrolling_chosen_contacts_needs_the_permission_to_activate_flows(client, flows_editor):
    flow = live_flow()
    ann = ContactFactory()
    manager = make_staff_user("crm", "view_contact", "change_contact", "change_flow")
    for user in (flows_editor, manager):
        client.force_login(user)
        assert client.get(chosen(ann)).status_code == 403
        assert client.post(chosen(ann), {"flow": flow.pk}).status_code == 403
    listing = client.get(CONTACTS_URL).content.decode()
    assert "wf-contact-selection" not in listing and 'name="id"' not in listing
    client.logout()
    assert client.get(chosen(ann))["Location"].startswith("/admin/login/")
    assert not Enrollment.objects.exists()


@pytest.mark.django_db
def test_a_publisher_names_contacts_by_email_on_the_flows_enroll_page(
    client, flows_publisher, django_capture_on_commit_callbacks
):
    flow = live_flow()
    ContactFactory(email="ann@example.com")
    ContactFactory(email="bob@example.com")
    ContactFactory(email="cy@example.com")
    client.force_login(flows_publisher)
    url = action_url(flow, "enroll")
    unknown = client.post(url, {"emails": "ann@example.com\nnobody@example.com"})
    assert "No contact has these addresses: nobody@example.com." in unknown.content.decode()
    customers = ContactListFactory(name="Customers")
    both = client.post(url, {"emails": "ann@example.com", "contact_list": customers.pk})
    assert "Choose a list, a segment or contacts (one of them)." in both.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url, {"emails": " ANN@example.com,\nbob@example.com; "}, follow=True
        )
    assert "2 contacts are entering “Welcome” in the background." in messages_of(response)
    assert enrolled_emails(flow) == ["ann@example.com", "bob@example.com"]
