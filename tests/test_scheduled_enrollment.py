"""A broadcast: a marketer schedules a list or segment to enter a live flow at a chosen time,
once or every week or month, and the sweep starts it then — with the engine's guarantees
(one email per contact, a second sweep starts nothing twice)."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.utils import timezone

from tests.conftest import make_staff_user
from tests.factories import ContactFactory, ContactListFactory, make_email_page
from tests.test_admin import action_url, messages_of, raw
from wagtail_flows.engine.enroll import (
    enroll_audience,
    next_occurrence,
    run_job,
    start_due_jobs,
)
from wagtail_flows.engine.sweeps import run_sweep
from wagtail_flows.models import EnrollmentJob, Flow, ListMembership, Message
from wagtail_flows.models.jobs import JobStatus, Repeat

pytestmark = pytest.mark.django_db

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


@pytest.fixture
def newsletter_flow():
    return Flow.objects.create(
        name="December newsletter",
        status="live",
        triggers=[raw("manual", None)],
        steps=[raw("send_email", {"page": make_email_page("December news").pk})],
        reentry="always",
    )


@pytest.fixture
def subscribers():
    subscribers = ContactListFactory(name="Newsletter")
    for contact in ContactFactory.create_batch(3, status="subscribed"):
        ListMembership.objects.create(contact=contact, contact_list=subscribers)
    return subscribers


@pytest.fixture
def amsterdam(settings):
    settings.WAGTAIL_FLOWS = {**settings.WAGTAIL_FLOWS, "SITE_TIMEZONE": "Europe/Amsterdam"}


def local(*args):
    return dt.datetime(*args, tzinfo=AMSTERDAM)


def soon(hours=2):
    return timezone.now() + dt.timedelta(hours=hours)


def deliver_started(django_capture_on_commit_callbacks, clock):
    """The sweep at ``clock`` starts what is due; its batches and the emails run after commit."""
    with django_capture_on_commit_callbacks(execute=True):
        started = start_due_jobs(clock)
    for job in EnrollmentJob.objects.filter(status=JobStatus.QUEUED):
        with django_capture_on_commit_callbacks(execute=True):
            run_job(job)
    return started


def test_a_scheduled_list_enters_at_its_time_and_gets_one_email_each(
    newsletter_flow, subscribers, django_capture_on_commit_callbacks
):
    at = soon()
    job = enroll_audience(newsletter_flow, contact_list=subscribers, start_at=at)
    assert job.status == JobStatus.SCHEDULED
    assert start_due_jobs(at - dt.timedelta(minutes=1)) == 0  # not yet
    assert not newsletter_flow.enrollments.exists()

    assert deliver_started(django_capture_on_commit_callbacks, at) == 1
    job.refresh_from_db()
    assert (job.status, job.enrolled) == (JobStatus.DONE, 3)
    assert Message.objects.filter(flow=newsletter_flow, status="sent").count() == 3
    assert len(mail.outbox) == 3

    # A later sweep (or a second cluster) starts nothing again and sends nothing more.
    assert deliver_started(django_capture_on_commit_callbacks, at + dt.timedelta(minutes=1)) == 0
    run_sweep(now=at + dt.timedelta(minutes=2))
    assert len(mail.outbox) == 3


def test_two_sweeps_racing_start_a_scheduled_job_once(newsletter_flow, subscribers):
    at = soon()
    enroll_audience(newsletter_flow, contact_list=subscribers, start_at=at, repeat=Repeat.WEEKLY)
    stale = list(EnrollmentJob.objects.select_related("flow"))
    from wagtail_flows.engine import enroll

    assert enroll._start_scheduled(stale[0], at) is True
    assert enroll._start_scheduled(stale[0], at) is False  # the other sweep's copy
    assert EnrollmentJob.objects.filter(status=JobStatus.SCHEDULED).count() == 1  # one next


def test_a_weekly_broadcast_keeps_its_local_time_across_the_clock_change(amsterdam):
    anchor = local(2027, 3, 25, 9, 0)  # a Thursday, winter time
    following = next_occurrence(anchor, Repeat.WEEKLY, anchor)
    assert following.astimezone(AMSTERDAM) == local(2027, 4, 1, 9, 0)  # summer time
    assert following - anchor == dt.timedelta(days=7, hours=-1)


def test_a_monthly_broadcast_on_the_31st_falls_on_shorter_months_last_day(amsterdam):
    anchor = local(2027, 1, 31, 8, 30)
    february = next_occurrence(anchor, Repeat.MONTHLY, anchor)
    march = next_occurrence(anchor, Repeat.MONTHLY, february)
    assert february.astimezone(AMSTERDAM) == local(2027, 2, 28, 8, 30)
    assert march.astimezone(AMSTERDAM) == local(2027, 3, 31, 8, 30)  # back on the 31st


def test_a_repeating_schedule_books_its_next_time_when_it_starts(
    newsletter_flow, subscribers, amsterdam, django_capture_on_commit_callbacks
):
    at = soon()
    enroll_audience(newsletter_flow, contact_list=subscribers, start_at=at, repeat=Repeat.WEEKLY)
    deliver_started(django_capture_on_commit_callbacks, at)
    upcoming = EnrollmentJob.objects.get(status=JobStatus.SCHEDULED)
    assert upcoming.scheduled_at.astimezone(AMSTERDAM).time() == at.astimezone(AMSTERDAM).time()
    assert dt.timedelta(days=6) < upcoming.scheduled_at - at < dt.timedelta(days=8)
    assert upcoming.repeat == Repeat.WEEKLY

    # Down for three weeks: the next one to come is booked, the missed ones are not replayed.
    late = upcoming.scheduled_at + dt.timedelta(days=20)
    deliver_started(django_capture_on_commit_callbacks, late)
    booked = EnrollmentJob.objects.get(status=JobStatus.SCHEDULED)
    assert late < booked.scheduled_at <= late + dt.timedelta(days=7)
    assert EnrollmentJob.objects.filter(status=JobStatus.DONE).count() == 2


def test_a_flow_paused_at_the_time_skips_that_time_not_the_schedule(
    newsletter_flow, subscribers, django_capture_on_commit_callbacks
):
    at = soon()
    job = enroll_audience(
        newsletter_flow, contact_list=subscribers, start_at=at, repeat=Repeat.MONTHLY
    )
    Flow.objects.filter(pk=newsletter_flow.pk).update(status="paused")
    assert deliver_started(django_capture_on_commit_callbacks, at) == 0
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.error == "Not started: “December newsletter” was paused at the scheduled time."
    assert not newsletter_flow.enrollments.exists()
    assert EnrollmentJob.objects.filter(status=JobStatus.SCHEDULED).count() == 1


# --- in the admin --------------------------------------------------------------------------


def form_time(moment):
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def test_a_publisher_schedules_a_broadcast_from_the_flows_enroll_page(
    client, flows_publisher, newsletter_flow, subscribers
):
    client.force_login(flows_publisher)
    at = soon(hours=26)
    response = client.post(
        action_url(newsletter_flow, "enroll"),
        {"contact_list": subscribers.pk, "start_at": form_time(at), "repeat": "weekly"},
        follow=True,
    )
    job = EnrollmentJob.objects.get()
    assert (job.status, job.repeat, job.created_by) == ("scheduled", "weekly", flows_publisher)
    assert job.scheduled_at == at.replace(second=0, microsecond=0)
    assert messages_of(response)[0].startswith(
        "List “Newsletter” will enter “December newsletter” on "
    )
    assert messages_of(response)[0].endswith(", then every week.")
    page = response.content.decode()
    assert "Scheduled: List “Newsletter” enters on" in page
    assert not newsletter_flow.enrollments.exists()


@pytest.mark.parametrize(
    "data, field, words",
    [
        ({"start_at": "2020-01-01 09:00"}, "start_at", "Choose a time in the future"),
        ({"repeat": "weekly"}, "start_at", "A repeating enrollment needs its first time."),
        ({"repeat": "daily"}, "repeat", "Select a valid choice."),
    ],
)
def test_a_schedule_that_cannot_run_is_refused_naming_the_field(
    client, flows_publisher, newsletter_flow, subscribers, data, field, words
):
    client.force_login(flows_publisher)
    response = client.post(
        action_url(newsletter_flow, "enroll"), {"contact_list": subscribers.pk, **data}
    )
    assert response.status_code in (200, 400)
    assert words in " ".join(response.context["form"].errors[field])
    assert not EnrollmentJob.objects.exists()


def test_typed_addresses_cannot_repeat(client, flows_publisher, newsletter_flow):
    ContactFactory(email="ann@example.com")
    client.force_login(flows_publisher)
    response = client.post(
        action_url(newsletter_flow, "enroll"),
        {"emails": "ann@example.com", "start_at": form_time(soon()), "repeat": "monthly"},
    )
    assert response.status_code == 400
    assert response.context["form"].errors["repeat"] == [
        "Only a list or a segment can be enrolled again and again."
    ]
    assert not EnrollmentJob.objects.exists()


def test_a_scheduled_broadcast_is_cancelled_before_it_starts(
    client, flows_publisher, newsletter_flow, subscribers, django_capture_on_commit_callbacks
):
    job = enroll_audience(newsletter_flow, contact_list=subscribers, start_at=soon())
    url = f"/admin/flows/jobs/{job.pk}/cancel/"
    editor = make_staff_user("drafter", "add_flow", "change_flow", "view_flow")
    client.force_login(editor)
    assert client.post(url).status_code == 403
    client.force_login(flows_publisher)
    assert client.get(url).status_code == 405
    response = client.post(url, follow=True)
    assert messages_of(response) == ["The scheduled enrollment of List “Newsletter” is cancelled."]
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED
    assert deliver_started(django_capture_on_commit_callbacks, soon(hours=3)) == 0
    assert client.post(url, follow=True).status_code == 200
    assert not newsletter_flow.enrollments.exists()


# --- the command -----------------------------------------------------------------------------


def test_a_developer_schedules_a_monthly_broadcast_with_flows_enroll(
    newsletter_flow, subscribers, amsterdam
):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    year = timezone.now().year + 1
    call_command(
        "flows_enroll",
        "December newsletter",
        "--list",
        "Newsletter",
        "--at",
        f"{year}-01-31 09:00",
        "--repeat",
        "monthly",
        stdout=out,
    )
    job = EnrollmentJob.objects.get()
    assert job.scheduled_at == local(year, 1, 31, 9, 0)
    assert (job.status, job.repeat) == (JobStatus.SCHEDULED, Repeat.MONTHLY)
    assert f"enters “December newsletter” at {year}-01-31 09:00 CET, then every month." in (
        out.getvalue()
    )


def test_the_command_refuses_a_time_it_cannot_read(newsletter_flow, subscribers):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="is not a time such as"):
        call_command("flows_enroll", "December newsletter", "--list", "Newsletter", "--at", "soon")
    assert not EnrollmentJob.objects.exists()
