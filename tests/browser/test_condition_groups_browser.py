"""In a real browser, as a flow editor: entry conditions "not tagged dormant" and a group
"any of: score at least 50, in list VIP" are built through the "+" chooser, saved, stored
nested, and read back in plain words in the flow's diagram."""

import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in
from tests.conftest import EDITOR_PERMISSIONS, make_staff_user
from tests.factories import ContactListFactory
from wagtail_flows.models import Flow

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def editor(transactional_db):
    return make_staff_user("flow-editor", *EDITOR_PERMISSIONS, "view_contactlist")


def add_condition(page, stream_prefix, label):
    """The "+" below the last condition of ``stream_prefix``; returns the new block's prefix."""
    count = page.locator(f'[name="{stream_prefix}-count"]')
    index = int(count.input_value())
    stream = page.locator(f'div:has(> input[name="{stream_prefix}-count"])')
    stream.locator(".c-sf-add-button").last.click()
    page.get_by_role("option", name=label, exact=True).click()
    page.locator(f'[name="{stream_prefix}-{index}-type"]').wait_for(state="attached")
    return f"{stream_prefix}-{index}-value"


def test_a_flow_editor_builds_not_and_any_of_group(live_server, page, editor, artifacts):
    vip = ContactListFactory(name="VIP")
    flow = Flow.objects.create(
        name="Win back",
        triggers=[{"type": "manual", "value": None, "id": str(uuid.uuid4())}],
    )
    log_in(page, live_server, "flow-editor", "password")
    page.goto(f"{live_server.url}/admin/flows/edit/{flow.pk}/")
    page.get_by_role("tab", name="Trigger & audience").click()

    not_block = add_condition(page, "entry_conditions", "Not (none of these)")
    tag = add_condition(page, f"{not_block}-conditions", "Has tag")
    page.locator(f'[name="{tag}-tag"]').fill("dormant")

    group = add_condition(page, "entry_conditions", "Group (all / any of)")
    page.locator(f'[name="{group}-match"]').select_option("any")
    score = add_condition(page, f"{group}-conditions", "Score at least")
    page.locator(f'[name="{score}-score"]').fill("50")
    in_list = add_condition(page, f"{group}-conditions", "In list")
    page.locator(f'[id="{in_list}-list-chooser"] [data-chooser-action-choose]').click()
    modal = page.locator(".modal-dialog")
    modal.get_by_role("link", name="VIP").first.click()
    expect(modal).to_have_count(0)

    page.get_by_role("button", name="Save").first.click()
    page.wait_for_url(re.compile(r"/admin/flows/(\?.*)?$"))

    flow.refresh_from_db()
    stored = flow.entry_conditions.raw_data
    assert [c["type"] for c in stored] == ["none_of", "group"]
    assert stored[0]["value"]["conditions"][0]["value"] == {"tag": "dormant"}
    assert stored[1]["value"]["match"] == "any"
    inner = stored[1]["value"]["conditions"]
    assert [(c["type"], c["value"]) for c in inner] == [
        ("score_at_least", {"score": 50}),
        ("in_list", {"list": vip.pk}),
    ]

    page.goto(f"{live_server.url}/admin/flows/edit/{flow.pk}/")
    expected = "Not: Has tag “dormant” and (Score at least 50 or In list “VIP”)"
    diagram = page.locator("[data-wf-diagram]")
    expect(diagram).to_contain_text(f"Only contacts who match: {expected}")
    diagram.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "condition-groups-diagram.png"), full_page=True)
    page.get_by_role("tab", name="Trigger & audience").click()
    conditions = page.locator('div:has(> input[name="entry_conditions-count"])')
    conditions.scroll_into_view_if_needed()
    conditions.screenshot(path=str(artifacts / "condition-groups-editor.png"))
