"""Admin screens show and make only what the user may see and make: the flow tester offers
real contacts only to those who may view contacts, the collection chooser only the
collections a user may choose, and "New flow from a template" creates email pages and lists
only where the user may add them — else it says what is missing and creates nothing."""

import re

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse
from wagtail.models import Collection, GroupCollectionPermission, GroupPagePermission, Page

from tests.conftest import EDITOR_PERMISSIONS, make_staff_user
from tests.factories import (
    ContactFactory,
    ContactListFactory,
    make_email_library,
    make_email_page,
    make_form_page,
    make_standard_page,
    site_root,
)
from tests.test_reports import step
from wagtail_flows.models import ContactList, Flow

pytestmark = pytest.mark.django_db

XHR = {"HTTP_X_REQUESTED_WITH": "XMLHttpRequest"}


def text(response):
    return re.sub(r"\s+", " ", response.content.decode())


# --- the flow tester: real contacts only for those who may view contacts -------------------


@pytest.fixture
def tested_flow():
    page = make_email_page("Hello", subject="Hello {{ contact.first_name }} {{ contact.email }}")
    flow = Flow(name="Tester flow", status="live")
    flow.steps = [step("send_email", "hello", page=page.pk, subject_override="")]
    flow.save()
    return flow


@pytest.fixture
def zelda():
    return ContactFactory(email="zelda.private@example.com", first_name="Zelda", last_name="Q")


def the_tester(flow):
    return reverse("wagtail_flows_reports:tester", args=[flow.pk])


def the_preview(flow, step_id="hello"):
    return reverse("wagtail_flows_reports:tester_preview", args=[flow.pk, step_id])


def test_a_flow_viewer_who_may_not_see_contacts_is_offered_only_the_sample(
    client, tested_flow, zelda
):
    client.force_login(make_staff_user("viewer", "view_flow"))
    response = client.get(the_tester(tested_flow))
    body = text(response)
    assert response.status_code == 200
    assert "zelda.private@example.com" not in body and 'name="email"' not in body
    assert 'data-contact="sample"' in body and "needs the permission to view contacts" in body

    ran = text(client.get(the_tester(tested_flow), {"run": "1"}))
    assert "The path of a sample contact" in ran and "Zelda" not in ran
    link = re.search(r'href="([^"]+/test/hello/[^"]*)"', ran).group(1)
    assert "contact=" not in link
    sample = client.get(link)
    assert sample.status_code == 200 and "Ann" in sample.content.decode()  # the sample's name


@pytest.mark.parametrize("email", ["zelda.private@example.com", "nobody@example.com"])
def test_a_forged_tester_address_is_refused_whether_or_not_the_contact_exists(
    client, tested_flow, zelda, email
):
    client.force_login(make_staff_user("viewer", "view_flow"))
    response = client.get(the_tester(tested_flow), {"run": "1", "email": email})
    assert response.status_code == 403
    assert "permission to view contacts" in text(response) and "Zelda" not in text(response)


def test_a_forged_preview_of_a_contacts_email_is_refused(client, tested_flow, zelda):
    client.force_login(make_staff_user("viewer", "view_flow"))
    for contact in (str(zelda.pk), "999999", "abc"):
        response = client.get(the_preview(tested_flow), {"contact": contact})
        assert response.status_code == 403, contact
        assert "Zelda" not in text(response) and "zelda.private" not in text(response)
    plain = client.get(the_preview(tested_flow), {"contact": zelda.pk, "format": "text"})
    assert plain.status_code == 403


def test_a_flow_viewer_who_may_view_contacts_tests_with_a_real_contact(client, tested_flow, zelda):
    client.force_login(make_staff_user("analyst", "view_flow", "view_contact"))
    form = text(client.get(the_tester(tested_flow)))
    assert 'name="email"' in form and '<option value="zelda.private@example.com">' in form
    ran = text(client.get(the_tester(tested_flow), {"run": "1", "email": zelda.email}))
    assert "The path of zelda.private@example.com" in ran
    link = re.search(r'href="([^"]+/test/hello/\?contact=\d+)"', ran).group(1)
    rendered = client.get(link)
    assert rendered.status_code == 200 and "Zelda" in rendered.content.decode()
    assert client.get(the_preview(tested_flow), {"contact": "abc"}).status_code == 400


# --- the collection chooser: only collections the user may choose --------------------------


@pytest.fixture
def collections():
    root = Collection.get_first_root_node()
    return {
        "ebooks": root.add_child(name="E-books"),
        "contracts": root.add_child(name="Signed contracts"),
    }


CHOOSER = "/admin/flows/choose-collection/"


def grant_documents(user, collection, codename="choose_document"):
    group = Group.objects.get(name=f"{user.username} group")
    GroupCollectionPermission.objects.create(
        group=group, collection=collection, permission=Permission.objects.get(codename=codename)
    )


def test_a_user_who_may_choose_no_collection_is_refused_the_chooser(client, collections):
    client.force_login(make_staff_user("writer", "change_flow"))
    ebooks = collections["ebooks"]
    assert client.get(CHOOSER, **XHR).status_code == 403
    assert client.get(f"{CHOOSER}results/", {"q": "Sign"}, **XHR).status_code == 403
    assert client.get(f"{CHOOSER}chosen/{ebooks.pk}/", **XHR).status_code == 403
    assert client.get(CHOOSER)["Location"] == "/admin/"


def test_the_chooser_offers_only_the_collections_whose_documents_the_user_may_choose(
    client, collections
):
    writer = make_staff_user("writer", "change_flow")
    grant_documents(writer, collections["ebooks"])
    client.force_login(writer)
    html = client.get(CHOOSER, **XHR).json()["html"]
    assert "E-books" in html and "Signed contracts" not in html
    results = client.get(f"{CHOOSER}results/", {"q": "Signed"}, **XHR)
    assert "Signed contracts" not in results.content.decode()
    chosen = client.get(f"{CHOOSER}chosen/{collections['ebooks'].pk}/", **XHR)
    assert chosen.status_code == 200 and "E-books" in chosen.content.decode()
    forged = client.get(f"{CHOOSER}chosen/{collections['contracts'].pk}/", **XHR)
    assert forged.status_code == 404 and "Signed" not in forged.content.decode()


def test_a_superuser_chooses_any_collection(admin_client, collections):
    html = admin_client.get(CHOOSER, **XHR).json()["html"]
    assert "E-books" in html and "Signed contracts" in html


# --- "New flow from a template": only what the user may create ------------------------------

GALLERY = "/admin/flows/templates/"


def flow_maker(name, *extra):
    return make_staff_user(name, *EDITOR_PERMISSIONS, *extra)


def may_add_pages_under(user, page):
    group = Group.objects.get(name=f"{user.username} group")
    GroupPagePermission.objects.create(
        group=group, page=page, permission=Permission.objects.get(codename="add_page")
    )


def rows():
    return Page.objects.count(), ContactList.objects.count(), Flow.objects.count()


def test_without_page_permissions_the_template_names_what_is_missing_and_makes_nothing(client):
    form = make_form_page("Newsletter")
    client.force_login(flow_maker("planner", "add_contactlist"))
    before = rows()
    response = client.post(GALLERY + "welcome-series/", {"form_page": form.pk})
    assert response.status_code == 403
    body = text(response)
    assert "there is no email library yet" in body
    home = site_root().title
    assert f"creating one under “{home}” needs the permission to add pages there" in body
    assert rows() == before


def test_a_library_the_user_may_not_add_to_is_named(client):
    make_email_library()  # under the home page
    user = flow_maker("planner", "add_contactlist")
    may_add_pages_under(user, make_standard_page("Blog"))  # elsewhere only
    client.force_login(user)
    before = rows()
    response = client.post(GALLERY + "abandoned-cart/", {"after_hours": "4", "coupon_code": "X"})
    assert response.status_code == 403
    body = text(response)
    assert "you may not add email pages in the email library (“Emails”)" in body
    assert rows() == before


def test_without_the_list_permission_the_lists_to_create_are_named(client):
    user = flow_maker("planner")
    may_add_pages_under(user, site_root())
    client.force_login(user)
    before = rows()
    response = client.post(GALLERY + "visitor-conversion/", {"coupon_code": "HELLO10"})
    assert response.status_code == 403
    body = text(response)
    assert "creates the list “Visitor subscribers”" in body
    assert "wagtail_flows.add_contactlist" in body
    assert rows() == before


@pytest.fixture
def email_maker(client):
    """May add flows and pages under the home page, but not lists."""
    user = flow_maker("planner")
    may_add_pages_under(user, site_root())
    client.force_login(user)
    return user


def test_a_list_named_by_a_setting_is_that_settings_error(client, email_maker):
    ContactListFactory(name="Newsletter")
    before = rows()
    response = client.post(GALLERY + "newsletter-cadence/", {"list": "VIP"})
    assert response.status_code == 403
    [error] = response.context["form"].errors["list"]
    assert error.startswith("This template creates the list “VIP”, and you may not add lists")
    assert rows() == before


def test_lists_that_exist_need_no_list_permission(client, email_maker):
    ContactListFactory(name="Newsletter")
    response = client.post(GALLERY + "newsletter-cadence/", {"list": "Newsletter"})
    assert response.status_code == 302 and Flow.objects.count() == 1
    assert list(ContactList.objects.values_list("name", flat=True)) == ["Newsletter"]


def test_with_both_permissions_the_flow_and_its_emails_are_made_where_allowed(client):
    form = make_form_page("Newsletter")
    user = flow_maker("planner", "add_contactlist")
    may_add_pages_under(user, site_root())
    client.force_login(user)
    response = client.post(GALLERY + "welcome-series/", {"form_page": form.pk})
    assert response.status_code == 302
    flow = Flow.objects.get()
    library = make_email_library()
    assert library.get_parent().pk == site_root().pk and library.get_children().count() == 3
    assert not library.live  # the planner may add pages there, not publish them
    assert response["Location"] == f"/admin/flows/edit/{flow.pk}/"
