"""Manual enrollment jobs: batches, progress, at-least-once delivery, resuming after a crash."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_q.models import OrmQ
from django_q.signing import SignedPackage

from tests.factories import ContactFactory, ContactListFactory
from tests.test_sweeps import queue_for_real, run_queued_tasks  # noqa: F401  (a fixture)
from wagtail_flows.engine.enroll import enroll_audience, run_job_batch
from wagtail_flows.engine.sweeps import run_sweep
from wagtail_flows.engine.tasks import (
    ADVANCE_BATCH_FUNC,
    ADVANCE_ENROLLMENT_FUNC,
    ENROLLMENT_JOB_FUNC,
    run_enrollment_job_task,
)
from wagtail_flows.models import Enrollment, EnrollmentJob, Flow, ListMembership
from wagtail_flows.models.jobs import JobStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def flow():
    flow = Flow(
        name="Welcome",
        status="live",
        triggers=[("manual", None)],
        steps=[("wait", {"amount": 1, "unit": "days"})],
    )
    flow.save()
    return flow


@pytest.fixture
def customers():
    customers = ContactListFactory(name="Customers")
    for contact in ContactFactory.create_batch(5):
        ListMembership.objects.create(contact=contact, contact_list=customers)
    return customers


@pytest.fixture
def small_batches(settings):
    settings.WAGTAIL_FLOWS = {**settings.WAGTAIL_FLOWS, "SWEEP_BATCH_SIZE": 2}


def test_a_job_shows_its_progress_batch_by_batch(flow, customers, small_batches):
    job = enroll_audience(flow, contact_list=customers, background=False)
    assert (job.total, job.done, job.percent, job.status) == (5, 0, 0, JobStatus.QUEUED)

    cursor = run_job_batch(job.pk, 0)
    job.refresh_from_db()

    assert (job.done, job.enrolled, job.percent, job.status) == (2, 2, 40, JobStatus.RUNNING)
    assert job.cursor == cursor
    assert str(job) == "List “Customers” → Welcome"


def test_a_batch_delivered_twice_enrolls_and_counts_once(flow, customers, small_batches):
    job = enroll_audience(flow, contact_list=customers, background=False)

    first = run_job_batch(job.pk, 0)
    again = run_job_batch(job.pk, 0)  # django-q2 redelivered the same batch

    assert first is not None and again is None
    job.refresh_from_db()
    assert (job.done, job.enrolled) == (2, 2)
    assert Enrollment.objects.count() == 2


def test_a_stalled_job_is_resumed_by_the_sweep(flow, customers, small_batches):
    job = enroll_audience(flow, contact_list=customers, background=False)
    run_job_batch(job.pk, 0)
    # The worker running the next batch died, and the Redis broker lost its task.
    EnrollmentJob.objects.filter(pk=job.pk).update(
        updated_at=timezone.now() - timedelta(minutes=30)
    )

    report = run_sweep()

    assert report["jobs_resumed"] == 1
    job.refresh_from_db()
    assert (job.status, job.done, job.enrolled) == (JobStatus.DONE, 5, 5)
    assert job.finished_at is not None
    assert Enrollment.objects.filter(flow=flow).count() == 5


def test_a_job_that_is_progressing_is_left_alone(flow, customers, small_batches):
    job = enroll_audience(flow, contact_list=customers, background=False)
    run_job_batch(job.pk, 0)

    assert run_sweep()["jobs_resumed"] == 0
    job.refresh_from_db()
    assert job.done == 2


def test_background_enrollment_starts_after_commit(
    flow, customers, django_capture_on_commit_callbacks
):
    job = enroll_audience(flow, contact_list=customers)
    assert EnrollmentJob.objects.get().status == JobStatus.QUEUED  # nothing before commit

    with django_capture_on_commit_callbacks(execute=True):
        job = enroll_audience(flow, contact_list=customers)

    job.refresh_from_db()
    assert (job.status, job.enrolled) == (JobStatus.DONE, 5)


def test_chosen_contacts_are_enrolled(flow):
    ann, bob = ContactFactory(), ContactFactory()

    job = enroll_audience(flow, contact_ids=[ann.pk, bob.pk, ann.pk], background=False)
    run_job_batch(job.pk, 0)

    job.refresh_from_db()
    assert (job.total, job.enrolled) == (2, 2)
    assert str(job.audience_label) == "2 chosen contacts"


@pytest.mark.parametrize(
    "audience, field",
    [
        ({}, "audience"),
        ({"contact_ids": []}, "contact_ids"),
        ({"contact_ids": [1], "contact_list": "customers"}, "audience"),
    ],
)
def test_an_unclear_audience_is_refused_naming_the_field(flow, customers, audience, field):
    if audience.get("contact_list"):
        audience["contact_list"] = customers

    with pytest.raises(ValidationError) as refused:
        enroll_audience(flow, **audience)

    assert field in refused.value.message_dict
    assert not EnrollmentJob.objects.exists()


def test_a_paused_flow_takes_no_contacts(flow, customers):
    flow.status = "paused"
    flow.save()

    with pytest.raises(ValidationError) as refused:
        enroll_audience(flow, contact_list=customers)

    assert "flow" in refused.value.message_dict


# --- a large audience: runs due now, one advance task per batch ------------------------------


def _audience(name, size):
    contacts = ContactListFactory(name=name)
    ListMembership.objects.bulk_create(
        ListMembership(contact=contact, contact_list=contacts)
        for contact in ContactFactory.create_batch(size)
    )
    return contacts


def _queued(func):
    return [
        t
        for t in (SignedPackage.loads(q.payload) for q in OrmQ.objects.all())
        if t["func"] == func
    ]


@pytest.mark.usefixtures("queue_for_real")
def test_a_large_audience_enters_due_now_and_advances_one_batch_per_task(
    flow, small_batches, django_capture_on_commit_callbacks
):
    audience = _audience("Newsletter", 5)
    with django_capture_on_commit_callbacks(execute=True):
        job = enroll_audience(flow, contact_list=audience)
    with django_capture_on_commit_callbacks(execute=True):
        run_queued_tasks(only=ENROLLMENT_JOB_FUNC)

    job.refresh_from_db()
    assert (job.status, job.done, job.enrolled) == (JobStatus.DONE, 5, 5)
    assert {r.status for r in Enrollment.objects.filter(flow=flow)} == {"active"}
    batches = _queued(ADVANCE_BATCH_FUNC)
    assert sorted(len(task["args"][0]) for task in batches) == [1, 2, 2]
    assert not _queued(ADVANCE_ENROLLMENT_FUNC)

    run_queued_tasks()
    waiting = Enrollment.objects.filter(flow=flow, status="waiting", current_step__gt="")
    assert waiting.count() == 5


@pytest.mark.usefixtures("queue_for_real")
def test_a_lost_advance_task_leaves_the_new_runs_to_the_sweep(
    flow, customers, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        enroll_audience(flow, contact_list=customers)
    with django_capture_on_commit_callbacks(execute=True):
        run_queued_tasks(only=ENROLLMENT_JOB_FUNC)
    assert _queued(ADVANCE_BATCH_FUNC)
    OrmQ.objects.all().delete()  # the Redis broker lost the advance task

    assert run_sweep()["advanced"] == 5
    run_queued_tasks()
    assert Enrollment.objects.filter(flow=flow, status="waiting").count() == 5


def _job_queries(flow, size, capture_on_commit):
    audience = _audience(f"{size} people", size)
    job = enroll_audience(flow, contact_list=audience, background=False)
    with CaptureQueriesContext(connection) as queries, capture_on_commit(execute=True):
        run_enrollment_job_task(job.pk)
    job.refresh_from_db()
    assert job.enrolled == size
    OrmQ.objects.all().delete()
    return len(queries)


@pytest.mark.usefixtures("queue_for_real")
def test_a_batch_of_50_costs_the_queries_of_a_batch_of_5(
    flow, django_assert_num_queries, django_capture_on_commit_callbacks
):
    flow.entry_conditions = [("is_subscribed", None)]
    flow.reentry = "always"
    flow.save()
    five = _job_queries(flow, 5, django_capture_on_commit_callbacks)
    audience = _audience("Fifty", 50)
    job = enroll_audience(flow, contact_list=audience, background=False)

    with django_assert_num_queries(five), django_capture_on_commit_callbacks(execute=True):
        run_enrollment_job_task(job.pk)

    job.refresh_from_db()
    assert (job.done, job.enrolled, job.percent) == (50, 50, 100)
    assert len(_queued(ADVANCE_BATCH_FUNC)) == 1
