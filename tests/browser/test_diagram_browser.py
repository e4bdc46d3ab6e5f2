"""In a real browser, as a user with only the flow-editor role: the diagram beside the steps
redraws as steps are added and changed, before anything is saved; clicking a node opens its
block; an email step without its email is marked on its node."""

import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in
from tests.conftest import EDITOR_PERMISSIONS, make_staff_user
from tests.factories import make_email_page
from wagtail_flows.models import Flow

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

EMAIL = "Welcome aboard"
DOCS_SHOT = "docs/img/admin-flow-editor.png"


def raw(type_, value):
    return {"type": type_, "value": value, "id": str(uuid.uuid4())}


@pytest.fixture
def editor(transactional_db):
    return make_staff_user("flow-editor", *EDITOR_PERMISSIONS)


def welcome_series(name, email_title, offer_title, cold_tag):
    """Send, wait 2 days, then a branch on a click in the first email: the offer, or a tag."""
    email = make_email_page(email_title)
    offer = make_email_page(offer_title)
    branch = {
        "conditions": [raw("clicked_email", {"email": email.pk})],
        "match": "all",
        "wait_up_to_amount": 2,
        "wait_up_to_unit": "days",
        "yes": [raw("send_email", {"page": offer.pk, "subject_override": ""})],
        "no": [raw("add_tag", {"tag": cold_tag})],
    }
    return Flow.objects.create(
        name=name,
        triggers=[raw("manual", {})],
        steps=[
            raw("send_email", {"page": email.pk, "subject_override": ""}),
            raw("wait", {"amount": 2, "unit": "days"}),
            raw("branch", branch),
        ],
        goal=[raw("has_ordered", {})],
    )


def console_errors(page):
    errors = []
    page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def diagram(page):
    return page.locator("[data-wf-diagram]")


def node(page, label):
    return diagram(page).locator("[data-wf-open-block]", has_text=label)


def add_step(page, label):
    """The "+" below the last step (or of the empty stream), then the step type."""
    page.locator('[id="steps-root"] .c-sf-add-button').last.click()
    page.get_by_role("option", name=label, exact=True).click()


def test_the_diagram_follows_the_form_and_opens_blocks(live_server, page, editor):
    make_email_page(EMAIL)
    flow = Flow.objects.create(name="Welcome", triggers=[raw("manual", {})])
    errors = console_errors(page)
    log_in(page, live_server, "flow-editor", "password")
    posts = []
    page.on("request", lambda r: r.method == "POST" and posts.append(r.url))
    page.goto(f"{live_server.url}/admin/flows/edit/{flow.pk}/")
    expect(diagram(page)).to_contain_text("No steps yet.")
    expect(node(page, "Enrolled by hand")).to_be_visible()

    # An email step: drawn as soon as the email is chosen, with nothing saved.
    page.get_by_role("tab", name="Steps").click()
    add_step(page, "Send email")
    expect(node(page, "Send an email (none chosen)")).to_be_visible()  # marked: no email yet
    expect(diagram(page).locator(".wf-node--error")).to_have_count(1)
    page.locator('[id="steps-0-value-page-chooser"] [data-chooser-action-choose]').click()
    page.locator(".modal-dialog").get_by_role("link", name=EMAIL).first.click()
    expect(node(page, f"Send “{EMAIL}”")).to_be_visible()
    expect(diagram(page).locator(".wf-node--error")).to_have_count(0)

    # A wait below it, then made longer: each change redrawn.
    add_step(page, "Wait")
    expect(node(page, "Wait 1 day")).to_be_visible()
    page.locator('[name="steps-1-value-amount"]').fill("3")
    expect(node(page, "Wait 3 days")).to_be_visible()
    labels = diagram(page).locator(".wf-step .wf-node__label").all_inner_texts()
    assert labels == [f"Send “{EMAIL}”", "Wait 3 days"]
    assert all("/diagram/preview/" in url for url in posts)  # redrawn, never saved
    assert [child.block_type for child in Flow.objects.get(pk=flow.pk).steps] == []

    # Clicking a node opens its block, collapsed and on another tab as it is.
    email_block = page.locator('[id="steps-root"] [data-streamfield-child]').first
    email_block.locator("[data-panel-heading]").first.click()
    expect(email_block.locator("[data-panel-toggle]").first).to_have_attribute(
        "aria-expanded", "false"
    )
    page.get_by_role("tab", name="Trigger & audience").click()
    expect(email_block).to_be_hidden()
    node(page, f"Send “{EMAIL}”").click()
    expect(email_block.locator("[data-panel-toggle]").first).to_have_attribute(
        "aria-expanded", "true"
    )
    expect(page.locator('[id="steps-0-value-page-chooser"]')).to_be_in_viewport()

    # Without its email, the step's node is marked and says why.
    chooser = page.locator('[id="steps-0-value-page-chooser"]')
    chooser.get_by_role("button", name="Actions").click()
    chooser.locator("[data-chooser-action-clear]").click()
    marked = diagram(page).locator(".wf-node--error")
    expect(marked).to_have_count(1)
    expect(marked).to_contain_text("Send an email (none chosen)")
    expect(diagram(page).locator("[data-node-errors]")).to_have_text("Email: Choose an email.")
    assert errors == []


def test_the_editor_beside_its_diagram_at_1400px(live_server, page, editor):
    """The screenshot in docs/admin.md: a flow with a branch, one step not finished."""
    flow = welcome_series("Welcome series", EMAIL, "Members' offer", "cold")
    errors = console_errors(page)
    log_in(page, live_server, "flow-editor", "password")
    page.goto(f"{live_server.url}/admin/flows/edit/{flow.pk}/")
    page.get_by_role("tab", name="Steps").click()
    add_step(page, "Send email")  # not chosen yet: marked on its node
    expect(diagram(page).locator(".wf-node--error")).to_have_count(1)
    page.locator("h1").first.scroll_into_view_if_needed()
    page.screenshot(path=DOCS_SHOT)
    assert page.viewport_size["width"] == 1400
    assert errors == []
