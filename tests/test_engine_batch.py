"""An advance batch reads what its runs share once: flows, trees, email pages, enrollments.

The sweep claims due contacts and hands each batch to one advance task; a worker runs it.
These stories run that task as the worker does and check it costs a fixed number of
queries per batch plus a fixed number per contact, and that sharing the reads changes
nothing a contact sees.
"""

from datetime import timedelta

import pytest
from django.utils.module_loading import import_string
from django_q.models import OrmQ
from django_q.signing import SignedPackage

from tests.factories import ContactFactory, make_email_page
from tests.test_engine_tree import T0, branch, make_flow, score_at_least, step, tag, wait
from tests.test_sweeps import queue_for_real  # noqa: F401  (a fixture)
from wagtail_flows.engine import batch as engine_batch
from wagtail_flows.engine.dispatch import enroll
from wagtail_flows.engine.queue import ADVANCE_BATCH_FUNC
from wagtail_flows.engine.sweeps import run_sweep
from wagtail_flows.models import Enrollment, Flow, Message, StepRun

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("queue_for_real")]

# What one contact of the 5-step flow below costs, whatever the batch's size: the add-tag
# step (tag lookup, tagged-item read and insert, tag_added event, StepRun: 9 with its and
# taggit's savepoints), the zero wait (its StepRun, no savepoint), the branch (StepRun: 3 with its
# savepoint), the send (frequency-cap read, Message and StepRun: 5), the score change
# (UPDATE, score read, score_changed event, StepRun, and the run's final UPDATE, which
# also gives the claim up: 7), the run's own transaction (2).
PER_CONTACT = 27
# Per batch: the batch's flows (1). Per chunk of CHUNK contacts read ahead: their
# enrollments with contacts (1), their step logs (1), the email pages their sends need (1);
# and from the second chunk on, the flows' status (1: a flow paused meanwhile stops there).
PER_BATCH = 1
PER_CHUNK = 3


def five_step_flow(name):
    page = make_email_page(subject="Hello {{ contact.first_name }}")
    return make_flow(
        [
            tag("welcomed", "s1"),
            wait("s2", amount=0, unit="minutes"),
            branch("s3", [score_at_least(10)]),
            step("send_email", "s4", page=page.pk),
            step("change_score", "s5", delta=5),
        ],
        name=name,
    )


def due(flow, count):
    for contact in ContactFactory.create_batch(count):
        enroll(flow, contact, now=T0, enqueue=False)


def handed_out_batch(now=T0):
    """The sweep claims what is due and queues one advance task: the worker's call."""
    run_sweep(now=now)
    (queued,) = [
        task
        for task in (SignedPackage.loads(q.payload) for q in OrmQ.objects.order_by("pk"))
        if task["func"] == ADVANCE_BATCH_FUNC
    ]
    OrmQ.objects.all().delete()
    return lambda: import_string(queued["func"])(*queued["args"], **queued["kwargs"])


def expected_queries(contacts):
    chunks = -(-contacts // engine_batch.CHUNK)
    return PER_BATCH + PER_CHUNK * chunks + (chunks - 1) + PER_CONTACT * contacts


@pytest.mark.parametrize("contacts", [3, 30])
def test_an_advance_batch_costs_a_fixed_number_of_queries_per_contact(
    contacts, django_assert_num_queries
):
    """Queries = 1 per batch (flows) + 3 per 25 contacts read ahead (enrollments with
    their contacts, step logs, email pages) + 1 per later chunk (flows' status) + 27 per
    contact (the steps' own writes and reads). The flow is read and parsed, and its email
    page fetched, once per batch or chunk, not once per contact: 3 contacts cost 85
    queries, 30 cost 818."""
    ContactFactory().add_tag("welcomed")  # the tag exists, as on a site running a while
    flow = five_step_flow("Welcome")
    due(flow, contacts)
    advance = handed_out_batch()

    with django_assert_num_queries(expected_queries(contacts)):
        assert advance() == contacts

    assert not Enrollment.objects.filter(flow=flow).exclude(status="completed").exists()
    assert not Enrollment.objects.filter(flow=flow).exclude(claimed_by="").exists()
    assert StepRun.objects.filter(enrollment__flow=flow).count() == 5 * contacts
    assert Message.objects.filter(flow=flow).count() == contacts


def test_a_contact_in_two_flows_of_one_batch_is_read_afresh_for_the_second():
    """Ann scores 10 in the first flow; the second flow, in the same batch, sees it."""
    scoring = make_flow([step("change_score", "up", delta=10)], name="Scoring")
    hot = make_flow([branch("b", [score_at_least(10)], yes=[tag("hot", "t")])], name="Hot")
    ann = ContactFactory(email="ann@example.com")
    enroll(scoring, ann, now=T0, enqueue=False)
    enroll(hot, ann, now=T0 + timedelta(seconds=1), enqueue=False)  # due after the other

    handed_out_batch(now=T0 + timedelta(seconds=1))()

    ann.refresh_from_db()
    assert ann.score == 10
    assert list(ann.tagged_items.values_list("tag__name", flat=True)) == ["hot"]


def test_a_failing_contact_in_a_batch_is_retried_and_the_others_go_on():
    flow = make_flow([step("webhook", "wh", url="ftp://example.com/hook"), tag("done", "t")])
    bob, cem = ContactFactory.create_batch(2)
    enroll(flow, bob, now=T0, enqueue=False)
    other = enroll(make_flow([tag("welcomed", "w")], name="Welcome"), cem, now=T0, enqueue=False)

    handed_out_batch()()

    failing = Enrollment.objects.get(flow=flow, contact=bob)
    assert failing.status == "waiting" and failing.attempts == 1
    assert "not an http(s) URL" in failing.last_error
    assert failing.claimed_by == ""  # released: the retry is not held up by its own claim
    other.refresh_from_db()
    assert other.status == "completed" and other.claimed_by == ""


def test_a_step_another_worker_recorded_meanwhile_rolls_this_run_back_wholly(monkeypatch):
    """Dan's run was read ahead; then a worker that took over his run recorded its wait
    (the zero wait has no savepoint of its own). This run's tag is rolled back with it:
    nothing of it commits, and the next contact of the batch goes on."""
    flow = make_flow([tag("welcomed", "s1"), wait("s2", amount=0, unit="minutes")])
    dan, eve = ContactFactory.create_batch(2)
    enroll(flow, dan, now=T0, enqueue=False)
    enroll(flow, eve, now=T0, enqueue=False)
    dans_run = Enrollment.objects.get(contact=dan)
    read_ahead = engine_batch.BatchCache._read_ahead

    def then_another_worker_records_the_wait(cache, enrollment_id):
        read_ahead(cache, enrollment_id)
        StepRun.objects.create(
            enrollment=dans_run, step_id="s2", step_type="wait", pass_number=1, created_at=T0
        )

    monkeypatch.setattr(
        engine_batch.BatchCache, "_read_ahead", then_another_worker_records_the_wait
    )
    handed_out_batch()()

    assert list(StepRun.objects.filter(enrollment=dans_run).values_list("step_id")) == [("s2",)]
    assert not dan.tagged_items.exists()
    assert Enrollment.objects.get(contact=eve).status == "completed"
    assert eve.tagged_items.exists()


def test_a_flow_paused_during_a_batch_stops_at_the_next_chunk(monkeypatch):
    """The editor pauses the flow while the batch is under way: contacts read after the
    pause stay where they are (and are not left claimed)."""
    monkeypatch.setattr(engine_batch, "CHUNK", 2)
    flow = make_flow([tag("welcomed", "s1")])
    due(flow, 4)
    read_ahead = engine_batch.BatchCache._read_ahead
    chunks = []

    def the_editor_pauses_after_the_first_chunk(cache, enrollment_id):
        if chunks:
            Flow.objects.filter(pk=flow.pk).update(status="paused")
        chunks.append(enrollment_id)
        read_ahead(cache, enrollment_id)

    monkeypatch.setattr(
        engine_batch.BatchCache, "_read_ahead", the_editor_pauses_after_the_first_chunk
    )
    handed_out_batch()()

    runs = Enrollment.objects.filter(flow=flow)
    assert sorted(runs.values_list("status", flat=True)) == [
        "active",
        "active",
        "completed",
        "completed",
    ]
    assert not runs.exclude(claimed_by="").exists()
