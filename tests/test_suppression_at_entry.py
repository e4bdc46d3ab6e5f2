"""A contact who already meets a flow's exit condition never enters it — by an event's
dispatch, by a time-based trigger or by a manual enrollment — and gets no first email."""

import pytest
from django.core import mail

from tests.factories import ContactFactory, ContactListFactory, make_email_page
from tests.test_admin import raw
from wagtail_flows.engine.dispatch import enroll
from wagtail_flows.engine.enroll import enroll_audience, run_job
from wagtail_flows.engine.sweeps import run_sweep
from wagtail_flows.models import Enrollment, Flow, Message

pytestmark = pytest.mark.django_db


def flow_leaving_the_dormant_alone(triggers):
    return Flow.objects.create(
        name="Spring offer",
        status="live",
        triggers=triggers,
        steps=[raw("send_email", {"page": make_email_page("Spring is here").pk})],
        exit_conditions=[raw("has_tag", {"tag": "dormant"})],
    )


@pytest.fixture
def dormant():
    contact = ContactFactory(status="subscribed", email="sleepy@example.com")
    contact.add_tag("dormant")
    return contact


def test_a_dormant_contact_tagged_into_the_flow_is_kept_out(
    dormant, django_capture_on_commit_callbacks
):
    flow = flow_leaving_the_dormant_alone([raw("tag_added", {"tag": "spring"})])
    awake = ContactFactory(status="subscribed")
    with django_capture_on_commit_callbacks(execute=True):
        dormant.add_tag("spring")
        awake.add_tag("spring")
    assert list(Enrollment.objects.filter(flow=flow).values_list("contact", flat=True)) == [
        awake.pk
    ]
    assert [m.to for m in mail.outbox] == [[awake.email]]


def test_enroll_refuses_a_contact_who_meets_an_exit_condition(dormant):
    flow = flow_leaving_the_dormant_alone([raw("manual", None)])
    assert enroll(flow, dormant) is None
    assert enroll(flow, ContactFactory(status="subscribed")) is not None


def test_a_manual_enrollment_of_a_list_skips_the_dormant(
    dormant, django_capture_on_commit_callbacks
):
    flow = flow_leaving_the_dormant_alone([raw("manual", None)])
    news = ContactListFactory(name="Newsletter")
    dormant.add_to_list(news)
    ContactFactory(status="subscribed").add_to_list(news)
    job = enroll_audience(flow, contact_list=news, background=False)
    with django_capture_on_commit_callbacks(execute=True):
        run_job(job)
    job.refresh_from_db()
    assert (job.total, job.enrolled, job.skipped) == (2, 1, 1)
    assert not Message.objects.filter(contact=dormant).exists()


def test_a_time_based_trigger_skips_the_dormant(dormant):
    from datetime import timedelta

    from django.utils import timezone

    flow = flow_leaving_the_dormant_alone([raw("inactive", {"days": 30, "activity": "any"})])
    quiet = timezone.now() - timedelta(days=40)
    other = ContactFactory(status="subscribed", created_at=quiet, last_activity_at=quiet)
    type(dormant).objects.filter(pk=dormant.pk).update(created_at=quiet, last_activity_at=quiet)
    run_sweep()
    assert list(Enrollment.objects.filter(flow=flow).values_list("contact", flat=True)) == [
        other.pk
    ]
