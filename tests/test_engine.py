"""A contact's run through a flow: every step type, branches, splits, goals, exits,
re-entry, signals, and what happens when a step fails."""

import hashlib
import hmac
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.core import mail

from tests.factories import ContactFactory, ContactListFactory, make_email_page
from tests.test_engine_tree import (
    T0,
    branch,
    executed,
    make_flow,
    run,
    run_to_end,
    score_at_least,
    split,
    start,
    step,
    tag,
    wait,
)
from wagtail_flows import capture as tracking
from wagtail_flows import signals
from wagtail_flows.engine import advance, dispatch
from wagtail_flows.models import Enrollment, Message, StepRun, TaggedContact

pytestmark = pytest.mark.django_db


# --- steps -------------------------------------------------------------------------------


def test_contact_changes_run_in_order_and_the_run_completes(contact):
    customers = ContactListFactory(name="Customers")
    visitors = ContactListFactory(name="Visitors")
    contact.add_to_list(visitors)
    joined_visitors = list(contact.events.values_list("pk", flat=True))
    flow = make_flow(
        [
            tag("vip", "t1"),
            step("remove_from_list", "l0", list=visitors.pk),
            step("add_to_list", "l1", list=customers.pk),
            step("set_stage", "st", stage="customer"),
            step("change_score", "sc", delta=15),
            step("remove_tag", "t2", tag="vip"),
        ]
    )
    enrollment = run(start(flow, contact), T0)
    contact.refresh_from_db()
    assert enrollment.status == "completed" and enrollment.finished_at == T0
    assert executed(enrollment) == ["t1", "l0", "l1", "st", "sc", "t2"]
    assert list(contact.lists.all()) == [customers]
    assert contact.stage == "customer" and contact.score == 15
    assert not TaggedContact.objects.filter(content_object=contact).exists()
    changes = contact.events.exclude(pk__in=joined_visitors).order_by("pk")
    assert [(e.kind, e.created_at) for e in changes] == [
        (kind, T0)  # the engine's clock, not the wall clock: time-travelling runs agree
        for kind in (
            "tag_added",
            "list_left",
            "list_joined",
            "stage_changed",
            "score_changed",
            "tag_removed",
        )
    ]


def test_send_email_queues_one_message_and_delivers_it_after_commit(
    contact, django_capture_on_commit_callbacks
):
    page = make_email_page(subject="Hello {{ contact.first_name }}")
    flow = make_flow([step("send_email", "s1", page=page.pk, subject_override="")])
    with django_capture_on_commit_callbacks(execute=True):
        enrollment = run(start(flow, contact), T0)
    message = Message.objects.get(enrollment=enrollment)
    page.refresh_from_db()
    assert (message.step_id, message.pass_number, message.page_id) == ("s1", 1, page.pk)
    assert message.revision_id == page.live_revision_id
    assert message.created_at == T0 and not message.transactional
    message.refresh_from_db()
    assert message.status == "sent"
    assert [m.subject for m in mail.outbox] == ["Hello Ann"]


def test_a_wait_holds_the_contact_until_its_time(contact):
    flow = make_flow([wait("w", amount=2, unit="days"), tag("after", "t")])
    enrollment = run(start(flow, contact), T0)
    assert (enrollment.status, enrollment.current_step) == ("waiting", "w")
    assert enrollment.next_run_at == T0 + timedelta(days=2)
    enrollment = run(enrollment, T0 + timedelta(days=1))
    assert enrollment.status == "waiting" and executed(enrollment) == []
    enrollment = run(enrollment, T0 + timedelta(days=2))
    assert enrollment.status == "completed"
    assert executed(enrollment) == ["w", "t"]


@pytest.mark.parametrize("tagged, side", [(True, ["yes-step"]), (False, ["no-step"])])
def test_a_branch_takes_the_side_its_condition_picks(contact, tagged, side):
    if tagged:
        contact.change_score(10)
    flow = make_flow(
        [
            branch(
                "b", [score_at_least(10)], yes=[tag("y", "yes-step")], no=[tag("n", "no-step")]
            ),
            tag("end", "last"),
        ]
    )
    enrollment = run(start(flow, contact), T0)
    assert executed(enrollment) == ["b", *side, "last"]
    assert StepRun.objects.get(enrollment=enrollment, step_id="b").branch == (
        "yes" if tagged else "no"
    )


def test_a_branch_that_waits_up_to_wakes_when_an_event_meets_its_condition(contact):
    flow = make_flow(
        [
            branch(
                "b",
                [score_at_least(10)],
                yes=[tag("y", "yes-step")],
                no=[tag("n", "no-step")],
                wait_up_to_amount=3,
                wait_up_to_unit="days",
            )
        ]
    )
    enrollment = run(start(flow, contact), T0)
    assert enrollment.status == "waiting" and enrollment.wakes_on_event
    assert dispatch.is_listened("score_changed")
    later = T0 + timedelta(hours=5)
    contact.change_score(10)
    event = contact.events.get(kind="score_changed")
    dispatch.dispatch_event(event.pk, now=later)
    enrollment.refresh_from_db()
    assert enrollment.next_run_at == later
    enrollment = run(enrollment, later)
    assert executed(enrollment) == ["b", "yes-step"]


def test_a_branch_that_waits_up_to_takes_no_after_the_timeout(contact):
    flow = make_flow(
        [
            branch(
                "b",
                [score_at_least(10)],
                yes=[tag("y", "yes-step")],
                no=[tag("n", "no-step")],
                wait_up_to_amount=1,
                wait_up_to_unit="hours",
            )
        ]
    )
    enrollment = run_to_end(start(flow, contact))
    assert executed(enrollment) == ["b", "no-step"]
    assert StepRun.objects.get(step_id="b").created_at == T0 + timedelta(hours=1)


def test_a_split_sends_each_contact_down_one_variant_by_weight():
    flow = make_flow(
        [split("ab", ("A", 70, [tag("a", "va")]), ("B", 30, [tag("b", "vb")])), tag("z", "z")]
    )
    taken = {"va": 0, "vb": 0}
    for contact in ContactFactory.create_batch(60):
        enrollment = run(start(flow, contact), T0)
        path = executed(enrollment)
        assert path[0] == "ab" and path[-1] == "z" and len(path) == 3
        taken[path[1]] += 1
    assert taken["va"] > taken["vb"] > 0


def test_a_split_decision_is_fixed_for_the_run(contact):
    from wagtail_flows.engine.steps import split_point

    flow = make_flow([split("ab", ("A", 50, []), ("B", 50, []))])
    enrollment = start(flow, contact)
    assert split_point(enrollment, "ab") == split_point(
        Enrollment.objects.get(pk=enrollment.pk), "ab"
    )
    enrollment = run(enrollment, T0)
    assert StepRun.objects.get(enrollment=enrollment).branch in ("A", "B")


def test_an_exit_step_ends_the_run_as_exited(contact):
    flow = make_flow([step("exit", "x", reason="not a fit"), tag("never", "t")])
    enrollment = run(start(flow, contact), T0)
    assert (enrollment.status, enrollment.exit_reason) == ("exited", "not a fit")
    assert executed(enrollment) == ["x"]


def test_notify_emails_the_team_with_the_contacts_details_and_timeline(
    contact, django_capture_on_commit_callbacks
):
    contact.change_score(42)
    flow = make_flow(
        [
            step(
                "notify",
                "n",
                recipients="sales@example.com, boss@example.com",
                subject="Hot lead",
                message="Call them today.",
            )
        ],
        name="Sales alert",
    )
    with django_capture_on_commit_callbacks(execute=True):
        run(start(flow, contact), T0)
    (email,) = mail.outbox
    assert email.to == ["sales@example.com", "boss@example.com"]
    assert email.subject == "Hot lead"
    assert "Call them today." in email.body
    assert "Ann Lee <ann@example.com>" in email.body
    assert "Score: 42" in email.body and "Score changed" in email.body


class _Hook(BaseHTTPRequestHandler):
    received = []
    status = 200

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Hook.received.append((dict(self.headers), body))
        self.send_response(_Hook.status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def hook_server():
    _Hook.received = []
    _Hook.status = 200
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook"
    server.shutdown()
    server.server_close()


def test_a_webhook_posts_signed_json_of_the_contact_and_context(contact, hook_server):
    flow = make_flow([step("webhook", "wh", url=hook_server, secret="s3cret")])
    enrollment = start(flow, contact, context={"order": {"id": "1001"}})
    enrollment = run(enrollment, T0)
    assert enrollment.status == "completed"
    ((headers, body),) = _Hook.received
    expected = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert headers["X-Flows-Signature"] == f"sha256={expected}"
    assert headers["X-Flows-Delivery"] == f"{enrollment.pk}:wh:1"
    payload = json.loads(body)
    assert payload["contact"]["email"] == "ann@example.com"
    assert payload["context"]["order"] == {"id": "1001"}
    assert StepRun.objects.get(enrollment=enrollment).outcome == "http 200"


# --- failures ----------------------------------------------------------------------------


def test_a_failing_step_is_retried_with_backoff_then_the_run_fails(contact, hook_server, settings):
    settings.WAGTAIL_FLOWS = {"STEP_MAX_RETRIES": 2, "STEP_RETRY_BACKOFF_SECONDS": 60}
    _Hook.status = 500
    flow = make_flow([step("webhook", "wh", url=hook_server)])
    enrollment = run(start(flow, contact), T0)
    assert enrollment.status == "waiting" and enrollment.attempts == 1
    assert enrollment.next_run_at == T0 + timedelta(seconds=60)
    assert "500" in enrollment.last_error
    enrollment = run(enrollment, T0 + timedelta(seconds=60))
    assert enrollment.attempts == 2
    assert enrollment.next_run_at == T0 + timedelta(seconds=180)
    enrollment = run(enrollment, T0 + timedelta(seconds=180))
    assert enrollment.status == "failed" and "500" in enrollment.exit_reason
    assert StepRun.objects.get(enrollment=enrollment).outcome == "failed"
    assert len(_Hook.received) == 3


def test_an_unpublished_email_fails_the_run_visibly_instead_of_looping(contact, settings):
    settings.WAGTAIL_FLOWS = {"STEP_MAX_RETRIES": 1}
    page = make_email_page(title="Spring offer")
    flow = make_flow([step("send_email", "s", page=page.pk)])
    page.unpublish()
    enrollment = run_to_end(start(flow, contact))
    assert enrollment.status == "failed"
    assert "“Spring offer” is not published" in enrollment.last_error
    assert not Message.objects.exists()


def test_one_failing_contact_does_not_block_the_others(settings):
    settings.WAGTAIL_FLOWS = {"STEP_MAX_RETRIES": 0}
    customers = ContactListFactory(name="Customers")
    flow = make_flow([step("add_to_list", "l", list=customers.pk)])
    first, second, third = (start(flow, c) for c in ContactFactory.create_batch(3))
    Enrollment.objects.filter(pk=second.pk).update(current_step="no-such-step", route=[])
    Enrollment.objects.filter(pk=first.pk).update(context={"broken": True})
    from wagtail_flows.engine import steps

    original = steps.STEP_FUNCTIONS["add_to_list"]

    def explode_for_first(ctx):
        if ctx.enrollment.context.get("broken"):
            raise RuntimeError("boom")
        return original(ctx)

    steps.STEP_FUNCTIONS["add_to_list"] = explode_for_first
    try:
        assert advance.run_due(10, now=T0) == 3
    finally:
        steps.STEP_FUNCTIONS["add_to_list"] = original
    statuses = dict(Enrollment.objects.values_list("pk", "status"))
    assert statuses == {first.pk: "failed", second.pk: "completed", third.pk: "completed"}
    assert customers.contacts.count() == 1


# --- no duplicate email ------------------------------------------------------------------


def test_running_the_same_advance_twice_sends_one_email(contact):
    page = make_email_page()
    flow = make_flow([step("send_email", "s", page=page.pk), wait("w")])
    enrollment = start(flow, contact)
    advance.advance_enrollment(enrollment.pk, now=T0)
    advance.advance_enrollment(enrollment.pk, now=T0)
    assert Message.objects.count() == 1


def test_a_step_that_already_ran_is_not_run_again_after_a_crash(contact):
    page = make_email_page()
    flow = make_flow([step("send_email", "s", page=page.pk), tag("t", "t")])
    enrollment = run(start(flow, contact), T0)
    # As if the worker died after the send's commit and before anything else was saved:
    Enrollment.objects.filter(pk=enrollment.pk).update(
        status="active", current_step="s", finished_at=None, next_run_at=T0
    )
    enrollment = run(enrollment, T0)
    assert enrollment.status == "completed"
    assert Message.objects.count() == 1
    assert executed(enrollment) == ["s", "t"]


def test_two_workers_cannot_claim_the_same_enrollment(contact):
    flow = make_flow([wait("w")])
    enrollment = start(flow, contact)
    token = advance.claim_enrollment(enrollment.pk, T0)
    assert token
    assert advance.claim_enrollment(enrollment.pk, T0) is None
    assert advance.advance_enrollment(enrollment.pk, now=T0) is None  # claimed: skipped
    assert advance.claim_due(10, now=T0) == []
    advance.release(enrollment.pk, token)
    assert advance.claim_due(10, now=T0) == [enrollment.pk]


def test_a_killed_workers_claim_expires_and_the_contact_is_picked_up(contact):
    flow = make_flow([tag("t", "t")])
    enrollment = start(flow, contact)
    assert advance.claim_enrollment(enrollment.pk, T0)  # ... and the worker is killed
    assert advance.claim_due(10, now=T0 + timedelta(seconds=10)) == []
    later = T0 + timedelta(minutes=6)
    assert advance.run_due(10, now=later) == 1
    enrollment.refresh_from_db()
    assert enrollment.status == "completed"


def test_a_worker_that_lost_its_claim_changes_nothing(contact):
    flow = make_flow([tag("t", "t")])
    enrollment = start(flow, contact)
    advance.claim_enrollment(enrollment.pk, T0)
    assert advance.advance_enrollment(enrollment.pk, now=T0, claim="stale-token") is None
    assert StepRun.objects.count() == 0


def test_claim_due_takes_a_bounded_number_of_queries(django_assert_max_num_queries):
    flow = make_flow([wait("w")])
    for contact in ContactFactory.create_batch(30):
        start(flow, contact)
    with django_assert_max_num_queries(5):
        batch = advance.claim_due(20, now=T0)
    assert len(batch) == 20 and batch.token


# --- goals, exits, unsubscribes ----------------------------------------------------------


def _order_goal():
    return [{"type": "did_event", "value": {"kind": "order_placed", "min_count": 1}, "id": "g"}]


def test_reaching_the_goal_ends_the_run_as_converted(contact):
    flow = make_flow([wait("w", amount=3), tag("t", "t")], goal=_order_goal())
    enrollment = run(start(flow, contact), T0)
    assert dispatch.is_listened("order_placed")
    event = tracking.record_event("order_placed", contact=contact, object_id="1001")
    dispatch.dispatch_event(event.pk, now=T0 + timedelta(hours=1))
    enrollment.refresh_from_db()
    assert (enrollment.status, enrollment.exit_reason) == ("converted", "goal reached")
    event.refresh_from_db()
    assert not event.pending_dispatch


def test_exit_conditions_end_the_run_as_exited(contact):
    refund = [{"type": "did_event", "value": {"kind": "custom", "name": "refund"}, "id": "x"}]
    flow = make_flow([wait("w")], exit_conditions=refund)
    enrollment = run(start(flow, contact), T0)
    other = tracking.record_event("custom", contact=contact, name="wishlist")
    dispatch.dispatch_event(other.pk, now=T0)
    enrollment.refresh_from_db()
    assert enrollment.status == "waiting"
    event = tracking.record_event("custom", contact=contact, name="refund")
    dispatch.dispatch_event(event.pk, now=T0)
    enrollment.refresh_from_db()
    assert (enrollment.status, enrollment.exit_reason) == ("exited", "exit conditions met")


def test_unsubscribing_ends_runs_of_flows_that_send_marketing_email(contact):
    page = make_email_page()
    mailing = make_flow([wait("w"), step("send_email", "s", page=page.pk)], name="Mailing")
    tagging = make_flow([wait("w2"), tag("t", "t")], name="Tagging")
    first, second = run(start(mailing, contact), T0), run(start(tagging, contact), T0)
    contact.unsubscribe()
    event = contact.events.get(kind="unsubscribed")
    dispatch.dispatch_event(event.pk, now=T0)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.exit_reason) == ("exited", "unsubscribed")
    assert second.status == "waiting"


# --- triggers and re-entry ---------------------------------------------------------------


def _tag_trigger(name="vip"):
    return [{"type": "tag_added", "value": {"tag": name}, "id": "trg"}]


def test_a_matching_event_enrolls_the_contact_and_runs_the_flow(
    contact, django_capture_on_commit_callbacks
):
    flow = make_flow([tag("welcomed", "t")], triggers=_tag_trigger())
    received = []
    listeners = {
        signals.contact_enrolled: lambda **kw: received.append("enrolled"),
        signals.step_executed: lambda **kw: received.append(kw["step_id"]),
        signals.enrollment_finished: lambda **kw: received.append(kw["status"]),
    }
    for signal, listener in listeners.items():
        signal.connect(listener, weak=False)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            contact.add_tag("other")
            contact.add_tag("vip")
    finally:
        for signal, listener in listeners.items():
            signal.disconnect(listener)
    enrollment = Enrollment.objects.get(flow=flow)
    assert enrollment.status == "completed"
    assert enrollment.context["event"]["kind"] == "tag_added"
    assert enrollment.trigger_event.name == "vip"
    assert received == ["enrolled", "t", "completed"]
    assert TaggedContact.objects.filter(content_object=contact, tag__name="welcomed").exists()


def test_enrolling_without_a_task_leaves_the_run_due_for_the_sweep(
    contact, django_capture_on_commit_callbacks
):
    flow = make_flow([tag("t", "t")])
    with django_capture_on_commit_callbacks() as callbacks:
        enrollment = dispatch.enroll(flow, contact, now=T0, enqueue=False)
    assert len(callbacks) == 1  # the contact_enrolled signal only
    assert enrollment.next_run_at == T0
    assert advance.claim_due(10, now=T0) == [enrollment.pk]


def test_dispatching_the_same_event_twice_enrolls_once(contact):
    flow = make_flow([wait("w")], triggers=_tag_trigger(), reentry="always")
    contact.add_tag("vip")
    event = contact.events.get(kind="tag_added")
    assert len(dispatch.dispatch_event(event.pk, now=T0)) == 1
    assert dispatch.dispatch_event(event.pk, now=T0) == []
    assert Enrollment.objects.filter(flow=flow).count() == 1


def test_entry_conditions_and_dates_decide_who_may_enter(contact):
    flow = make_flow([wait("w")], entry_conditions=[score_at_least(10)])
    assert dispatch.enroll(flow, contact, now=T0) is None
    contact.change_score(10)
    assert dispatch.enroll(flow, contact, now=T0) is not None
    later = make_flow([wait("w")], starts_at=T0 + timedelta(days=1), ends_at=T0 + timedelta(2))
    assert dispatch.enroll(later, contact, now=T0) is None
    assert dispatch.enroll(later, contact, now=T0 + timedelta(days=2)) is None
    assert dispatch.enroll(later, contact, now=T0 + timedelta(days=1)) is not None
    draft = make_flow([wait("w")], status="draft")
    assert dispatch.enroll(draft, contact, now=T0) is None


def _finish_run(enrollment):
    return run_to_end(enrollment, T0)


def test_reentry_never_lets_a_contact_through_once(contact):
    flow = make_flow([tag("t", "t")], reentry="never")
    _finish_run(start(flow, contact))
    assert dispatch.enroll(flow, contact, now=T0 + timedelta(days=30)) is None


def test_reentry_after_exit_waits_for_the_open_run_to_end(contact):
    flow = make_flow([wait("w")], reentry="after_exit")
    first = start(flow, contact)
    assert dispatch.enroll(flow, contact, now=T0) is None
    _finish_run(first)
    assert dispatch.enroll(flow, contact, now=T0 + timedelta(days=2)) is not None


def test_reentry_always_restarts_the_open_run(contact):
    flow = make_flow([wait("w", amount=5)], reentry="always")
    first = run(start(flow, contact), T0)
    second = dispatch.enroll(flow, contact, now=T0 + timedelta(days=1))
    first.refresh_from_db()
    assert (first.status, first.exit_reason) == ("exited", "entered again")
    assert second.is_open and second.enrolled_at == T0 + timedelta(days=1)


def test_reentry_after_days_counts_from_the_last_entry(contact):
    flow = make_flow([tag("t", "t")], reentry="after_days", reentry_days=7)
    _finish_run(start(flow, contact))
    assert dispatch.enroll(flow, contact, now=T0 + timedelta(days=6)) is None
    assert dispatch.enroll(flow, contact, now=T0 + timedelta(days=7)) is not None


def test_a_flow_past_its_end_date_finishes_open_runs_as_exited(contact):
    flow = make_flow([wait("w", amount=10), tag("t", "t")], ends_at=T0 + timedelta(days=3))
    enrollment = run(start(flow, contact), T0)
    other = run(start(flow, ContactFactory()), T0)
    assert advance.finish_ended_flows(now=T0 + timedelta(days=2)) == 0
    assert advance.finish_ended_flows(now=T0 + timedelta(days=3)) == 2
    enrollment.refresh_from_db()
    assert (enrollment.status, enrollment.exit_reason) == ("exited", "flow ended")
    other = run(other, T0 + timedelta(days=11))
    assert other.status == "exited" and executed(other) == []
