"""In a real browser: a flow editor tells a split to pick its winner on clicks and saves;
once the sweep has decided, a flow viewer reads in the report when and why."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser.conftest import log_in
from tests.conftest import EDITOR_PERMISSIONS, make_staff_user
from tests.factories import ContactFactory, make_email_page
from tests.test_engine_tree import make_flow, run, split, start, step, wait
from wagtail_flows.engine.sweeps import run_sweep
from wagtail_flows.models import Flow, Message, StepRun

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def ab_flow(status):
    page_a, page_b = make_email_page("Subject A"), make_email_page("Subject B")
    return make_flow(
        [
            split(
                "ab",
                ("A", 50, [step("send_email", "mail-a", page=page_a.pk), wait("wait-a")]),
                ("B", 50, [step("send_email", "mail-b", page=page_b.pk), wait("wait-b")]),
            )
        ],
        status=status,
        name="Subject line test",
    )


def test_a_flow_editor_sets_the_splits_winner_metric(live_server, page, artifacts):
    make_staff_user("flow-editor", *EDITOR_PERMISSIONS)
    flow = ab_flow("draft")
    log_in(page, live_server, "flow-editor", "password")
    page.goto(f"{live_server.url}/admin/flows/edit/{flow.pk}/")
    page.get_by_role("tab", name="Steps").click()
    metric = page.locator('select[name="steps-0-value-auto_winner"]')
    if not metric.is_visible():  # the split's block starts collapsed
        page.locator('[data-contentpath="ab"] [data-panel-toggle]').first.click()
    metric.select_option("clicked")
    page.locator('input[name="steps-0-value-decide_after_contacts"]').fill("200")
    expect(page.locator("[data-wf-diagram]")).to_contain_text("picks the winner on clicks")
    page.screenshot(path=str(artifacts / "ab-winner-editor.png"), full_page=True)
    page.get_by_role("button", name="Save").first.click()
    page.wait_for_load_state()
    flow = Flow.objects.get(pk=flow.pk)
    value = flow.steps[0].value
    assert (value["auto_winner"], value["decide_after_contacts"]) == ("clicked", 200)


def test_a_flow_viewer_reads_when_and_why_the_winner_was_picked(live_server, page, artifacts):
    flow = ab_flow("live")
    flow.steps[0].value["auto_winner"] = "clicked"
    flow.steps[0].value["decide_after_contacts"] = 20
    flow.save()
    now = timezone.now()
    for contact in ContactFactory.create_batch(80):
        enrollment = run(start(flow, contact, now=now), now)
        branch = StepRun.objects.get(enrollment=enrollment, step_id="ab").branch
        if (branch == "B" and enrollment.pk % 2) or enrollment.pk % 10 == 0:
            Message.objects.get(enrollment=enrollment).count_click(now)
    assert run_sweep(now=now + timedelta(minutes=5))["ab_winners"] == 1

    make_staff_user("viewer", "view_flow")
    log_in(page, live_server, "viewer", "password")
    page.goto(f"{live_server.url}/admin/flows/reports/{flow.pk}/?range=all")
    sentence = page.locator("[data-ab-decision]")
    expect(sentence).to_contain_text("Variant B won on clicks on")
    expect(sentence).to_contain_text("new contacts all go to B.")
    sentence.scroll_into_view_if_needed()
    page.set_viewport_size({"width": 1400, "height": 2200})
    page.screenshot(path=str(artifacts / "ab-winner-report.png"), full_page=True)
