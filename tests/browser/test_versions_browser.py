"""In a real browser: an editor changes a live flow, which saves a draft; a publisher reads
what changed side by side and publishes it; an earlier version comes back as a draft."""

import pytest

from tests.browser.conftest import log_in
from tests.conftest import EDITOR_PERMISSIONS, make_staff_user
from tests.test_admin_versions import live_flow
from wagtail_flows.models import Flow

pytestmark = pytest.mark.browser


@pytest.fixture
def people(transactional_db):
    make_staff_user("editor", *EDITOR_PERMISSIONS)
    make_staff_user("publisher", *EDITOR_PERMISSIONS, "activate_flow")


def console_errors(page):
    errors = []
    page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    return errors


def test_a_live_flow_is_changed_as_a_draft_signed_off_and_restored(
    live_server, page, people, artifacts
):
    flow, _ = live_flow()
    errors = console_errors(page)

    # The editor (no activate permission) switches the live flow to transactional.
    log_in(page, live_server, "editor", "password")
    page.goto(f"{live_server.url}/admin/flows/edit/{flow.pk}/")
    assert page.get_by_text("This flow is running. Saving keeps your changes as a draft").count()
    page.get_by_role("tab", name="Goal & settings").click()
    page.select_option("#id_kind", "transactional")
    page.get_by_role("button", name="Save draft").click()
    page.wait_for_url(f"{live_server.url}/admin/flows/{flow.pk}/changes/")
    page.screenshot(path=str(artifacts / "flow-draft-changes.png"), full_page=True)
    kind_row = page.locator("tr.wf-changed", has_text="Kind")
    assert kind_row.locator("td").all_inner_texts() == ["Marketing", "Transactional"]
    assert page.get_by_role("button", name="Publish this draft").count() == 0
    assert Flow.objects.get(pk=flow.pk).kind == "marketing"  # still runs as published

    # The publisher reviews and publishes it.
    page.context.clear_cookies()
    log_in(page, live_server, "publisher", "password")
    page.goto(f"{live_server.url}/admin/flows/")
    assert page.get_by_text("draft awaiting sign-off").count() == 1
    page.goto(f"{live_server.url}/admin/flows/{flow.pk}/changes/")
    page.get_by_role("button", name="Publish this draft").click()
    page.wait_for_url(f"{live_server.url}/admin/flows/edit/{flow.pk}/")
    assert page.get_by_text("the draft is published and runs now").count()
    assert Flow.objects.get(pk=flow.pk).kind == "transactional"

    # The first version comes back as a draft, then goes live again.
    page.get_by_role("link", name="Versions").click()
    page.screenshot(path=str(artifacts / "flow-versions.png"), full_page=True)
    first = page.locator(f'tr[data-revision="{flow.live_revision_id}"]')
    first.get_by_role("button", name="Restore as a draft").click()
    page.wait_for_url(f"{live_server.url}/admin/flows/{flow.pk}/changes/")
    assert page.locator("tr.wf-changed", has_text="Kind").locator("td").all_inner_texts() == [
        "Transactional",
        "Marketing",
    ]
    page.get_by_role("button", name="Publish this draft").click()
    page.wait_for_url(f"{live_server.url}/admin/flows/edit/{flow.pk}/")
    assert Flow.objects.get(pk=flow.pk).kind == "marketing"
    assert errors == []
