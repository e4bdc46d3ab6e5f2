"""P4 latency: event → email handed to the backend, with a running cluster.

    python benchmarks/latency.py [--postgres] [--events N] [--gap S] [--workers W]

A live flow "page viewed → send email" and one real ``qcluster`` (W workers, default 2) on the
benchmark database and its broker (ORM on SQLite; Redis with ``--postgres``), loopback only.
This process records N page views (default 40), one every S seconds (default 0.5), each by
a new subscribed contact, through ``tracking.record_event`` — what a page view does. The
product's path from there, with no sweep involved:

    record_event → on commit: dispatch task → enroll → on commit: advance task
    → send_email step creates the Message → on commit: delivery task → EmailBackend.send

The clusters' backend is Django's file-based one (each email a file in a temp folder).
Latency of an event = ``Message.sent_at`` (set when the backend returned) − ``Event.created_at``,
both from the same clock; split into the three hops by ``Enrollment.enrolled_at`` and
``Message.created_at``. The sweep schedule (django-q2's scheduler wakes about every 30 s)
is not needed on this path: each hop enqueues the next task directly. The run is bounded:
N events, then at most 120 s of waiting. Figures and the verdict (p95 ≤ 2 s) are printed last.
"""

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import (  # noqa: E402
    broker_label,
    create_database,
    database_label,
    destroy_database,
    load_line,
    setup_django,
    verdict,
)

setup_django(cluster=True)

from _clusters import running_clusters, wait_until  # noqa: E402

TARGET_P95 = 2.0
DRAIN_TIMEOUT = 120


def make_flow():
    from tests.factories import make_email_page, make_standard_page
    from tests.test_engine_tree import make_flow, step

    page = make_standard_page(title="Spring offers", slug="spring-offers")
    email = make_email_page(subject="Thanks for looking, {{ contact.first_name }}")
    flow = make_flow(
        [step("send_email", "send", page=email.pk)],
        triggers=[{"type": "page_viewed", "value": {}}],
        name="Latency",
    )
    return flow, page


def record_views(page, count, gap):
    """One page view per new contact, ``gap`` seconds apart (the contact is set-up)."""
    from django.db import transaction

    from wagtail_flows.capture.visitors import record_event
    from wagtail_flows.models import Contact
    from wagtail_flows.models.contacts import EventKind

    for index in range(count):
        contact = Contact.objects.create(
            email=f"visitor{index}@example.com", first_name="Vera", status="subscribed"
        )
        with transaction.atomic():  # the page view's request transaction
            record_event(EventKind.PAGE_VIEWED, contact=contact, page=page)
        time.sleep(gap)


def latencies(flow):
    """Per sent message: (event → enrolled, enrolled → message, message → sent, total)."""
    from wagtail_flows.models import Message

    rows = Message.objects.filter(flow=flow, status="sent").values_list(
        "enrollment__trigger_event__created_at",
        "enrollment__enrolled_at",
        "created_at",
        "sent_at",
    )
    return [
        tuple((b - a).total_seconds() for a, b in ((e, n), (n, m), (m, s), (e, s)))
        for e, n, m, s in rows
    ]


def percentile(values, fraction):
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--events", type=int, default=40)
    parser.add_argument("--gap", type=float, default=0.5)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    from django_q.models import Schedule

    from wagtail_flows.models import Message

    name = create_database()
    mailbox = tempfile.mkdtemp(prefix="flows-bench-mail-")
    try:
        flow, page = make_flow()
        schedules = Schedule.objects.count()
        with running_clusters(1, args.workers, email_dir=mailbox):
            record_views(page, args.events, args.gap)
            sent = Message.objects.filter(flow=flow, status="sent")
            wait_until(lambda: sent.count() >= args.events, timeout=DRAIN_TIMEOUT)
        rows = latencies(flow)
        files = len(os.listdir(mailbox))
    finally:
        destroy_database(name)
    print("\n=== P4 latency: event -> email handed to the backend ===")
    print(f"database: {database_label()}; broker: {broker_label()}; {load_line()}")
    print(
        f"1 qcluster x {args.workers} workers; {args.events} page views, one every"
        f" {args.gap} s; {len(rows)} emails sent, {files} files written by the backend;"
        f" sweep schedules in the database: {schedules}"
    )
    for index, label in enumerate(
        ("event -> enrolled (dispatch task)", "enrolled -> Message (advance task)")
        + ("Message -> sent (delivery task)", "event -> sent (total)")
    ):
        values = [row[index] for row in rows]
        print(
            f"  {label}: p50 {percentile(values, 0.5):.2f} s,"
            f" p95 {percentile(values, 0.95):.2f} s, max {max(values):.2f} s"
        )
    p95 = percentile([row[3] for row in rows], 0.95)
    print(f"  target p95 <= {TARGET_P95:.0f} s: {verdict(p95 <= TARGET_P95)}")


if __name__ == "__main__":
    main()
