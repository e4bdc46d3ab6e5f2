"""A user who may only view contacts filters the Contacts listing in Chromium; an address
with a lookup the listing does not declare is refused (wagtail_flows/admin/listings.py)."""

import pytest

from tests.browser.conftest import log_in
from tests.conftest import make_staff_user
from tests.factories import ContactFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def viewer(transactional_db):
    make_staff_user("viewer", "view_contact")
    ContactFactory(email="ann@example.com", status="subscribed")
    ContactFactory(email="bob@example.com", status="unsubscribed")


@pytest.mark.browser_allows("status of 400")  # the refused probe below answers 400
def test_a_contact_viewer_filters_the_listing_and_cannot_probe_it(
    live_server, page, viewer, artifacts
):
    errors = []
    page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    log_in(page, live_server, "viewer", "password")

    page.goto(f"{live_server.url}/admin/flows/contacts/?status__exact=unsubscribed")
    page.screenshot(path=str(artifacts / "contacts-filtered.png"), full_page=True)
    assert page.get_by_text("bob@example.com").count() >= 1
    assert page.get_by_text("ann@example.com").count() == 0
    assert errors == []

    response = page.goto(f"{live_server.url}/admin/flows/contacts/?user__password__startswith=p")
    assert response.status == 400
    assert "This listing has no filter “user__password__startswith”" in page.content()
