"""In a real browser, as the product's users walk it: a marketer builds a flow by hand as
docs/admin.md tells, a publisher activates it, a visitor triggers it from the site, the
engine runs and the report counts; the tester shows the path of a sample contact and of the
visitor waiting mid-flow; an editor writes an email page, previews it on a desktop, on a
phone and as plain text, and sends themselves a test.

Each user holds only the permissions of their role (tests/test_admin_permissions.py)."""

import datetime as dt
import re

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from tests.browser.conftest import log_in, show_plain_text
from tests.browser.test_walk_blocks import add_block, choose, email_editor, flow_editor
from tests.conftest import EDITOR_PERMISSIONS, make_staff_user
from tests.factories import make_email_library, make_email_page, make_form_page
from wagtail_flows.engine.sweeps import run_sweep
from wagtail_flows.models import Contact, EmailPage, Enrollment, Flow

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
CONFIRM_LINK = re.compile(r"/flows/e/confirm/[^/\s]+/")
CLICK_LINK = re.compile(r"/flows/e/c/[^/\"\s]+/\d+/")


@pytest.fixture
def site(transactional_db):
    """A newsletter form, a page that is not a form, and two published emails."""
    from tests.factories import make_standard_page

    return {
        "form": make_form_page("Newsletter"),
        "about": make_standard_page("About us"),
        "welcome": make_email_page("Welcome aboard", subject="Welcome, {{ contact.first_name }}"),
        "reminder": make_email_page("Did you see this?", subject="A reminder"),
    }


def publisher():
    """Signs off what goes out (activate_flow) and tests flows with real contacts."""
    return make_staff_user("publisher", *EDITOR_PERMISSIONS, "activate_flow", "view_contact")


# --- (a) a flow built by hand from docs/admin.md ------------------------------------------


def build_the_flow_as_docs_admin_tells(page, live_server):
    """docs/admin.md, "Building a flow": *Add flow*, then its tabs one by one."""
    page.goto(f"{live_server.url}/admin/flows/")
    page.get_by_role("link", name="Add flow").first.click()
    page.wait_for_url(f"{live_server.url}/admin/flows/create/")

    # Trigger & audience: the trigger, who may enter, re-entry.
    expect(page.get_by_role("tab", name="Trigger & audience")).to_have_attribute(
        "aria-selected", "true"
    )
    page.fill("#id_name", "Newsletter welcome")
    page.fill("#id_description", "Welcomes newsletter sign-ups, and reminds those who ignore it.")
    trigger = add_block(page, "triggers", "Form submitted")
    form_chooser_offers_only_forms(page, f"{trigger}-form_page")
    add_block(page, "entry_conditions", "Is subscribed")
    page.select_option("#id_entry_match", "all")
    page.select_option("#id_reentry", "never")

    # Steps: send, wait, and a branch on a click with its own steps on each side.
    page.get_by_role("tab", name="Steps").click()
    first = add_block(page, "steps", "Send email")
    choose(page, f"{first}-page", "Welcome aboard", search=True)
    append_block(page, "steps", 1, "Wait")
    page.fill('[name="steps-1-value-amount"]', "1")
    page.select_option('[name="steps-1-value-unit"]', "days")
    append_block(page, "steps", 2, "Branch")
    clicked = add_block(page, "steps-2-value-conditions", "Clicked in an email")
    choose(page, f"{clicked}-email", "Welcome aboard", search=True)
    yes = add_block(page, "steps-2-value-yes", "Add tag")
    page.fill(f'[name="{yes}-tag"]', "engaged")
    no = add_block(page, "steps-2-value-no", "Send email")
    choose(page, f"{no}-page", "Did you see this?", search=True)

    # Goal & settings: the goal that ends a run as converted.
    page.get_by_role("tab", name="Goal & settings").click()
    add_block(page, "goal", "Has ordered")

    # "A new flow is a draft: it may be incomplete and does nothing. Save as often as you like."
    page.get_by_role("button", name="Save").first.click()
    page.wait_for_url(re.compile(r"/admin/flows/(\?.*)?$"))
    row = page.locator("tr", has_text="Newsletter welcome")
    expect(row).to_contain_text("Draft")
    return Flow.objects.get(name="Newsletter welcome")


def form_chooser_offers_only_forms(page, name):
    """The "Form submitted" chooser lists form pages only, then the newsletter is chosen."""
    page.locator(f'[id="{name}-chooser"] [data-chooser-action-choose]').click()
    modal = page.locator(".modal-dialog")
    modal.locator("input[name=q]").fill("u")  # matches "About us" and "Newsletter"
    expect(modal.get_by_role("link", name="Newsletter")).to_be_visible()
    expect(modal.get_by_role("link", name="About us")).to_have_count(0)
    modal.get_by_role("link", name="Newsletter").first.click()
    expect(modal).to_have_count(0, timeout=20_000)


def append_block(page, stream_prefix, count, label):
    """The "+" after the last block of a top-level stream holding ``count`` blocks."""
    page.locator(f'[id="{stream_prefix}-root"] .c-sf-add-button').last.click()
    page.get_by_role("option", name=label, exact=True).click()
    page.locator(f'[name="{stream_prefix}-{count}-type"]').wait_for(state="attached")


def activate_through_the_activation_page(page, live_server, flow):
    """docs/admin.md, "Activating, pausing, resuming": the action's confirmation page says
    what will happen; nothing happens until its button is pressed."""
    page.goto(f"{live_server.url}/admin/flows/")
    page.locator("tr", has_text=flow.name).get_by_role("link", name="Activate").click()
    page.wait_for_url(f"{live_server.url}/admin/flows/{flow.pk}/activate/")
    effects = page.locator(".wf-effect")
    expect(effects.first).to_be_visible()
    assert "Newsletter" in page.locator(".wf-confirm").inner_text()  # the form is named
    flow.refresh_from_db()
    assert flow.status == "draft"
    page.get_by_role("button", name="Activate").click()
    page.wait_for_load_state()
    flow.refresh_from_db()
    assert flow.status == "live"


def a_visitor_signs_up_and_clicks(chromium, live_server, form):
    """An anonymous visitor, in a browser of their own: the form, the confirmation link,
    then the link in the welcome email."""
    visitor = chromium.new_context()
    site = visitor.new_page()
    site.goto(f"{live_server.url}{form.url}")
    site.fill("#id_email", "reader@example.com")
    site.fill("#id_first_name", "Rita")
    site.check("#id_subscribe_to_our_newsletter")
    site.click("form [type=submit]")
    site.wait_for_load_state()
    (confirm,) = set(CONFIRM_LINK.findall(mail.outbox[-1].body))
    site.goto(f"{live_server.url}{confirm}")
    site.get_by_role("button", name="Yes, subscribe me").click()
    site.get_by_text("You are subscribed").wait_for()

    welcome = next(m for m in mail.outbox if m.subject == "Welcome, Rita")
    html = welcome.alternatives[0][0]
    click = CLICK_LINK.search(html).group(0)
    # The link leads off-site (no network here): the click is recorded, not followed.
    response = visitor.request.get(f"{live_server.url}{click}", max_redirects=0)
    assert response.status == 302 and response.headers["location"] == "https://example.com/offer"
    visitor.close()


def test_a_flow_built_from_the_docs_is_activated_triggered_by_a_visitor_and_reported(
    live_server, chromium, page, site, artifacts
):
    flow_editor()
    log_in(page, live_server, "flow-editor", "password")
    flow = build_the_flow_as_docs_admin_tells(page, live_server)
    assert [s.block_type for s in flow.steps] == ["send_email", "wait", "branch"]
    assert flow.triggers[0].value["form_page"].pk == site["form"].pk
    page.context.clear_cookies()

    publisher()
    log_in(page, live_server, "publisher", "password")
    activate_through_the_activation_page(page, live_server, flow)

    a_visitor_signs_up_and_clicks(chromium, live_server, site["form"])
    reader = Contact.objects.get(email="reader@example.com")
    run = Enrollment.objects.get(flow=flow, contact=reader)
    hello, pause, branch = (s.id for s in flow.steps)
    assert (run.status, run.current_step) == ("waiting", pause)

    report = f"{live_server.url}/admin/flows/reports/{flow.pk}/"
    page.goto(report)
    expect(page.locator('[data-figure="enrolled"]').first).to_have_text("1")
    expect(page.locator(f'tr[data-step="{hello}"] [data-figure="entered"]')).to_have_text("1")
    expect(page.locator(f'tr[data-step="{hello}"] [data-figure="sent"]')).to_have_text("1")
    expect(page.locator(f'tr[data-step="{hello}"] [data-figure="clicked"]')).to_have_text(
        re.compile(r"^1\b")
    )
    expect(page.locator(f'tr[data-step="{pause}"] [data-figure="here"]')).to_have_text("1")
    page.set_viewport_size({"width": 1400, "height": 2400})
    page.screenshot(path=str(artifacts / "walk-report-waiting.png"), full_page=True)

    # A day later the engine moves the reader on: she clicked, so the "yes" side.
    run_sweep(now=timezone.now() + dt.timedelta(days=1, hours=1))
    assert list(reader.tagged_items.values_list("tag__name", flat=True)) == ["engaged"]
    page.reload()
    yes_side = flow.steps[2].value["yes"][0].id
    expect(page.locator(f'tr[data-step="{branch}"] [data-figure="entered"]')).to_have_text("1")
    expect(page.locator(f'tr[data-step="{yes_side}"] [data-figure="completed"]')).to_have_text("1")
    expect(page.locator('[data-figure="active"]').first).to_have_text("0")
    assert [m.subject for m in mail.outbox].count("A reminder") == 0
    page.screenshot(path=str(artifacts / "walk-report-done.png"), full_page=True)


# --- (b) the tester: a sample contact, and a contact mid-flow -----------------------------


def path_of(page):
    """The tester's timeline: (step type, text) of each entry."""
    entries = page.locator("ol.wf-timeline > li")
    entries.first.wait_for()
    return [
        (entry.get_attribute("data-step-type"), " ".join(entry.inner_text().split()))
        for entry in entries.all()
    ]


def test_the_tester_shows_the_path_of_a_sample_contact_and_of_a_contact_mid_flow(
    live_server, chromium, page, site, artifacts
):
    from tests.test_reports import step

    flow = Flow(name="Welcome with a nudge")
    flow.triggers = [{"type": "form_submitted", "value": {"form_page": site["form"].pk}}]
    clicked = {"type": "clicked_email", "value": {"email": site["welcome"].pk}, "id": "c"}
    flow.steps = [
        step("send_email", "hello", page=site["welcome"].pk, subject_override=""),
        step("wait", "pause", amount=1, unit="days"),
        {
            "type": "branch",
            "id": "ask",
            "value": {
                "conditions": [clicked],
                "match": "all",
                "yes": [step("add_tag", "warm", tag="engaged")],
                "no": [step("send_email", "nudge", page=site["reminder"].pk)],
            },
        },
    ]
    flow.save()
    flow.activate()
    a_visitor_signs_up_and_clicks(chromium, live_server, site["form"])
    run = Enrollment.objects.get(flow=flow)
    assert (run.status, run.current_step) == ("waiting", "pause")
    sent_before = len(mail.outbox)

    publisher()
    log_in(page, live_server, "publisher", "password")
    page.goto(f"{live_server.url}/admin/flows/reports/{flow.pk}/")
    page.get_by_role("link", name="Test this flow").first.click()
    page.wait_for_url(f"{live_server.url}/admin/flows/reports/{flow.pk}/test/")

    # A sample contact: the welcome, a day's wait, no click so the "no" side's reminder.
    page.get_by_role("button", name="Run the test").click()
    page.get_by_role("heading", name="The path of a sample contact").wait_for()
    sample = path_of(page)
    types = [kind for kind, _ in sample]
    assert types[0] == "send_email" and "Would send: “Welcome, Sample”" in sample[0][1]
    assert "wait" in types, sample
    branch = types.index("branch")
    assert "takes “no”" in sample[branch][1], sample
    assert "Would send: “A reminder”" in sample[branch + 1][1], sample

    # The same sample clicking an hour in takes "yes".
    page.select_option("#wf-kind-0", "link_clicked")
    page.fill("#wf-after-0", "1")
    page.select_option("#wf-unit-0", "hours")
    page.get_by_role("button", name="Run the test").click()
    page.wait_for_url(re.compile(r"kind_0=link_clicked"))
    clicking = path_of(page)
    assert any(kind == "branch" and "takes “yes”" in text for kind, text in clicking), clicking
    assert not any("A reminder" in text for _, text in clicking)

    # The reader is waiting at "Wait 1 day": her path starts there, sends nothing again,
    # and her real click takes the branch to "yes".
    page.select_option("#wf-kind-0", "")
    page.fill("#wf-email", "reader@example.com")
    page.get_by_role("button", name="Run the test").click()
    page.get_by_role("heading", name="The path of reader@example.com").wait_for()
    hers = path_of(page)
    assert hers[0][0] == "wait" and hers[0][1].count("Now here (already in the flow):") == 1
    assert not any(kind == "wait" and "(waiting)" in text for kind, text in hers), hers
    assert not any(kind == "send_email" for kind, _ in hers), hers
    assert any(kind == "branch" and "takes “yes”" in text for kind, text in hers), hers
    page.screenshot(path=str(artifacts / "walk-tester-mid-flow.png"), full_page=True)
    assert len(mail.outbox) == sent_before  # the tester sent nothing
    run.refresh_from_db()
    assert (run.status, run.current_step) == ("waiting", "pause")  # and changed nothing


def save_draft(page):
    """Wagtail 8 autosaves a new page as soon as it is valid, then moves the editor to the
    page's edit view. Pressing "Save draft" while that first autosave is in flight sends a
    second create, which Wagtail answers with a 500 (slug already in use): wait for it."""
    edit_view = "() => /\\/admin\\/pages\\/\\d+\\/edit\\//.test(location.pathname)"
    try:
        page.wait_for_function(edit_view, timeout=15_000)
    except PlaywrightTimeout:  # no autosave came (it does not always): create it by hand
        page.get_by_role("button", name="Save draft").click()
        page.wait_for_function(edit_view)
    page.get_by_role("button", name="Save draft").click()
    page.wait_for_load_state()
    expect(page.locator(".messages")).to_contain_text("has been updated")


# --- (c) an email page written, previewed and test-sent ------------------------------------


def test_an_editor_writes_an_email_previews_it_three_ways_and_sends_a_test(
    live_server, page, artifacts
):
    library = make_email_library()
    email_editor()
    log_in(page, live_server, "email-editor", "password")

    # Create it under the email library, as Wagtail's page explorer offers.
    page.goto(f"{live_server.url}/admin/pages/{library.pk}/")
    page.get_by_role("link", name="Add child page").first.click()
    page.wait_for_url(re.compile(r"/admin/pages/add/wagtail_flows/emailpage/\d+/$"))
    page.fill("#id_title", "Spring news")
    page.fill("#id_subject", "Spring is here, {{ contact.first_name }}")
    page.fill("#id_preheader", "Three things we made for you")
    heading = add_block(page, "body", "Heading")
    page.fill(f'[name="{heading}"]', "Hello {{ contact.first_name }}!")
    page.locator('[id="body-root"] .c-sf-add-button').last.click()
    page.get_by_role("option", name="Text", exact=True).click()
    editor = page.locator('[data-contentpath] [contenteditable="true"]').last
    editor.click()
    page.keyboard.type("Our spring collection is out.")
    # Draftail writes the hidden input a moment later; the preview must not miss it.
    expect(page.locator('[name="body-1-value"]')).to_have_value(re.compile("spring collection"))
    page.locator('[id="body-root"] .c-sf-add-button').last.click()
    page.get_by_role("option", name="Button", exact=True).click()
    page.fill('[name="body-2-value-text"]', "See the collection")
    page.fill('[name="body-2-value-url"]', "https://example.com/spring")

    # Preview: desktop, mobile, plain text.
    page.get_by_role("button", name="Toggle preview").click()
    preview = page.frame_locator("#w-preview-iframe")
    preview.get_by_text("Hello Ann!").first.wait_for()
    desktop = page.get_by_role("radio", name="Preview in desktop size")
    desktop.check(force=True)
    expect(preview.get_by_text("Our spring collection is out.").first).to_be_visible()
    assert preview_width(preview) == 1280
    page.screenshot(path=str(artifacts / "walk-email-preview-desktop.png"))

    page.get_by_role("radio", name="Preview in mobile size").check(force=True)
    page.wait_for_function(
        "() => document.querySelector('#w-preview-iframe').contentWindow.innerWidth < 500"
    )
    assert preview_width(preview) == 375
    expect(preview.get_by_role("link", name="See the collection")).to_be_visible()
    page.screenshot(path=str(artifacts / "walk-email-preview-mobile.png"))

    show_plain_text(page, "Subject: Spring is here, Ann")
    text = preview.locator("body").inner_text()
    assert "Hello Ann!" in text and "Our spring collection is out." in text
    assert "See the collection" in text and "https://example.com/spring" in text
    page.screenshot(path=str(artifacts / "walk-email-preview-text.png"))

    # Save the draft, then "Send a test" from the editor's action menu.
    save_draft(page)
    email = EmailPage.objects.get(title="Spring news")
    page.locator(
        "footer [data-w-dropdown-target='toggle'], .footer [data-w-dropdown-target='toggle']"
    ).last.click()
    page.get_by_role("link", name="Send a test").click()
    page.wait_for_url(f"{live_server.url}/admin/flows-emails/{email.pk}/send-test/")
    page.fill("#id_to", "colleague@example.com")
    page.get_by_role("button", name="Send test").click()
    page.wait_for_url(f"{live_server.url}/admin/pages/{email.pk}/edit/")
    assert sorted((m.to[0], m.subject) for m in mail.outbox) == [
        ("colleague@example.com", "[Test] Spring is here, Ann"),
        ("email-editor@example.com", "[Test] Spring is here, Ann"),
    ]
    assert "Our spring collection is out." in mail.outbox[0].body


def preview_width(preview):
    return preview.locator("html").evaluate("html => html.ownerDocument.defaultView.innerWidth")
