"""P5 engine scale: queries and time per sweep batch as waiting enrollments grow, the
query plan of the due-enrollment claim, and a segment count over many contacts.

    python benchmarks/engine.py [--postgres] [--sizes 1000,10000,100000] [--contacts N]

Steps/s through the 5-step flow is ``benchmarks/engine_steps.py``; 1 vs 2 clusters is
``benchmarks/clusters.py``. For each size, that many enrollments wait (not due) and a batch
of 500 more is due; the script counts the queries of claiming the batch, advancing it (claim
+ one tag step each, as an advance task does) and of a sweep with nothing due. Flat counts
across sizes mean the engine's work per contact is constant. Then ``--contacts`` contacts
(default 1,000,000) are counted by a saved segment. Rows are inserted with one
``INSERT … SELECT`` each (set-up, not measured). Figures and verdicts are printed last.
"""

import argparse
import os
import sys
import time
from datetime import timedelta

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import (  # noqa: E402
    analyze,
    create_database,
    database_label,
    destroy_database,
    insert_rows,
    load_line,
    median,
    setup_django,
    verdict,
)

setup_django()

BATCH = 500
SEGMENT_TARGET = 2.0  # seconds, on PostgreSQL


def make_flow():
    from tests.test_engine_tree import make_flow, tag, wait

    return make_flow([wait("w1", amount=1, unit="days"), tag("scaled", "t1")])


def add_waiting(flow, start, count, next_run_at, prefix="wait"):
    """``count`` contacts waiting on the flow's wait step until ``next_run_at``."""
    from wagtail_flows.models import Contact, Enrollment

    if count <= 0:
        return
    insert_rows(
        Contact,
        count,
        start=start,
        columns={"email": f"'{prefix}' || g || '@example.com'", "score": "g %% 100"},
        status="subscribed",
    )
    insert_rows(
        Enrollment,
        columns={"contact_id": "c.id"},
        source="FROM wagtail_flows_contact c WHERE c.email LIKE %s AND c.id > %s",
        params=[f"{prefix}%", _last_enrolled_contact()],
        flow=flow,
        status="waiting",
        current_step="w1",
        next_run_at=next_run_at,
        waiting_since=next_run_at - timedelta(days=1),
    )
    analyze()


def _last_enrolled_contact():
    from django.db.models import Max

    from wagtail_flows.models import Enrollment

    return Enrollment.objects.aggregate(last=Max("contact_id"))["last"] or 0


def measure(func, *args, **kwargs):
    from django.db import connection

    queries = []

    def count(execute, sql, params, many, context):
        queries.append(1)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        started = time.perf_counter()
        result = func(*args, **kwargs)
        elapsed = time.perf_counter() - started
    return result, len(queries), elapsed


def measure_size(flow, size, now, level):
    from wagtail_flows.engine import advance, sweeps

    add_waiting(flow, 10_000_000 * level, BATCH, now - timedelta(minutes=1), prefix=f"due{level}-")
    batch, claim_queries, claim_time = measure(advance.claim_due, BATCH, now=now)
    for enrollment_id in batch:
        advance.release(enrollment_id, batch.token)
    advanced, run_queries, run_time = measure(advance.run_due, BATCH, now=now)
    _report, sweep_queries, sweep_time = measure(sweeps.run_sweep, now)
    return {
        "size": size,
        "claim": (claim_queries, claim_time),
        "batch": (advanced, run_queries, run_time),
        "sweep": (sweep_queries, sweep_time),
    }


def explain_due(now):
    from django.db import connection

    from wagtail_flows.engine.advance import due_enrollments

    if connection.vendor != "postgresql":
        return []
    query = due_enrollments(now).values("pk")[:BATCH]
    return query.explain().splitlines()


def segment_count(total, now):
    """Count a saved segment (score ≥ 90 and stage is customer) over ``total`` contacts."""
    from django.db import connection

    from wagtail_flows.models import Contact, Segment

    existing = Contact.objects.count()
    insert_rows(
        Contact,
        max(0, total - existing),
        start=existing,
        columns={
            "email": "'seg' || g || '@example.com'",
            "score": "g %% 100",
            "stage": "CASE WHEN g %% 7 = 0 THEN 'customer' ELSE 'lead' END",
        },
        status="subscribed",
    )
    analyze()
    segment = Segment.objects.create(
        name="Best customers",
        conditions=[
            ("score_at_least", {"score": 90}),
            ("stage_is", {"stage": "customer"}),
        ],
    )
    times, count = [], 0
    for _ in range(3):
        started = time.perf_counter()
        count = segment.count(now=now)
        times.append(time.perf_counter() - started)
    options = {"analyze": True} if connection.vendor == "postgresql" else {}
    plan = segment.contacts(now=now).explain(**options)
    return Contact.objects.count(), count, median(times), plan.splitlines()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--contacts", type=int, default=1_000_000)
    args = parser.parse_args()
    from django.utils import timezone

    sizes = [int(s) for s in args.sizes.split(",")]
    now = timezone.now()
    name = create_database()
    results = []
    try:
        flow = make_flow()
        waiting = 0
        for level, size in enumerate(sizes):
            add_waiting(flow, waiting, size - waiting, now + timedelta(days=1))
            waiting = size
            results.append(measure_size(flow, size, now, level))
            print(f"measured {size} waiting", flush=True)
        plan = explain_due(now)
        seg = segment_count(args.contacts, now)
    finally:
        destroy_database(name)
    print("\n=== P5 engine scale ===")
    print(f"database: {database_label()}; {load_line()}")
    print(f"batch of {BATCH} due; columns: waiting | claim q/ms | advance batch q/s | sweep q/ms")
    for r in results:
        claim_q, claim_t = r["claim"]
        advanced, run_q, run_t = r["batch"]
        sweep_q, sweep_t = r["sweep"]
        print(
            f"  {r['size']:>7} | {claim_q} q / {claim_t * 1000:.0f} ms"
            f" | {advanced} advanced, {run_q} q ({run_q / max(advanced, 1):.1f}/contact)"
            f" / {run_t:.2f} s | {sweep_q} q / {sweep_t * 1000:.0f} ms"
        )
    claims = {r["claim"][0] for r in results}
    sweeps_ = {r["sweep"][0] for r in results}
    per = {round(r["batch"][1] / max(r["batch"][0], 1), 1) for r in results}
    flat = len(claims) == 1 and len(sweeps_) == 1 and len(per) == 1
    print(f"  target: query counts flat across sizes: {verdict(flat)}")
    if plan:
        print("due-enrollment claim plan (PostgreSQL EXPLAIN):")
        for line in plan:
            print(f"  {line}")
    total, count, seconds, seg_plan = seg
    print(f"segment 'score >= 90 and stage is customer' over {total} contacts:")
    for line in seg_plan:
        print(f"  {line}")
    print(f"  {count} match; count() median of 3: {seconds * 1000:.0f} ms")
    applies = database_label() == "postgresql" and total >= 1_000_000
    met = verdict(seconds < SEGMENT_TARGET) if applies else "n/a (PostgreSQL, 1M contacts)"
    print(f"  target < {SEGMENT_TARGET:.0f} s over 1M contacts on PostgreSQL: {met}")


if __name__ == "__main__":
    main()
