"""In a real browser, as a marketer holding only the flow permissions (draft, edit, view):
"never enter if has tag dormant" is added beside the entry conditions, saved, read back in
plain words in the flow's diagram, and the tester predicts that a dormant (sample) contact
would not enter."""

import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.conftest import EDITOR_PERMISSIONS, make_staff_user
from tests.factories import make_email_page
from wagtail_flows.models import Flow

# One data set, one live server and one login for the module (tests/browser/conftest.py).
pytestmark = pytest.mark.browser

MARKETER = "flows-only"


@pytest.fixture(scope="module")
def spring_offer(shared_db):
    make_staff_user(MARKETER, *EDITOR_PERMISSIONS)
    page = make_email_page("Spring is here")
    return Flow.objects.create(
        name="Spring offer",
        triggers=[{"type": "manual", "value": None, "id": str(uuid.uuid4())}],
        steps=[
            {
                "type": "send_email",
                "value": {"page": page.pk, "subject_override": ""},
                "id": str(uuid.uuid4()),
            }
        ],
    )


def test_a_marketer_keeps_dormant_contacts_out_and_the_tester_agrees(
    shared_server, user_page, spring_offer, artifacts
):
    page = user_page(MARKETER)
    page.goto(f"{shared_server.url}/admin/flows/edit/{spring_offer.pk}/")
    page.get_by_role("tab", name="Trigger & audience").click()
    stream = page.locator('div:has(> input[name="never_enter_if-count"])')
    expect(stream).to_be_visible()
    stream.locator(".c-sf-add-button").first.click()
    page.get_by_role("option", name="Has tag", exact=True).last.click()
    page.locator('[name="never_enter_if-0-value-tag"]').fill("dormant")
    page.get_by_role("button", name="Save").first.click()
    page.wait_for_url(re.compile(r"/admin/flows/(\?.*)?$"))

    spring_offer.refresh_from_db()
    assert [(c.block_type, c.value["tag"]) for c in spring_offer.never_enter_if] == [
        ("has_tag", "dormant")
    ]

    page.goto(f"{shared_server.url}/admin/flows/edit/{spring_offer.pk}/")
    diagram = page.locator("[data-wf-diagram]")
    expect(diagram.locator("[data-never-enter-if]")).to_have_text(
        "Never enters if has tag “dormant”"
    )
    page.get_by_role("tab", name="Trigger & audience").click()
    stream.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "never-enter-if-editor.png"), full_page=True)

    page.goto(f"{shared_server.url}/admin/flows/reports/{spring_offer.pk}/test/")
    assert page.locator('[data-contact="sample"]').is_visible()  # no contact permission
    page.fill("#wf-tags", "dormant")
    page.click("button[name=run]")
    timeline = page.locator("ol.wf-timeline > li")
    expect(timeline).to_have_count(1)
    expect(timeline.first).to_contain_text("Would not enter: never enter if has tag “dormant”")
    page.screenshot(path=str(artifacts / "never-enter-if-tester.png"), full_page=True)

    page.fill("#wf-tags", "")
    page.click("button[name=run]")
    expect(page.locator('ol.wf-timeline > li[data-step-type="send_email"]')).to_have_count(1)
