"""In a real browser: a site owner defines a "Company size" property, sets it on a contact's
page, and filters the Contacts listing by it."""

import pytest

from tests.browser.conftest import log_in
from tests.conftest import make_staff_user
from tests.factories import ContactFactory
from wagtail_flows.models import Contact, ContactProperty

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PERMISSIONS = (
    "add_contactproperty",
    "change_contactproperty",
    "view_contactproperty",
    "add_contact",
    "change_contact",
    "view_contact",
)


def test_define_a_property_set_it_on_a_contact_and_filter_by_it(live_server, page, artifacts):
    ann = ContactFactory(email="ann@example.com", first_name="Ann")
    ContactFactory(email="bob@example.com", first_name="Bob")
    make_staff_user("owner", *PERMISSIONS)
    log_in(page, live_server, "owner", "password")

    page.goto(f"{live_server.url}/admin/flows/properties/create/")
    page.fill("#id_label", "Company size")
    page.fill("#id_key", "company_size")
    page.select_option("#id_type", "number")
    page.check("#id_in_listing")
    page.get_by_role("button", name="Save").first.click()
    page.wait_for_url(f"{live_server.url}/admin/flows/properties/")
    assert ContactProperty.objects.get().type == "number"

    page.goto(f"{live_server.url}/admin/flows/contacts/edit/{ann.pk}/")
    size = page.locator("#id_property__company_size")
    assert size.get_attribute("type") == "number"
    size.fill("250")
    page.screenshot(path=str(artifacts / "properties-contact-edit.png"), full_page=True)
    page.get_by_role("button", name="Save").first.click()
    page.wait_for_url(f"{live_server.url}/admin/flows/contacts/")
    assert Contact.objects.get(pk=ann.pk).properties == {"company_size": 250}

    page.fill("#id_p_company_size_min", "100")
    page.locator("form.wf-input-filter").get_by_role("button", name="Filter").click()
    page.wait_for_url("**p_company_size_min=100**")
    page.screenshot(path=str(artifacts / "properties-contacts-filtered.png"), full_page=True)
    listing = page.locator(".result-list")
    assert listing.get_by_text("ann@example.com").count() == 1
    assert listing.get_by_text("bob@example.com").count() == 0
