"""P5 throughput with 1 vs 2 clusters, on PostgreSQL and the Redis broker (the scale path).

    python benchmarks/clusters.py [--enrollments N] [--workers W] [--rounds R]

Each run: N contacts due in the 5-step flow of P2 (benchmarks/_workload.py, a fresh flow each
run), then 1 or 2 ``qcluster`` processes of W workers each (default 1: two clusters then use
the machine's two cores), started before the clock starts (a small warm-up drain comes
first, not counted). This process hands the due
enrollments out as the sweep does (``sweeps.advance_due``: one advance task per batch of
``SWEEP_BATCH_SIZE``, set to 100 here so that two clusters have batches to share); the drain
time runs until every enrollment is finished and every email is sent (locmem backend in the
workers). Runs alternate 1, 2, 2, 1, … (``R`` rounds of a pair): the ratio is the median of
the per-round ratios of drain times, measured in one run on the same database.

Always PostgreSQL + Redis: the ORM broker on SQLite is the one-machine stage. Figures, and the
verdict against the target (2 clusters ≥ 1.6 × 1 cluster), are printed last.
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import (  # noqa: E402
    analyze,
    broker_label,
    create_database,
    database_label,
    destroy_database,
    load_line,
    median,
    setup_django,
    verdict,
)

os.environ["FLOWS_TEST_BATCH_SIZE"] = "100"
setup_django([*sys.argv, "--postgres"], cluster=True)

from _clusters import cpu_seconds, running_clusters, wait_until  # noqa: E402
from _workload import FIVE_STEPS, add_due, five_step_flow, progress  # noqa: E402

TARGET = 1.6
TRACE = "--trace" in sys.argv  # print the progress of each drain every 0.25 s


def drain(count, clusters, workers, label):
    """Seconds for ``clusters`` clusters to run ``count`` due enrollments to the end."""
    from django.utils import timezone

    from wagtail_flows.engine import sweeps

    flow = five_step_flow(label)
    add_due(flow, count, timezone.now(), f"{label}-")
    analyze()
    with running_clusters(clusters, workers) as started_clusters:
        started, cpu = time.perf_counter(), cpu_seconds(started_clusters)
        while sweeps.advance_due(timezone.now()):
            pass

        def done():
            state = progress(flow)
            if TRACE:
                print(f"  {time.perf_counter() - started:6.2f} s open/steps/sent {state}")
            return state[0] == 0 and state[2] >= count

        wait_until(done, timeout=120 + count / 10, interval=0.25)
        elapsed = time.perf_counter() - started
        cpu = cpu_seconds(started_clusters) - cpu
    _open, steps, _sent = progress(flow)
    return elapsed, steps, cpu


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", action="store_true", help="always on (accepted)")
    parser.add_argument("--enrollments", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--trace", action="store_true")
    args = parser.parse_args()
    name = create_database()
    runs = {1: [], 2: []}
    ratios = []
    try:
        # Not counted: the first drain on a fresh database runs the sweep schedule's first
        # run and fills empty tables, and was up to twice as slow as any later one.
        drain(max(100, args.enrollments // 10), 1, args.workers, "warmup")
        for index in range(args.rounds):
            order = (1, 2) if index % 2 == 0 else (2, 1)
            pair = {}
            for clusters in order:
                label = f"r{index}c{clusters}"
                pair[clusters] = drain(args.enrollments, clusters, args.workers, label)
                runs[clusters].append(pair[clusters])
                print(
                    f"round {index + 1}: {clusters} cluster(s) {pair[clusters][0]:.1f} s",
                    flush=True,
                )
            ratios.append(pair[1][0] / pair[2][0])
    finally:
        destroy_database(name)
    print("\n=== P5 throughput: 1 vs 2 clusters ===")
    print(f"database: {database_label()}; broker: {broker_label()}; {load_line()}")
    print(
        f"{args.enrollments} enrollments x {FIVE_STEPS} steps per run; {args.workers} worker(s)"
        f" per cluster; batches of 100; {args.rounds} interleaved rounds"
    )
    for clusters in (1, 2):
        times = [t for t, _steps, _cpu in runs[clusters]]
        steps = runs[clusters][0][1]
        cpu = median([c for _t, _steps, c in runs[clusters]])
        print(
            f"  {clusters} cluster(s): drain {', '.join(f'{t:.1f}' for t in times)} s;"
            f" median {steps / median(times):.0f} steps/s; cluster CPU {cpu:.0f} s"
            f" = {cpu / median(times):.2f} cores busy"
        )
    ratio = median(ratios)
    print(f"  per-round ratios (time 1 / time 2): {', '.join(f'{r:.2f}' for r in ratios)}")
    print(
        f"  ratio 2 clusters / 1 (median): {ratio:.2f};"
        f" target >= {TARGET}: {verdict(ratio >= TARGET)}"
    )


if __name__ == "__main__":
    main()
