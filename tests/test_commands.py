"""The management commands a site owner runs: flows_setup, flows_run, flows_enroll."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from django_q.models import Schedule

from tests.factories import ContactFactory, ContactListFactory
from wagtail_flows.engine.dispatch import enroll
from wagtail_flows.engine.tasks import SWEEP_FUNC, ensure_schedule
from wagtail_flows.models import Enrollment, EnrollmentJob, Flow, ListMembership, Segment
from wagtail_flows.models.enrollments import EnrollmentStatus
from wagtail_flows.models.jobs import JobStatus

pytestmark = pytest.mark.django_db


def run(*args):
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def make_flow(name="Welcome", status="live", steps=(("add_tag", {"tag": "welcomed"}),)):
    flow = Flow(name=name, status=status, triggers=[("manual", None)], steps=list(steps))
    flow.save()
    return flow


def members(contact_list, count):
    contacts = ContactFactory.create_batch(count)
    for contact in contacts:
        ListMembership.objects.create(contact=contact, contact_list=contact_list)
    return contacts


# --- flows_setup and the schedule --------------------------------------------------------------


def test_flows_setup_creates_one_sweep_schedule_however_often_it_runs():
    Schedule.objects.filter(func=SWEEP_FUNC).delete()

    output = run("flows_setup")
    run("flows_setup")

    schedule = Schedule.objects.get(func=SWEEP_FUNC)
    assert "Created the schedule" in output
    assert schedule.schedule_type == Schedule.MINUTES and schedule.minutes == 1
    assert schedule.repeats == -1
    assert schedule.intended_date_kwarg == "scheduled_for"


def test_migrate_creates_the_schedule():
    # The test database was migrated: post_migrate ran ensure_schedule().
    assert Schedule.objects.filter(func=SWEEP_FUNC).count() == 1


def test_a_damaged_schedule_is_repaired_and_duplicates_removed(settings):
    settings.WAGTAIL_FLOWS = {**settings.WAGTAIL_FLOWS, "SWEEP_INTERVAL_MINUTES": 5}
    ensure_schedule()
    Schedule.objects.filter(func=SWEEP_FUNC).update(minutes=60, repeats=0)
    Schedule.objects.create(func=SWEEP_FUNC, schedule_type=Schedule.MINUTES, minutes=1)

    schedule, created = ensure_schedule()

    assert not created
    assert Schedule.objects.filter(func=SWEEP_FUNC).count() == 1
    assert (schedule.minutes, schedule.repeats) == (5, -1)


def test_a_sweep_replayed_after_downtime_moves_the_schedule_past_the_missed_runs():
    from wagtail_flows.engine.tasks import run_sweep_task

    schedule, _ = ensure_schedule()
    long_ago = timezone.now() - timedelta(hours=3)
    Schedule.objects.filter(pk=schedule.pk).update(next_run=long_ago)

    run_sweep_task(scheduled_for=long_ago.isoformat())

    schedule.refresh_from_db()
    assert schedule.next_run > timezone.now()


# --- flows_run ----------------------------------------------------------------------------------


def test_flows_run_advances_due_contacts_without_a_cluster():
    flow = make_flow()
    ann = ContactFactory()
    enroll(flow, ann)

    output = run("flows_run")

    assert "advanced 1" in output
    assert Enrollment.objects.get(contact=ann).status == EnrollmentStatus.COMPLETED


def test_flows_run_loops_for_the_passes_asked():
    output = run("flows_run", "--loop", "--interval", "0.01", "--passes", "3")

    assert output.count("sweep ") == 3
    assert "sweep 3:" in output


def test_flows_run_refuses_a_zero_interval():
    with pytest.raises(CommandError, match="interval"):
        run("flows_run", "--loop", "--interval", "0")


# --- flows_enroll --------------------------------------------------------------------------------


def test_flows_enroll_a_list_with_a_progress_bar(settings):
    settings.WAGTAIL_FLOWS = {**settings.WAGTAIL_FLOWS, "SWEEP_BATCH_SIZE": 2}
    flow = make_flow()
    customers = ContactListFactory(name="Customers")
    contacts = members(customers, 5)
    members(ContactListFactory(name="Others"), 2)

    output = run("flows_enroll", "Welcome", "--list", "Customers", "--sync")

    assert "Enrolling 5 contact(s)" in output
    assert "[##############################] 100% 5/5" in output
    assert "Done: 5 enrolled, 0 skipped" in output
    enrolled = set(Enrollment.objects.filter(flow=flow).values_list("contact", flat=True))
    assert enrolled == {c.pk for c in contacts}
    job = EnrollmentJob.objects.get()
    assert (job.status, job.total, job.done, job.enrolled) == (JobStatus.DONE, 5, 5, 5)


@pytest.mark.django_db(transaction=True)
def test_flows_enroll_watch_follows_the_clusters_job_to_the_end():
    """In the background (here django-q2's sync mode stands in for the cluster) with
    --watch: the command draws the job's progress until it is done."""
    flow = make_flow()
    customers = ContactListFactory(name="Customers")
    members(customers, 3)

    output = run("flows_enroll", "Welcome", "--list", "Customers", "--watch")

    assert "runs in the django-q2 cluster" in output
    assert "[##############################] 100% 3/3" in output
    assert "Done: 3 enrolled, 0 skipped" in output
    assert Enrollment.objects.filter(flow=flow).count() == 3


def test_flows_enroll_chosen_contacts_by_email():
    flow = make_flow()
    ann, bob, _ = ContactFactory(), ContactFactory(), ContactFactory()

    run("flows_enroll", str(flow.pk), "--email", f"{ann.email}, {bob.email.upper()}", "--sync")

    assert Enrollment.objects.filter(flow=flow).count() == 2


def test_flows_enroll_a_segment():
    flow = make_flow()
    segment = Segment.objects.create(name="Subscribers", conditions=[("is_subscribed", None)])
    subscribed = ContactFactory(status="subscribed")
    ContactFactory(status="unsubscribed")

    run("flows_enroll", "Welcome", "--segment", segment.name, "--sync")

    assert list(Enrollment.objects.filter(flow=flow).values_list("contact", flat=True)) == [
        subscribed.pk
    ]


def test_flows_enroll_counts_contacts_already_in_the_flow_as_skipped():
    flow = make_flow(steps=[("wait", {"amount": 1, "unit": "days"})])
    customers = ContactListFactory(name="Customers")
    first, _ = members(customers, 2)
    enroll(flow, first)

    output = run("flows_enroll", "Welcome", "--list", "Customers", "--sync")

    assert "Done: 1 enrolled, 1 skipped" in output


def test_flows_enroll_in_the_background_runs_in_the_cluster(django_capture_on_commit_callbacks):
    flow = make_flow()
    customers = ContactListFactory(name="Customers")
    members(customers, 3)

    with django_capture_on_commit_callbacks(execute=True):
        output = run("flows_enroll", "Welcome", "--list", "Customers")

    assert "runs in the django-q2 cluster" in output
    assert EnrollmentJob.objects.get().status == JobStatus.DONE
    assert Enrollment.objects.filter(flow=flow).count() == 3


@pytest.mark.parametrize(
    "args, message",
    [
        (["Nope", "--list", "Customers"], "No flow named “Nope”"),
        (["Welcome", "--list", "Nope"], "No contact list named “Nope”"),
        (["Welcome", "--segment", "Nope"], "No segment named “Nope”"),
        (["Welcome", "--email", "who@example.com"], "No contact with the email who@example.com"),
        (["Draft", "--list", "Customers"], "flow: “Draft” is draft: only a live flow"),
    ],
)
def test_flows_enroll_names_what_is_wrong_and_changes_nothing(args, message):
    make_flow()
    make_flow("Draft", status="draft")
    members(ContactListFactory(name="Customers"), 1)

    with pytest.raises(CommandError, match=message):
        run("flows_enroll", *args, "--sync")

    assert not Enrollment.objects.exists()
    assert not EnrollmentJob.objects.exists()
