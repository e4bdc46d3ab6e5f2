"""Manual enrollment jobs: batches, progress, at-least-once delivery, resuming after a crash."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from tests.factories import ContactFactory, ContactListFactory
from wagtail_flows.engine.enroll import enroll_audience, run_job_batch
from wagtail_flows.engine.sweeps import run_sweep
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
