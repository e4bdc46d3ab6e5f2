"""In a real browser, as a flow editor (flow permissions only, no superuser): a "Property
changed" trigger (plan from Free to Pro) and a "Page viewed" trigger on any form page, seen
in two visits, are added through the "+" chooser, saved, stored as typed, and read back in
plain words in the flow's diagram."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in
from tests.conftest import EDITOR_PERMISSIONS, make_staff_user
from tests.factories import make_form_page
from wagtail_flows.models import Flow

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def editor(transactional_db):
    return make_staff_user("flow-editor", *EDITOR_PERMISSIONS)


def add_trigger(page, label):
    """The "+" below the last trigger; returns the new block's prefix."""
    index = int(page.locator('[name="triggers-count"]').input_value())
    stream = page.locator('div:has(> input[name="triggers-count"])')
    stream.locator(".c-sf-add-button").last.click()
    page.get_by_role("option", name=label, exact=True).click()
    page.locator(f'[name="triggers-{index}-type"]').wait_for(state="attached")
    return f"triggers-{index}-value"


def test_a_flow_editor_adds_a_property_trigger_and_a_page_type_trigger(
    live_server, page, editor, artifacts
):
    make_form_page("Book a demo")
    log_in(page, live_server, "flow-editor", "password")
    page.goto(f"{live_server.url}/admin/flows/create/")
    page.fill("#id_name", "Upgrades and demos")
    page.get_by_role("tab", name="Trigger & audience").click()

    changed = add_trigger(page, "Property changed")
    page.locator(f'[name="{changed}-name"]').fill("plan")
    page.locator(f'[name="{changed}-from_value"]').fill("Free")
    page.locator(f'[name="{changed}-to_value"]').fill("Pro")

    viewed = add_trigger(page, "Page viewed")
    page_type = page.locator(f'[name="{viewed}-page_type"]')
    expect(page_type.locator("option")).to_have_text(
        ["Any page type", "Form page", "Standard page"]
    )
    page_type.select_option(label="Form page")
    page.locator(f'[name="{viewed}-min_views"]').fill("2")
    count_visits = page.locator(f'[name="{viewed}-count_visits"]')
    # Clear of the sticky Save bar, and of the live diagram's redraw shifting the page.
    count_visits.evaluate("box => box.scrollIntoView({block: 'center'})")
    count_visits.check()
    triggers = page.locator('div:has(> input[name="triggers-count"])')
    triggers.scroll_into_view_if_needed()
    triggers.screenshot(path=str(artifacts / "event-triggers-editor.png"))

    page.get_by_role("button", name="Save").first.click()
    page.wait_for_url(re.compile(r"/admin/flows/(\?.*)?$"))

    flow = Flow.objects.get(name="Upgrades and demos")
    stored = [(c["type"], c["value"]) for c in flow.triggers.raw_data]
    assert stored[0] == (
        "property_changed",
        {"name": "plan", "from_value": "Free", "to_value": "Pro"},
    )
    assert stored[1][0] == "page_viewed"
    assert {k: stored[1][1][k] for k in ("page_type", "min_views", "count_visits")} == {
        "page_type": "testapp.formpage",
        "min_views": 2,
        "count_visits": True,
    }

    page.goto(f"{live_server.url}/admin/flows/edit/{flow.pk}/")
    diagram = page.locator("[data-wf-diagram]")
    expect(diagram).to_contain_text("Property plan changes from “Free” to “Pro”")
    expect(diagram).to_contain_text("Views any form page in 2 visits")
    diagram.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "event-triggers-diagram.png"), full_page=True)
