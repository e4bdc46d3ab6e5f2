"""Editing, pausing and resuming a live flow never loses or duplicates a contact; capture
asks the engine "does anyone listen?" without a query."""

from datetime import timedelta
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import ContactFactory, make_email_page
from tests.test_engine_tree import (
    T0,
    executed,
    make_flow,
    run,
    run_to_end,
    start,
    step,
    tag,
    wait,
)
from wagtail_flows.engine import advance, dispatch
from wagtail_flows.models import Enrollment, Flow, Message, listening

pytestmark = pytest.mark.django_db

MANUAL = [{"type": "manual", "value": None, "id": "manual"}]


def _edit(flow, steps):
    flow = Flow.objects.get(pk=flow.pk)
    flow.steps = steps
    flow.save()
    return flow


# --- live edits --------------------------------------------------------------------------


def test_a_contact_on_a_deleted_step_moves_to_the_next_surviving_step(contact):
    flow = make_flow([tag("a", "t1"), wait("w1"), tag("b", "t2"), tag("c", "t3")])
    enrollment = run(start(flow, contact), T0)
    assert enrollment.current_step == "w1"
    _edit(flow, [tag("a", "t1"), tag("c", "t3")])  # the wait and t2 are gone
    enrollment = run(enrollment, T0 + timedelta(days=1))
    assert enrollment.status == "completed"
    assert executed(enrollment) == ["t1", "t3"]  # t1 is not run again


def test_a_contact_waiting_on_a_step_that_still_exists_stays_there(contact):
    flow = make_flow([wait("w1"), tag("b", "t2")])
    enrollment = run(start(flow, contact), T0)
    _edit(flow, [tag("new", "t0"), wait("w1"), tag("b", "t2")])
    enrollment = run(enrollment, T0 + timedelta(hours=1))
    assert (enrollment.status, enrollment.current_step) == ("waiting", "w1")
    enrollment = run(enrollment, T0 + timedelta(days=1))
    assert executed(enrollment) == ["w1", "t2"]  # the step inserted before is not run


def test_a_step_inserted_after_the_wait_runs_for_contacts_waiting(contact):
    flow = make_flow([wait("w1"), tag("b", "t2")])
    enrollment = run(start(flow, contact), T0)
    _edit(flow, [wait("w1"), tag("inserted", "ti"), tag("b", "t2")])
    enrollment = run_to_end(enrollment, T0 + timedelta(days=1))
    assert executed(enrollment) == ["w1", "ti", "t2"]


def test_changing_a_wait_retimes_waiting_contacts_only_when_asked(contact):
    flow = make_flow([wait("w1", amount=1), tag("b", "t2")])
    kept = run(start(flow, contact), T0)
    retimed = run(start(flow, ContactFactory()), T0)
    flow = _edit(flow, [wait("w1", amount=3), tag("b", "t2")])
    kept.refresh_from_db()
    assert kept.next_run_at == T0 + timedelta(days=1)  # the edit alone re-times nobody
    Enrollment.objects.filter(pk=kept.pk).update(current_step="w1")
    assert advance.retime_waiting(flow, "w1", now=T0 + timedelta(hours=2)) == 2
    retimed.refresh_from_db()
    assert retimed.next_run_at == T0 + timedelta(days=3)
    assert run(retimed, T0 + timedelta(days=2)).status == "waiting"
    assert run(retimed, T0 + timedelta(days=3)).status == "completed"


def test_retiming_never_schedules_into_the_past(contact):
    flow = make_flow([wait("w1", amount=5), tag("b", "t2")])
    enrollment = run(start(flow, contact), T0)
    flow = _edit(flow, [wait("w1", amount=1), tag("b", "t2")])
    now = T0 + timedelta(days=2)
    advance.retime_waiting(flow, "w1", now=now)
    enrollment.refresh_from_db()
    assert enrollment.next_run_at == now


def test_a_run_that_moves_on_while_retiming_keeps_its_own_time(contact, monkeypatch):
    flow = make_flow([wait("w1", amount=1), wait("w2", amount=7), tag("b", "t2")])
    moving = run(start(flow, contact), T0)
    flow = _edit(flow, [wait("w1", amount=3), wait("w2", amount=7), tag("b", "t2")])
    read = advance._retimed

    def the_run_moves_on_after_the_read(*args):
        batch = read(*args)
        run(moving, T0 + timedelta(days=1))  # its advance, in another worker
        return batch

    monkeypatch.setattr(advance, "_retimed", the_run_moves_on_after_the_read)
    assert advance.retime_waiting(flow, "w1", now=T0 + timedelta(hours=2)) == 0
    moving.refresh_from_db()
    assert (moving.current_step, moving.next_run_at) == ("w2", T0 + timedelta(days=8))


# --- pause and resume --------------------------------------------------------------------


def _overdue_flow(on_resume, contacts=3):
    page = make_email_page()
    flow = make_flow(
        [wait("w1"), step("send_email", "s1", page=page.pk), wait("w2"), tag("t", "t")],
        triggers=MANUAL,
        on_resume=on_resume,
    )
    runs = [run(start(flow, c), T0) for c in ContactFactory.create_batch(contacts)]
    flow.pause()
    return flow, runs


def test_a_paused_flow_keeps_everyone_in_place(contact):
    flow, runs = _overdue_flow("send")
    later = T0 + timedelta(days=2)
    assert advance.run_due(100, now=later) == 0
    assert advance.advance_enrollment(runs[0].pk, now=later) is not None
    assert set(Enrollment.objects.values_list("current_step", flat=True)) == {"w1"}
    assert not Message.objects.exists()
    assert dispatch.enroll(flow, contact, now=later) is None


def test_resume_with_send_delivers_overdue_emails_now():
    flow, runs = _overdue_flow("send")
    resumed_at = T0 + timedelta(days=2)
    with mock.patch("django.utils.timezone.now", return_value=resumed_at):
        flow.resume()
    assert advance.run_due(100, now=resumed_at) == 3
    assert Message.objects.count() == 3


def test_resume_with_skip_skips_overdue_emails_but_not_later_ones():
    flow, runs = _overdue_flow("skip")
    resumed_at = T0 + timedelta(days=2)
    with mock.patch("django.utils.timezone.now", return_value=resumed_at):
        flow.resume()
    advance.run_due(100, now=resumed_at)
    assert not Message.objects.exists()
    for enrollment in runs:
        enrollment.refresh_from_db()
        assert (enrollment.current_step, enrollment.skip_overdue_sends) == ("w2", False)
    assert set(Enrollment.objects.values_list("step_runs__outcome", flat=True)) >= {
        "skipped: overdue"
    }
    # A contact who enters after the resume gets every email.
    fresh = run_to_end(start(flow, ContactFactory(), now=resumed_at), resumed_at)
    assert fresh.status == "completed" and Message.objects.count() == 1


def test_resume_with_spread_staggers_overdue_contacts_over_the_next_hours(settings):
    settings.WAGTAIL_FLOWS = {**settings.WAGTAIL_FLOWS, "RESUME_SPREAD_HOURS": 3}
    flow, runs = _overdue_flow("spread", contacts=3)
    resumed_at = T0 + timedelta(days=2)
    with mock.patch("django.utils.timezone.now", return_value=resumed_at):
        flow.resume()
    times = sorted(Enrollment.objects.values_list("next_run_at", flat=True))
    assert times == [resumed_at + timedelta(hours=h) for h in (0, 1, 2)]
    assert advance.run_due(100, now=resumed_at) == 1
    assert Message.objects.count() == 1
    assert advance.run_due(100, now=resumed_at + timedelta(hours=2)) == 2
    assert Message.objects.count() == 3


# --- the listening index -----------------------------------------------------------------


def _listens_to_orders(status="live"):
    trigger = [{"type": "order_placed", "value": {}, "id": "o"}]
    return make_flow([wait("w")], triggers=trigger, status=status)


def test_is_listened_needs_no_query_once_warm():
    _listens_to_orders()
    assert dispatch.is_listened("order_placed")
    with CaptureQueriesContext(connection) as queries:
        for _ in range(50):
            assert dispatch.is_listened("order_placed")
            assert not dispatch.is_listened("page_viewed")
    assert len(queries) == 0


def test_saving_deleting_and_pausing_a_flow_refreshes_the_index():
    assert not dispatch.is_listened("order_placed")
    flow = _listens_to_orders(status="draft")
    assert not dispatch.is_listened("order_placed")
    flow.status = "live"
    flow.save()
    assert dispatch.is_listened("order_placed")
    flow.pause()
    assert not dispatch.is_listened("order_placed")  # a paused flow enrolls nobody
    flow.delete()
    assert not dispatch.is_listened("order_placed")


def test_another_process_sees_a_change_through_the_cache_version():
    flow = _listens_to_orders()
    assert dispatch.is_listened("order_placed")
    # Another process deactivates the flow: its row changes, our cache version is bumped.
    Flow.objects.filter(pk=flow.pk).update(status="archived")
    later = dispatch.current_index().checked_at + timedelta(seconds=5)
    dispatch.invalidate.__wrapped__ if hasattr(dispatch.invalidate, "__wrapped__") else None
    from django.core.cache import cache

    cache.incr(listening.VERSION_KEY)
    with mock.patch("django.utils.timezone.now", return_value=later):
        assert not dispatch.is_listened("order_placed")


def test_goals_and_unsubscribes_are_listened_to_for_flows_that_need_them():
    page = make_email_page()
    goal = [{"type": "has_ordered", "value": {}, "id": "g"}]
    make_flow([step("send_email", "s", page=page.pk)], goal=goal)
    assert dispatch.is_listened("order_placed")
    assert dispatch.is_listened("unsubscribed")
    assert not dispatch.is_listened("page_viewed")
