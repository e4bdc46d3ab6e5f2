"""A real cluster keeps only ids and counts of a contact in django-q2's task table, and the
erase takes those records with the contact (slow: ``-m cluster``)."""

import pickle

import pytest
from django.test import Client
from django_q.models import Task

from tests.cluster.conftest import wait_for
from tests.factories import make_email_page, make_form_page
from tests.test_engine_tree import make_flow, step
from wagtail_flows import gdpr
from wagtail_flows.engine.queue import (
    ADVANCE_ENROLLMENT_FUNC,
    DELIVER_BATCH_FUNC,
    DISPATCH_EVENT_FUNC,
)
from wagtail_flows.models import Contact, Message

pytestmark = pytest.mark.cluster

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0"
ADDRESS, FIRST = "philippa.w@example.com", "Philippa"


def test_a_clusters_task_records_name_no_one_and_go_with_the_erased_contact(qclusters):
    form = make_form_page(
        "Samples", fields=[("Email", "email", True), ("First name", "singleline", False)]
    )
    make_flow(
        [step("send_email", "s1", page=make_email_page(subject="Hi {{ contact.first_name }}").pk)],
        triggers=[{"type": "form_submitted", "value": {"form_page": form.pk}, "id": "t1"}],
        kind="transactional",
    )
    qclusters(1)

    Client(headers={"user-agent": BROWSER}).post(form.url, {"email": ADDRESS, "first_name": FIRST})

    wait_for(
        lambda: Message.objects.filter(to_email=ADDRESS, enrollment__isnull=False, status="sent"),
        timeout=60,
        message="the flow's email, sent by the cluster",
    )
    wait_for(
        lambda: Task.objects.filter(func=DELIVER_BATCH_FUNC).exists(),
        timeout=30,
        message="the delivery task's record",
    )
    rows = list(Task.objects.all())
    assert {DISPATCH_EVENT_FUNC, ADVANCE_ENROLLMENT_FUNC, DELIVER_BATCH_FUNC} <= {
        r.func for r in rows
    }
    for row in rows:
        stored = pickle.dumps((row.name, row.args, row.kwargs, row.result))
        assert b"django.db.models" not in stored and ADDRESS.encode() not in stored, row.func
        assert FIRST.encode() not in stored, row.func

    erased = gdpr.erase_contact(Contact.objects.get(email=ADDRESS))

    hers = [DISPATCH_EVENT_FUNC, ADVANCE_ENROLLMENT_FUNC, DELIVER_BATCH_FUNC]
    assert erased["finished_tasks"] >= 3
    assert not Task.objects.filter(func__in=hers).exists()
