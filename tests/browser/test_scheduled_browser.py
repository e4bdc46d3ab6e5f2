"""A publisher schedules the weekly newsletter in Chromium — list, date picker, repeat — sees
it listed on the flow's page, and cancels it (admin/enroll.py, flow_edit.html)."""

import datetime as dt

import pytest
from django.utils import timezone

from tests.browser.conftest import log_in
from tests.conftest import EDITOR_PERMISSIONS, make_staff_user
from tests.factories import ContactFactory, ContactListFactory, make_email_page
from tests.test_admin import raw
from wagtail_flows.models import EnrollmentJob, Flow
from wagtail_flows.models.jobs import JobStatus

pytestmark = pytest.mark.browser


@pytest.fixture
def newsletter(transactional_db):
    make_staff_user("publisher", *EDITOR_PERMISSIONS, "activate_flow", "view_contactlist")
    news = ContactListFactory(name="Newsletter")
    ContactFactory(email="ann@example.com", status="subscribed").add_to_list(news)
    return Flow.objects.create(
        name="Weekly newsletter",
        status="live",
        triggers=[raw("manual", None)],
        steps=[raw("send_email", {"page": make_email_page("This week").pk})],
        reentry="after_exit",
    )


def test_a_publisher_schedules_the_weekly_newsletter_and_cancels_it(
    live_server, page, newsletter, artifacts
):
    log_in(page, live_server, "publisher", "password")
    page.goto(f"{live_server.url}/admin/flows/{newsletter.pk}/enroll/")
    page.get_by_label("Everyone on list").select_option(label="Newsletter")
    thursday = timezone.localtime() + dt.timedelta(days=2)
    typed = thursday.strftime("%Y-%m-%d") + " 09:00"
    start = page.get_by_label("Start at")
    start.fill(typed)
    page.screenshot(path=str(artifacts / "enroll-scheduled.png"), full_page=True)
    page.locator("h1").click()  # as a person closes the date picker: click beside it
    page.get_by_label("Repeat").select_option(label="Every week")
    page.get_by_role("button", name="Enroll contacts").click()

    scheduled = page.locator(".wf-scheduled li")
    scheduled.wait_for()
    assert "Scheduled: List “Newsletter” enters on" in scheduled.inner_text()
    assert "then every week" in scheduled.inner_text()
    job = EnrollmentJob.objects.get()
    local = timezone.localtime(job.scheduled_at)
    assert (local.strftime("%Y-%m-%d %H:%M"), job.repeat) == (typed, "weekly")
    page.screenshot(path=str(artifacts / "flow-scheduled.png"), full_page=True)

    scheduled.get_by_role("button", name="Cancel").click()
    page.get_by_text("The scheduled enrollment of List “Newsletter” is cancelled.").wait_for()
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED
    assert page.locator(".wf-scheduled").count() == 0
