"""A marketer with the contacts role imports the sandbox's sample file in Chromium: upload,
map (the guesses kept), start, watch the bar follow the background job to the end, download
the problems (wagtail_flows/admin/imports.py)."""

import csv
import io
import os

import pytest

from tests.browser.conftest import log_in
from tests.conftest import make_staff_user
from tests.factories import ContactFactory, ContactListFactory
from wagtail_flows.engine import imports as importing
from wagtail_flows.engine.tasks import run_import_task
from wagtail_flows.models import Contact, ContactImport, ContactProperty, Suppression

pytestmark = pytest.mark.browser

SAMPLE = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(__file__))),
    "sandbox",
    "demo",
    "sample_contacts.csv",
)


@pytest.fixture
def sandbox_like(transactional_db):
    make_staff_user("marketer", "add_contact", "change_contact", "view_contact")
    ContactProperty.objects.create(key="company_size", label="Company size", type="number")
    ContactListFactory(name="Expo 2026")
    ContactFactory(email="sam.former@example.com", status="unsubscribed")
    Suppression.objects.create(
        email_hash=Suppression.hash_email("erased.person@example.com"), reason="erased"
    )


def test_import_the_sample_file_and_watch_the_job_to_the_end(
    live_server, page, sandbox_like, artifacts, monkeypatch
):
    # The job is left to this test's thread (as a cluster would run it), so the page shows
    # it running first and must follow it by itself.
    monkeypatch.setattr(importing, "_enqueue_after_commit", lambda *args: None)
    log_in(page, live_server, "marketer", "password")
    page.goto(f"{live_server.url}/admin/flows/contacts/")
    page.screenshot(path=str(artifacts / "import-contacts-listing.png"))
    page.get_by_role("link", name="Import contacts").click()
    page.set_input_files("input[name=file]", SAMPLE)
    page.get_by_role("button", name="Upload and map the columns").click()
    page.wait_for_url("**/admin/flows/imports/*/")

    assert page.locator(".wf-import-preview").get_by_text("ada.lovelace@example.com").count() == 1
    assert page.locator("#id_column_0").input_value() == "email"
    assert page.locator("#id_column_3").input_value() == "property:company_size"
    page.screenshot(path=str(artifacts / "import-map-columns.png"))
    page.get_by_label("They consented elsewhere").check()
    page.fill("#id_consent_basis", "Signed up at our stand, Expo 2026")
    page.select_option("#id_contact_list", label="Expo 2026")
    page.get_by_label("Import the valid rows even if some rows have errors").check()
    page.screenshot(path=str(artifacts / "import-map.png"), full_page=True)
    page.get_by_role("button", name="Check and import").click()
    page.wait_for_url("**/job/")
    assert page.locator("[data-wf-import=label]").inner_text() == "Checking the rows"

    contact_import = ContactImport.objects.get()
    run_import_task(contact_import.pk)
    page.locator(".wf-import-status", has_text="Done").wait_for(timeout=15000)
    assert page.locator("[data-wf-import=percent]").inner_text() == "100"
    assert page.locator("[data-wf-import=created]").inner_text() == "13"
    assert page.locator(".wf-import-problems tbody tr").count() == 6
    page.screenshot(path=str(artifacts / "import-job.png"), full_page=True)

    with page.expect_download() as download:
        page.get_by_role("link", name="Download the problems (CSV)").click()
    with open(download.value.path(), encoding="utf-8-sig") as handle:
        rows = list(csv.reader(io.StringIO(handle.read())))
    assert rows[0] == ["Row", "Column", "Problem"] and len(rows) == 7
    assert Contact.objects.get(email="sam.former@example.com").status == "unsubscribed"
    assert not Contact.objects.filter(email="erased.person@example.com").exists()
