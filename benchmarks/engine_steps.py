"""P2 engine: steps per second through a 5-step flow, in-process and through a real cluster.

    python benchmarks/engine_steps.py [--postgres] [--enrollments N] [--cluster-enrollments M]
                                      [--workers W] [--profile]

The flow (benchmarks/_workload.py): add tag → wait 0 → branch on score → send email →
change score. Two measurements, one after the other on the same database:

1. **in-process**, N enrollments (default 10,000): this process claims and advances
   batches of 500 (``advance.run_due``, what one advance task does); each batch's emails go
   out on commit in delivery batches over one connection (``deliver_batch`` in this
   process), to the locmem backend. The engine's own cost, with no broker in between.
2. **cluster**, M enrollments (default 2,000: at the 60–150 steps/s this path reaches on
   the shared 2-core machine, 10,000 would take 6–14 minutes for the same rate): the
   product path. A ``qcluster`` (W workers, default 2 = the cores) runs on
   the broker of the database (ORM on SQLite, Redis with ``--postgres``); this process
   runs the sweep's hand-out (``sweeps.advance_due``: one advance task per batch of 500);
   each advance batch enqueues its emails in delivery tasks of ``SEND_BATCH_SIZE``; the
   clusters' emails go to the locmem backend. Timed
   from the hand-out until every enrollment is finished and every email is sent.

``--profile`` prints a pyinstrument profile of the in-process run (and skips the cluster).

Figures, and the verdict against the target (≥ 1,000 steps/s on 2 cores), are printed last.
"""

import argparse
import os
import sys
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

from _clusters import cpu_seconds, running_clusters, wait_until  # noqa: E402
from _workload import FIVE_STEPS, add_due, five_step_flow, progress  # noqa: E402

BATCH = 500
TARGET = 1000


def count_queries(func, *args, **kwargs):
    from django.db import connection

    queries = []

    def count(execute, sql, params, many, context):
        queries.append(1)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        result = func(*args, **kwargs)
    return result, len(queries)


def deliver_batches_inline():
    """Each advance batch's emails go out on commit in this process, batch by batch over one
    connection, as a worker runs ``deliver_batch`` (the broker is kept for the cluster pass)."""
    from django.db import transaction

    from wagtail_flows.emails import delivery as email_delivery

    original = email_delivery.enqueue_batch

    def enqueue_batch(message_ids):
        transaction.on_commit(lambda: email_delivery.deliver_batch(message_ids))

    email_delivery.enqueue_batch = enqueue_batch
    return lambda: setattr(email_delivery, "enqueue_batch", original)


def start_profiler():
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.002)
    profiler.start()
    return profiler


def in_process(count, profile=False):
    from django.utils import timezone

    from wagtail_flows.engine import advance

    flow = five_step_flow("In-process")
    now = timezone.now()
    add_due(flow, count, now, "inproc")
    restore = deliver_batches_inline()
    queries = 0
    profiler = start_profiler() if profile else None
    started, cpu = time.perf_counter(), time.process_time()
    try:
        while True:
            advanced, used = count_queries(advance.run_due, BATCH, now=now)
            queries += used
            if not advanced:
                break
    finally:
        restore()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    if profiler:
        profiler.stop()
        print(profiler.output_text(unicode=False, color=False, show_all=False))
    _open, steps, sent = progress(flow)
    return {"steps": steps, "sent": sent, "seconds": elapsed, "queries": queries, "cpu": cpu}


def through_cluster(count, workers):
    from django.utils import timezone

    from wagtail_flows.engine import sweeps

    flow = five_step_flow("Through the cluster")
    now = timezone.now()
    add_due(flow, count, now, "cluster")
    with running_clusters(1, workers) as clusters:
        started, cpu = time.perf_counter(), cpu_seconds(clusters)
        while sweeps.advance_due(timezone.now()):
            pass
        wait_until(lambda: progress(flow)[0] == 0, timeout=120 + count / 5)
        engine_done = time.perf_counter() - started
        wait_until(lambda: progress(flow)[2] >= count, timeout=120 + count / 5)
        all_sent = time.perf_counter() - started
        cpu = cpu_seconds(clusters) - cpu
    _open, steps, sent = progress(flow)
    return {
        "steps": steps,
        "sent": sent,
        "seconds": engine_done,
        "all_sent": all_sent,
        "cpu": cpu,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--enrollments", type=int, default=10_000)
    parser.add_argument("--cluster-enrollments", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    name = create_database()
    try:
        local = in_process(args.enrollments, args.profile)
        print(f"in-process done in {local['seconds']:.1f} s", flush=True)
        if args.profile:
            return
        remote = through_cluster(args.cluster_enrollments, args.workers)
    finally:
        destroy_database(name)
    print("\n=== P2 engine steps/s ===")
    print(f"database: {database_label()}; broker: {broker_label()}; {load_line()}")
    print(f"{FIVE_STEPS} steps and one email per enrollment")
    rate = local["steps"] / local["seconds"]
    print(
        f"  in-process ({args.enrollments} enrollments, run_due in batches of {BATCH},"
        f" batched delivery): {local['steps']} steps,"
        f" {local['sent']} sent in {local['seconds']:.1f} s = {rate:.0f} steps/s;"
        f" {local['queries'] / max(local['steps'], 1):.1f} queries/step"
    )
    cluster_rate = remote["steps"] / remote["seconds"]
    print(
        f"  1 qcluster x {args.workers} workers ({args.cluster_enrollments} enrollments,"
        f" {broker_label()} broker): {remote['steps']}"
        f" steps in {remote['seconds']:.1f} s = {cluster_rate:.0f} steps/s;"
        f" {remote['sent']} emails sent after {remote['all_sent']:.1f} s"
        f" = {remote['sent'] / remote['all_sent']:.0f} emails/s"
    )
    print(
        f"  CPU per enrollment (5 steps + 1 email): in-process"
        f" {local['cpu'] / max(local['sent'], 1) * 1000:.1f} ms (this process);"
        f" cluster {remote['cpu'] / max(remote['sent'], 1) * 1000:.1f} ms (all cluster"
        " processes); the database server's CPU is not counted"
    )
    print(
        f"  target >= {TARGET} steps/s (cluster, the product path):"
        f" {verdict(cluster_rate >= TARGET)}"
    )


if __name__ == "__main__":
    main()
