"""In a real browser, as a marketer who may edit flows (and holds no segment permission): the
"Enters a segment" trigger is added in the flow editor, its segment chosen in the chooser
modal, and the diagram reads it in words — redrawn before saving, and after."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in
from tests.conftest import EDITOR_PERMISSIONS, make_staff_user
from wagtail_flows.models import Flow, Segment

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

SENTENCE = "Enters the segment “Hot leads”"


@pytest.fixture
def marketer(transactional_db):
    return make_staff_user("marketer", *EDITOR_PERMISSIONS)


def test_a_marketer_starts_a_flow_when_contacts_enter_a_segment(
    live_server, page, marketer, artifacts
):
    hot = Segment.objects.create(name="Hot leads", conditions=[("has_tag", {"tag": "hot"})])
    Segment.objects.create(name="Customers", conditions=[("stage_is", {"stage": "customer"})])
    log_in(page, live_server, "marketer", "password")
    page.goto(f"{live_server.url}/admin/flows/create/")
    page.fill("#id_name", "Welcome hot leads")
    page.get_by_role("tab", name="Trigger & audience").click()

    triggers = page.locator('div:has(> input[name="triggers-count"])')
    triggers.locator(".c-sf-add-button").first.click()
    page.get_by_role("option", name="Enters a segment", exact=True).click()
    chooser = page.locator('[id="triggers-0-value-segment-chooser"]')
    chooser.locator("[data-chooser-action-choose]").click()
    modal = page.locator(".modal-dialog")
    expect(modal.get_by_role("link", name="Customers")).to_be_visible()
    modal.get_by_role("link", name="Hot leads").click()
    expect(modal).to_have_count(0)
    expect(chooser).not_to_have_class(re.compile(r"\bblank\b"))
    expect(page.locator("[data-wf-diagram]")).to_contain_text(SENTENCE)  # before saving

    page.get_by_role("button", name="Save").first.click()
    page.wait_for_url(re.compile(r"/admin/flows/(\?.*)?$"))
    flow = Flow.objects.get(name="Welcome hot leads")
    (trigger,) = flow.triggers.raw_data
    assert (trigger["type"], trigger["value"]) == ("segment_entered", {"segment": hot.pk})

    page.goto(f"{live_server.url}/admin/flows/edit/{flow.pk}/")
    diagram = page.locator("[data-wf-diagram]")
    expect(diagram.locator(".wf-diagram__start")).to_contain_text(f"Starts when {SENTENCE}")
    diagram.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "segment-trigger-diagram.png"), full_page=True)
