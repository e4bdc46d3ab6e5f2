"""A user who may only erase contacts reads, in Chromium, what the erase will delete, then
erases (wagtail_flows/admin/actions.py, contact_erase)."""

import pytest

from tests.browser.conftest import log_in
from tests.conftest import make_staff_user
from tests.factories import ContactFactory, ContactListFactory
from wagtail_flows.models import Contact, Suppression

pytestmark = pytest.mark.browser


@pytest.fixture
def ann(transactional_db):
    make_staff_user("eraser", "delete_contact")
    ann = ContactFactory(email="ann@example.com")
    ann.add_to_list(ContactListFactory(name="Newsletter"))
    ann.add_tag("reader")
    return ann


def test_the_erase_page_lists_what_goes_and_erases_on_confirmation(
    live_server, page, ann, artifacts
):
    errors = []
    page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    log_in(page, live_server, "eraser", "password")

    page.goto(f"{live_server.url}/admin/flows/contacts/{ann.pk}/erase/")
    page.screenshot(path=str(artifacts / "contact-erase.png"), full_page=True)
    counts = page.locator(".wf-erase-counts tr")
    assert counts.count() == 6
    assert counts.filter(has_text="List memberships").locator("td").inner_text() == "1"
    assert counts.filter(has_text="Events on their timeline").locator("td").inner_text() == "2"
    assert page.get_by_text("a one-way hash of the address").count() == 1

    page.get_by_role("button", name="Erase", exact=True).click()
    page.wait_for_load_state()
    assert not Contact.objects.exists() and Suppression.is_suppressed("ann@example.com")
    assert errors == []
