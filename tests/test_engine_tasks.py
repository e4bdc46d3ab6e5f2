"""django-q2 keeps every task's arguments and result, pickled, in its own table: ours carry
ids and return ids or counts, so no address, name or cached contact is ever copied there.

The suite's django-q2 runs in ``sync`` mode with ``save_limit: 0``: each task goes through
django-q2's own worker and monitor in this process, and the monitor's ``save_task`` stores
its row exactly as a cluster's monitor does (tests/cluster/test_task_records.py checks a
real cluster too).
"""

import json
import pickle
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone
from django_q.models import OrmQ, Task
from django_q.tasks import async_task

from tests.factories import ContactListFactory, make_email_page, make_form_page
from tests.test_engine_tree import make_flow, step, wait
from wagtail_flows import signals
from wagtail_flows.emails.delivery import enqueue_delivery
from wagtail_flows.engine import queue
from wagtail_flows.engine.enroll import enroll_audience
from wagtail_flows.models import Contact, Event, Message

pytestmark = pytest.mark.django_db

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0"
ADDRESS, FIRST, LAST = "ottoline.v@example.com", "Ottoline", "Vantongeren"
OUR_TASKS = {
    queue.SWEEP_FUNC,
    queue.ADVANCE_BATCH_FUNC,
    queue.ADVANCE_ENROLLMENT_FUNC,
    queue.DISPATCH_BATCH_FUNC,
    queue.DISPATCH_EVENT_FUNC,
    queue.ENROLLMENT_JOB_FUNC,
    queue.DELIVER_MESSAGE_FUNC,
    queue.DELIVER_BATCH_FUNC,
    queue.DELIVER_DUE_FUNC,
}


@pytest.fixture
def every_task_ran(django_capture_on_commit_callbacks):
    """Ottoline signs up through a form (dispatch, advance, delivery), a list of hers is
    enrolled by an admin job (job, advance batch), her events are dispatched in bulk, a
    message is delivered on its own, and the scheduled sweep runs (due deliveries)."""
    form = make_form_page(
        "Seed catalogue",
        fields=[("Email", "email", True), ("First name", "singleline", False)],
    )
    email_page = make_email_page(subject="Hello {{ contact.first_name }}")
    make_flow(
        [step("send_email", "s1", page=email_page.pk), wait("w")],
        triggers=[{"type": "form_submitted", "value": {"form_page": form.pk}, "id": "t1"}],
        kind="transactional",
    )
    browser = Client(headers={"user-agent": BROWSER})
    with django_capture_on_commit_callbacks(execute=True):
        browser.post(form.url, {"email": ADDRESS, "first_name": FIRST})
    ottoline = Contact.objects.get(email=ADDRESS)
    ottoline.last_name = LAST
    ottoline.save()
    readers = ContactListFactory(name="Readers")
    ottoline.add_to_list(readers)
    by_hand = make_flow(
        [step("send_email", "s2", page=email_page.pk)],
        triggers=[{"type": "manual", "value": None, "id": "m"}],
        kind="transactional",
        name="By hand",
    )
    with django_capture_on_commit_callbacks(execute=True):
        enroll_audience(by_hand, contact_list=readers)
    with django_capture_on_commit_callbacks(execute=True):
        signals.events_to_dispatch.send(
            sender=Event, event_ids=list(ottoline.events.values_list("pk", flat=True)), batch=True
        )
    note = Message.objects.create(
        contact=ottoline, page=email_page, to_email=ADDRESS, transactional=True
    )
    with django_capture_on_commit_callbacks(execute=True):
        enqueue_delivery(note.pk)
        async_task(queue.SWEEP_FUNC, scheduled_for=timezone.now())
    assert len(mail.outbox) >= 3 and all(m.to == [ADDRESS] for m in mail.outbox)
    return ottoline


def pickled(row):
    return pickle.dumps((row.name, row.args, row.kwargs, row.result))


def test_every_task_stores_only_ids_counts_and_clocks(every_task_ran):
    rows = list(Task.objects.all())

    assert {row.func for row in rows} >= OUR_TASKS
    for row in rows:
        assert row.success, (row.func, row.result)
        assert b"django.db.models" not in pickled(row), row.func  # no model instance
        for text in (ADDRESS, FIRST, LAST):
            assert text.encode() not in pickled(row), (row.func, text)
        json.dumps(row.result)  # ids, counts, statuses: JSON-ready


def test_the_tasks_return_ids_and_counts():
    """Straight from the entry points: what a worker hands to django-q2 to keep."""
    from wagtail_flows.engine import tasks

    flow = make_flow([wait("w")], triggers=[{"type": "tag_added", "value": {"tag": "vip"}}])
    contact = Contact.objects.create(email=ADDRESS, first_name=FIRST)
    contact.add_tag("vip")
    event = contact.events.get(kind="tag_added")

    (started,) = tasks.dispatch_event_task(event.pk)
    assert started == flow.enrollments.get().pk
    assert tasks.advance_enrollment_task(started) == started
    assert tasks.advance_enrollment_task(started + 1) is None  # no such run
    assert tasks.dispatch_batch_task([event.pk]) == 1
    assert tasks.advance_batch_task([started]) == 1  # the number it advanced


def test_a_task_given_a_model_instance_is_refused_before_it_is_queued():
    contact = Contact.objects.create(email=ADDRESS)

    with pytest.raises(TypeError, match="takes ids"):
        queue.enqueue(queue.ADVANCE_ENROLLMENT_FUNC, contact)
    with pytest.raises(TypeError, match="takes ids"):
        queue.enqueue(queue.DISPATCH_BATCH_FUNC, list(Contact.objects.all()))
    assert not Task.objects.exists() and not OrmQ.objects.exists()


def test_plain_values_are_ids_counts_statuses_and_clocks():
    now = timezone.now()
    assert queue.is_plain([1, 2, {"advanced": 3, "enrolled": {"tag_added": 1}}, None, "sent"])
    assert queue.is_plain((now, now.date(), timedelta(minutes=1), 0.5, True))
    assert not queue.is_plain({"run": object()})
