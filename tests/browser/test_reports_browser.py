"""In a real browser: a marketer logs in, opens a flow's report and sees its figures."""

import re

import pytest
from django.contrib.auth.models import User

from tests.browser.conftest import log_in
from tests.test_reports import build_history

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def marketer(transactional_db):
    return User.objects.create_superuser("marketer", "marketer@example.com", "secret-pass")


def test_a_marketer_reads_a_flows_report_and_its_diagram(live_server, page, marketer, artifacts):
    history = build_history()
    log_in(page, live_server, "marketer", "secret-pass")

    # The home dashboard shows the flows panel.
    assert page.locator("#wagtail-flows-dashboard-content, [id^=wagtail-flows-dashboard]").count()
    assert page.locator('[data-figure="live"]').inner_text() == "1"
    page.screenshot(path=str(artifacts / "dashboard.png"))

    page.goto(f"{live_server.url}/admin/flows/reports/{history.flow.pk}/")
    assert page.locator('[data-figure="enrolled"]').first.inner_text() == "5"
    assert page.locator('[data-figure="revenue"]').first.inner_text() == "120.00"
    assert page.locator("svg.wf-chart").count() == 2
    assert page.get_by_text("Not enough data yet.").is_visible()
    page.set_viewport_size({"width": 1400, "height": 2600})  # the admin scrolls inside <main>
    page.screenshot(path=str(artifacts / "report.png"), full_page=True)
    page.set_viewport_size({"width": 1400, "height": 1000})

    page.get_by_role("link", name="All time").click()
    page.wait_for_url(re.compile(r"range=all"))
    assert page.locator('[data-figure="enrolled"]').first.inner_text() == "6"

    # The flow's own Report tab (the admin's diagram panel) shows who waits where.
    page.goto(f"{live_server.url}/admin/flows/edit/{history.flow.pk}/#tab-report")
    page.get_by_role("tab", name="Report").click()
    assert page.locator(".wf-diagram").first.is_visible()
    page.set_viewport_size({"width": 1400, "height": 1400})
    page.screenshot(path=str(artifacts / "report-tab.png"), full_page=True)


def test_a_marketer_tests_a_flow_without_sending_anything(live_server, page, marketer, artifacts):
    history = build_history()
    log_in(page, live_server, "marketer", "secret-pass")
    page.goto(f"{live_server.url}/admin/flows/reports/{history.flow.pk}/test/")
    page.select_option("#wf-kind-0", "order_placed")
    page.fill("#wf-after-0", "3")
    page.click("button[name=run]")
    timeline = page.locator("ol.wf-timeline > li")
    assert timeline.first.get_attribute("data-step-type") == "send_email"
    assert page.get_by_text("Would send:").first.is_visible()
    page.screenshot(path=str(artifacts / "tester.png"), full_page=True)


def test_a_flow_viewer_who_may_not_see_contacts_tests_with_the_sample(
    live_server, page, artifacts
):
    from tests.conftest import make_staff_user
    from wagtail_flows.models import Contact

    history = build_history()
    make_staff_user("viewer", "view_flow")
    errors = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    log_in(page, live_server, "viewer", "password")
    page.goto(f"{live_server.url}/admin/flows/reports/{history.flow.pk}/test/")
    assert page.locator('[data-contact="sample"]').is_visible()
    assert page.get_by_text("needs the permission to view contacts").is_visible()
    assert page.locator("input[name=email]").count() == 0
    page.click("button[name=run]")
    page.get_by_role("heading", name="The path of a sample contact").wait_for()
    body = page.content()
    assert not any(c.email in body for c in Contact.objects.all())
    page.screenshot(path=str(artifacts / "tester-sample-only.png"), full_page=True)

    with page.context.expect_page() as opened:
        page.get_by_role("link", name="Preview the email").first.click()
    preview = opened.value
    preview.wait_for_load_state()
    assert "contact=" not in preview.url and preview.locator("body").inner_text()
    assert errors == []


def add_block(page, scope, label, last=False):
    """Press a StreamField's "+" in ``scope`` and pick the block type ``label``."""
    buttons = page.locator(f"{scope} .c-sf-add-button")
    (buttons.last if last else buttons.first).click()
    page.get_by_role("option", name=label, exact=True).click()


def build_flow_in_the_editor(page, live_server):
    """Trigger: any form; steps: send "Welcome aboard", wait 2 days, branch on tag "vip"."""
    page.goto(f"{live_server.url}/admin/flows/create/")
    page.fill("#id_name", "Newsletter welcome")
    page.get_by_role("tab", name="Trigger & audience").click()
    trigger_tab = page.locator("[role=tabpanel]:visible").first.get_attribute("id")
    add_block(page, f"#{trigger_tab}", "Form submitted")
    page.get_by_role("tab", name="Steps").click()
    add_block(page, "#tab-steps", "Send email")
    page.locator("#tab-steps").get_by_role("button", name="Choose a page").first.click()
    modal = page.locator(".modal-dialog")
    modal.locator("input[name=q]").fill("Welcome")
    modal.get_by_role("link", name="Welcome aboard").first.click()
    add_block(page, "#tab-steps", "Wait", last=True)
    page.locator('[name="steps-1-value-amount"]').fill("2")
    add_block(page, "#tab-steps", "Branch", last=True)
    add_block(page, '#tab-steps [data-contentpath="conditions"]', "Has tag")
    page.locator('[name="steps-2-value-conditions-0-value-tag"]').fill("vip")
    add_block(page, '#tab-steps [data-contentpath="yes"]', "Add tag")
    page.locator('[name="steps-2-value-yes-0-value-tag"]').fill("loyal")
    add_block(page, '#tab-steps [data-contentpath="no"]', "Add tag")
    page.locator('[name="steps-2-value-no-0-value-tag"]').fill("casual")
    page.get_by_role("button", name="Save").first.click()
    page.wait_for_url(re.compile(r"/admin/flows/(\?.*)?$"))


def confirm_in_the_browser(page, live_server):
    """Open the link of the latest confirmation email and press its button."""
    from django.core import mail

    (path,) = set(re.findall(r"/flows/e/confirm/[^/\s]+/", mail.outbox[-1].body))
    page.goto(f"{live_server.url}{path}")
    page.get_by_role("button", name="Yes, subscribe me").click()
    page.get_by_text("You are subscribed").wait_for()


def test_a_marketer_builds_and_activates_a_flow_a_visitor_triggers_it_and_the_report_counts(
    live_server, chromium, page, marketer, artifacts
):
    import datetime as dt

    from django.utils import timezone

    from tests.factories import make_email_page, make_form_page
    from wagtail_flows.engine.sweeps import run_sweep
    from wagtail_flows.models import Flow

    form = make_form_page("Newsletter")
    make_email_page("Welcome aboard")
    log_in(page, live_server, "marketer", "secret-pass")
    build_flow_in_the_editor(page, live_server)
    flow = Flow.objects.get(name="Newsletter welcome")
    hello, pause, vip = (child.id for child in flow.steps)
    no_side = flow.steps[2].value["no"][0].id
    assert flow.status == "draft"

    # Activate it from its edit page.
    page.goto(f"{live_server.url}/admin/flows/edit/{flow.pk}/")
    page.get_by_role("link", name="Activate").first.click()
    page.get_by_role("button", name="Activate").click()
    flow.refresh_from_db()
    assert flow.status == "live"

    # A visitor signs up through the form, in a browser of their own.
    visitor = chromium.new_context()
    signup = visitor.new_page()
    signup.goto(f"{live_server.url}{form.url}")
    signup.fill("#id_email", "reader@example.com")
    signup.check("#id_subscribe_to_our_newsletter")
    signup.click("form [type=submit]")
    signup.wait_for_load_state()
    confirm_in_the_browser(signup, live_server)  # double opt-in: the flow starts on the click
    visitor.close()

    page.goto(f"{live_server.url}/admin/flows/reports/{flow.pk}/")
    assert page.locator('[data-figure="enrolled"]').first.inner_text() == "1"
    assert page.locator(f'tr[data-step="{hello}"] [data-figure="sent"]').inner_text() == "1"
    assert page.locator(f'tr[data-step="{pause}"] [data-figure="here"]').inner_text() == "1"
    assert page.locator(".wf-diagram .wf-count").first.inner_text().startswith("1 waiting")
    page.set_viewport_size({"width": 1400, "height": 2600})
    page.screenshot(path=str(artifacts / "story-report-waiting.png"), full_page=True)

    # Two days later the engine's sweep moves the reader on: not a VIP, so the "no" side.
    run_sweep(now=timezone.now() + dt.timedelta(days=2, hours=1))
    page.reload()
    assert page.locator('[data-figure="active"]').first.inner_text() == "0"
    assert page.locator(f'tr[data-step="{vip}"] [data-figure="completed"]').inner_text() == "1"
    assert page.locator(f'tr[data-step="{no_side}"] [data-figure="completed"]').inner_text() == "1"
    page.screenshot(path=str(artifacts / "story-report-done.png"), full_page=True)
