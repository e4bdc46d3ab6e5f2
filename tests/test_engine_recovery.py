"""Nothing lost: a worker killed in the middle of a dispatch leaves its event to the sweep,
which dispatches it exactly once."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from tests.factories import ContactFactory
from tests.test_engine_tree import make_flow, tag, wait
from wagtail_flows.engine import dispatch
from wagtail_flows.engine.sweeps import run_sweep
from wagtail_flows.models import Enrollment, Event, TaggedContact

pytestmark = pytest.mark.django_db

VIP_TRIGGER = [{"type": "tag_added", "value": {"tag": "vip"}, "id": "trg"}]


class WorkerKilled(BaseException):
    """Stands for SIGKILL: no ``except Exception`` sees it and nothing after it runs."""


@pytest.fixture
def killed_while_enrolling(monkeypatch):
    """The first dispatch dies inside ``enroll``: before its INSERT, or just after it."""
    real_enroll = dispatch.enroll

    def install(when):
        def dying_enroll(*args, **kwargs):
            monkeypatch.setattr(dispatch, "enroll", real_enroll)  # the next worker lives
            if when == "after the insert":
                assert real_enroll(*args, **kwargs) is not None
            raise WorkerKilled()

        monkeypatch.setattr(dispatch, "enroll", dying_enroll)

    return install


@pytest.mark.parametrize("when", ["before the insert", "after the insert"])
def test_a_dispatch_killed_mid_way_is_dispatched_again_by_the_sweep_exactly_once(
    contact, killed_while_enrolling, when, django_capture_on_commit_callbacks
):
    flow = make_flow([tag("welcomed", "t")], triggers=VIP_TRIGGER, reentry="always")
    killed_while_enrolling(when)

    with pytest.raises(WorkerKilled), django_capture_on_commit_callbacks(execute=True):
        contact.add_tag("vip")  # the event commits; its dispatch task dies

    event = Event.objects.get(contact=contact, kind="tag_added", name="vip")
    assert event.pending_dispatch
    assert not Enrollment.objects.filter(flow=flow).exists()

    later = timezone.now() + timedelta(minutes=10)
    with django_capture_on_commit_callbacks(execute=True):
        assert run_sweep(now=later)["redispatched"] == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert run_sweep(now=later + timedelta(minutes=1))["redispatched"] == 0

    run = Enrollment.objects.get(flow=flow)
    assert (run.status, run.trigger_event_id) == ("completed", event.pk)
    assert TaggedContact.objects.filter(content_object=contact, tag__name="welcomed").count() == 1
    event.refresh_from_db()
    assert not event.pending_dispatch


def test_a_flow_that_cannot_take_the_event_does_not_hold_back_the_others(
    contact, monkeypatch, django_capture_on_commit_callbacks
):
    broken = make_flow([wait("w")], triggers=VIP_TRIGGER, name="Broken")
    working = make_flow([wait("w")], triggers=VIP_TRIGGER, name="Working")
    real_triggered = dispatch._triggered

    def triggered(flow, event):
        if flow.pk == broken.pk:
            raise ValueError("a trigger value this code cannot read")
        return real_triggered(flow, event)

    monkeypatch.setattr(dispatch, "_triggered", triggered)
    with django_capture_on_commit_callbacks(execute=True):
        contact.add_tag("vip")

    assert list(Enrollment.objects.values_list("flow", flat=True)) == [working.pk]
    assert not Event.objects.filter(pending_dispatch=True).exists()  # not retried for ever


def test_flows_that_do_not_listen_cost_a_dispatch_nothing(contact):
    """Every live flow is a candidate, but only one that listens gets a savepoint or query."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries_with(flows):
        for i in range(flows):
            make_flow([wait("w")], triggers=[{"type": "manual", "value": {}, "id": f"m{i}"}])
        event = Event.objects.create(contact=contact, kind="tag_added", name="vip")
        with CaptureQueriesContext(connection) as captured:
            dispatch.dispatch_event(event.pk)
        return len(captured)

    assert queries_with(1) == queries_with(10)


def test_a_run_whose_goal_cannot_be_checked_does_not_hold_back_the_event(
    contact, monkeypatch, django_capture_on_commit_callbacks
):
    """A goal the database refuses to evaluate (say a cast of bad data) is that run's
    problem: the event still reaches every other flow and is not retried for ever."""
    from django.db import DataError

    stuck = make_flow([wait("w")], name="Stuck goal")
    dispatch.enroll(stuck, contact)
    working = make_flow([wait("w")], triggers=VIP_TRIGGER, name="Working")
    real_ending = dispatch._ending

    def ending(enrollment, event, now):
        if enrollment.flow_id == stuck.pk:
            raise DataError("invalid input syntax for type numeric")
        return real_ending(enrollment, event, now)

    monkeypatch.setattr(dispatch, "_ending", ending)
    with django_capture_on_commit_callbacks(execute=True):
        contact.add_tag("vip")

    assert Enrollment.objects.filter(flow=working, contact=contact).exists()
    assert Enrollment.objects.get(flow=stuck).status == "active"
    assert not Event.objects.filter(pending_dispatch=True).exists()


def test_a_lost_connection_leaves_the_event_for_the_sweep(contact, monkeypatch):
    from django.db import OperationalError

    make_flow([wait("w")], triggers=VIP_TRIGGER, name="Working")
    event = Event.objects.create(
        contact=contact, kind="tag_added", name="vip", pending_dispatch=True
    )

    def lost(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(dispatch, "enroll", lost)
    with pytest.raises(OperationalError):
        dispatch.dispatch_event(event.pk)
    event.refresh_from_db()
    assert event.pending_dispatch and not Enrollment.objects.exists()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_task_and_the_sweep_dispatching_one_event_at_once_enroll_once():
    """The lost-task sweep and a slow original task may both dispatch an event: the first
    locks it, the second then sees the run the first started."""
    if connection.vendor == "sqlite":
        pytest.skip("SQLite runs one writer at a time; the row lock is PostgreSQL's case")
    flow = make_flow([wait("w")], triggers=VIP_TRIGGER, reentry="always")
    ann = ContactFactory()
    event = Event.objects.create(contact=ann, kind="tag_added", name="vip", pending_dispatch=True)
    barrier = threading.Barrier(4)

    def worker():
        try:
            barrier.wait()
            dispatch.dispatch_event(event.pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert Enrollment.objects.filter(flow=flow).count() == 1
    assert not Event.objects.filter(pk=event.pk, pending_dispatch=True).exists()
