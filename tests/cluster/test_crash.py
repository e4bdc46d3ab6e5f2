"""Production path under fire: real clusters, workers SIGKILLed, time moving on.

A flow "send A, wait 1 minute, send B" takes a list of contacts through real ``qcluster``
processes while a worker is killed every few seconds. At the end every contact has completed
the flow with exactly one Message per send step, and no email went out twice.

- SQLite + ORM broker: one cluster, 120 contacts.
- PostgreSQL (+ Redis with ``FLOWS_TEST_BROKER=redis``): four clusters, 2,000 contacts.

In both, a busy worker is SIGKILLed every 3 seconds from the start until every contact is
done.

"Time moves on" the way it would in production, only faster: waits that started are moved
into the past, and so are the leases and grace periods a killed worker leaves behind (a lease
expiring, a lost task's grace period passing). The engine has to cope with exactly that.
"""

import os
import random
import re
import signal
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import Count, F
from django.utils import timezone
from django_q.tasks import async_task

from tests.cluster.conftest import wait_for
from wagtail_flows.engine.enroll import enroll_audience
from wagtail_flows.models import (
    Contact,
    ContactList,
    Enrollment,
    EnrollmentJob,
    Flow,
    ListMembership,
    Message,
)
from wagtail_flows.models.enrollments import OPEN_STATUSES, EnrollmentStatus

pytestmark = pytest.mark.cluster

SWEEP = "wagtail_flows.engine.tasks.run_sweep_task"
KILL_EVERY = 3.0  # seconds
SWEEP_EVERY = 2.0
STALE_AFTER = timedelta(seconds=20)  # a claim or send this old belongs to a dead worker
# django-q2 cannot always survive a SIGKILLed worker: one killed while holding the task
# queue's or its timer's lock wedges the cluster. The test plays the process supervisor:
# a cluster that finished no task for this long is killed and started again.
STALLED_AFTER = 20
WORKERS = 2


def scale():
    """How many contacts and clusters; workers are killed every KILL_EVERY seconds until
    every contact is done, within ``deadline`` seconds."""
    if os.environ.get("FLOWS_CRASH_CONTACTS"):  # a quick local run
        return {
            "contacts": int(os.environ["FLOWS_CRASH_CONTACTS"]),
            "clusters": 1,
            "deadline": 120,
        }
    if connection.vendor == "postgresql":
        return {"contacts": 2000, "clusters": 4, "deadline": 600}
    return {"contacts": 120, "clusters": 1, "deadline": 420}


def ensure_site():
    from wagtail.models import Page, Site

    if not Site.objects.exists():
        root = Page.get_first_root_node() or Page.add_root(title="Root", slug="root")
        home = root.add_child(title="Home", slug="home")
        Site.objects.create(hostname="localhost", root_page=home, is_default_site=True)


def make_flow():
    from tests.factories import make_email_page

    ensure_site()
    first = make_email_page(title="First", subject="First email")
    second = make_email_page(title="Second", subject="Second email")
    flow = Flow(
        name="Crash test",
        status="live",
        activated_at=timezone.now(),
        triggers=[("manual", None)],
        steps=[
            ("send_email", {"page": first, "subject_override": ""}),
            ("wait", {"amount": 1, "unit": "minutes"}),
            ("send_email", {"page": second, "subject_override": ""}),
        ],
    )
    flow.save()
    return flow


def make_audience(count):
    contacts = Contact.objects.bulk_create(
        Contact(email=f"crash{n}@example.com", status="subscribed") for n in range(count)
    )
    audience = ContactList.objects.create(name="Crash test")
    ListMembership.objects.bulk_create(
        ListMembership(contact=c, contact_list=audience) for c in contacts
    )
    return audience


def let_time_pass(now):
    """Waits end, and what a killed worker held (lease, send claim, lost task) times out."""
    stale = now - STALE_AFTER
    Enrollment.objects.filter(status=EnrollmentStatus.WAITING, next_run_at__gt=now).update(
        next_run_at=now
    )
    lease = timedelta(seconds=_lease_seconds())
    Enrollment.objects.filter(
        status__in=OPEN_STATUSES, claimed_until__gt=now, claimed_until__lt=stale + lease
    ).update(claimed_until=now - timedelta(seconds=1))
    Message.objects.filter(status="queued", created_at__lt=stale).update(
        created_at=F("created_at") - timedelta(hours=1)
    )
    EnrollmentJob.objects.filter(status__in=("queued", "running"), updated_at__lt=stale).update(
        updated_at=F("updated_at") - timedelta(hours=1)
    )
    Message.objects.filter(status="sending", claimed_at__lt=stale).update(
        claimed_at=F("claimed_at") - timedelta(hours=1)
    )


def _lease_seconds():
    from wagtail_flows.conf import flows_settings

    return flows_settings.CLAIM_LEASE_SECONDS


def settled(total):
    if Enrollment.objects.filter(status=EnrollmentStatus.COMPLETED).count() < total:
        return False
    return not Message.objects.filter(status__in=("queued", "sending")).exists()


def kill_a_worker(clusters, killed):
    """SIGKILL a worker that is running a task; False when none is busy right now."""
    workers = [(c, pid) for c in clusters for pid in c.busy_workers()]
    if not workers:
        return False
    _, pid = random.choice(workers)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return False
    killed.append(pid)
    return True


def sent_message_ids(mail_dir):
    """Message pks of every email the clusters really sent (file backend), with repeats."""
    pattern = re.compile(rb"Message-ID: <wagtail-flows\.(\d+)\.")
    found = []
    for name in os.listdir(mail_dir):
        with open(os.path.join(mail_dir, name), "rb") as f:
            found.extend(int(pk) for pk in pattern.findall(f.read()))
    return found


def test_killed_workers_never_send_twice_and_lose_nobody(qclusters, tmp_path):
    size = scale()
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    flow = make_flow()
    audience = make_audience(size["contacts"])
    started = time.monotonic()
    clusters = qclusters(
        size["clusters"],
        FLOWS_TEST_EMAIL_DIR=mail_dir,
        FLOWS_TEST_BATCH_SIZE=25,
        FLOWS_TEST_Q_WORKERS=WORKERS,
    )
    ready = time.monotonic()

    enroll_audience(flow, contact_list=audience)
    killed, last_kill, last_sweep = [], 0.0, 0.0

    def progress():
        nonlocal last_kill, last_sweep
        now = time.monotonic()
        # Try at every poll until a busy worker is caught, then wait KILL_EVERY: a fast
        # run must not finish between two tries without a single kill.
        if now - last_kill > KILL_EVERY and kill_a_worker(clusters, killed):
            last_kill = now
        for cluster in clusters:
            if cluster.stalled(after=STALLED_AFTER) and not settled(size["contacts"]):
                cluster.restart(WORKERS)
        if now - last_sweep > SWEEP_EVERY:
            let_time_pass(timezone.now())
            async_task(SWEEP)
            last_sweep = now
        return killed and settled(size["contacts"])

    def describe():
        runs = Enrollment.objects.values_list("status").annotate(n=Count("pk"))
        mails = Message.objects.values_list("status").annotate(n=Count("pk"))
        logs = "\n".join(c.output()[-1500:] for c in clusters)
        from django_q.models import OrmQ, Task

        tasks = Task.objects.values_list("func", "success").annotate(n=Count("pk"))
        failures = list(Task.objects.filter(success=False).values_list("result", flat=True)[:3])
        return (
            f"runs {dict(runs)}, messages {dict(mails)}, killed {len(killed)}, "
            f"queued {OrmQ.objects.count()}, tasks {list(tasks)}, failures {failures}\n{logs}"
        )

    wait_for(
        progress,
        timeout=size["deadline"],
        interval=0.2,
        message="every contact done",
        describe=describe,
    )
    finished = time.monotonic()

    runs = Enrollment.objects.filter(flow=flow)
    assert runs.count() == size["contacts"]
    assert set(runs.values_list("status", flat=True)) == {EnrollmentStatus.COMPLETED}
    per_step = Message.objects.values("enrollment", "step_id").annotate(n=Count("pk"))
    assert {row["n"] for row in per_step} == {1}
    assert Message.objects.count() == 2 * size["contacts"]
    assert set(Message.objects.values_list("status", flat=True)) <= {"sent", "unknown"}

    sent = sent_message_ids(mail_dir)
    assert len(sent) == len(set(sent)), "an email went out twice"
    delivered = set(Message.objects.filter(status="sent").values_list("pk", flat=True))
    assert delivered <= set(sent)
    assert killed
    print(
        f"\n{connection.vendor}: {size['contacts']} contacts, {len(clusters)} cluster(s), "
        f"{len(killed)} workers killed, {sum(c.restarts for c in clusters)} restarts, "
        f"start {ready - started:.0f}s, "
        f"run {finished - ready:.0f}s, {len(sent)} emails sent, "
        f"{Message.objects.filter(status='unknown').count()} of unknown outcome"
    )
