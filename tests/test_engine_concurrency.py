"""Two workers at once (django-q2 redelivery, two clusters): still one email per step.

These tests commit for real (``transactional_db``), so each thread has its own database
connection and the claim is decided by the database, not by the test.
"""

import threading

import pytest
from django.db import connection

from tests.factories import ContactFactory, make_email_page
from tests.test_engine_tree import T0, make_flow, start, step, wait
from wagtail_flows.engine import advance
from wagtail_flows.models import Enrollment, Message

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def _in_threads(target, count):
    barrier = threading.Barrier(count)
    errors = []

    def worker():
        try:
            barrier.wait()
            target()
        except Exception as exc:  # noqa: BLE001  reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []


def test_two_workers_advancing_the_same_enrollment_send_one_email():
    page = make_email_page()
    flow = make_flow([step("send_email", "s1", page=page.pk), wait("w")])
    enrollment = start(flow, ContactFactory())
    _in_threads(lambda: advance.advance_enrollment(enrollment.pk, now=T0), 4)
    assert Message.objects.filter(enrollment=enrollment).count() == 1
    enrollment.refresh_from_db()
    assert (enrollment.current_step, enrollment.claimed_by) == ("w", "")


def test_two_sweeps_claim_disjoint_batches_and_every_contact_is_advanced_once():
    page = make_email_page()
    flow = make_flow([step("send_email", "s1", page=page.pk), wait("w")])
    runs = [start(flow, c) for c in ContactFactory.create_batch(12)]
    _in_threads(lambda: advance.run_due(5, now=T0) and advance.run_due(5, now=T0), 3)
    assert Message.objects.count() == 12
    assert set(Enrollment.objects.values_list("current_step", flat=True)) == {"w"}
    assert len(runs) == Enrollment.objects.filter(status="waiting").count()
