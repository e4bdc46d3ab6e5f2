"""Real django-q2 clusters for the benchmarks (latency, engine_steps, clusters).

Each cluster is ``python -m django qcluster`` in its own process group, on the benchmark's
database and broker (ORM on SQLite, Redis with ``--postgres``), with the queue-name of this
run only. Started and stopped by ``tests/cluster/conftest.QCluster`` (SIGTERM, a bounded
wait, SIGKILL of the group), the same code the cluster tests use. Settings of the clusters:
``benchmarks/bench_settings.py`` (the Q_CLUSTER of docs/scaling.md).
"""

import contextlib
import os
import sys
import tempfile
import time

from _common import ROOT

START_TIMEOUT = 90


def cluster_env(workers, email_dir=None):
    from django.db import connection

    import tests.settings as test_settings

    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "benchmarks.bench_settings",
            "BENCH_CLUSTER": "1",
            "FLOWS_Q_SYNC": "0",
            "FLOWS_DB_NAME": str(connection.settings_dict["NAME"]),
            "FLOWS_RUN_ID": str(test_settings._RUN_ID),
            "FLOWS_TEST_Q_WORKERS": str(workers),
            "PYTHONPATH": os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")])),
            "PYTHONUNBUFFERED": "1",
        }
    )
    if email_dir:
        env["FLOWS_TEST_EMAIL_DIR"] = str(email_dir)
    return env


def purge_broker():
    from django_q.brokers import get_broker

    get_broker().purge_queue()


@contextlib.contextmanager
def running_clusters(count, workers, email_dir=None):
    """``count`` clusters of ``workers`` workers each, ready when the block starts, stopped
    (bounded) when it ends. Yields the list of ``QCluster`` objects."""
    from django.db import connection

    if ROOT not in sys.path:
        sys.path.insert(0, ROOT)
    from tests.cluster.conftest import QCluster

    connection.close()  # committed data only: the clusters read the same database
    purge_broker()
    logs = tempfile.mkdtemp(prefix="flows-bench-clusters-")
    env = cluster_env(workers, email_dir)
    started = []
    try:
        for index in range(count):
            started.append(QCluster(index, env, os.path.join(logs, f"qcluster-{index}.log")))
        deadline = time.monotonic() + START_TIMEOUT
        for cluster in started:
            cluster.wait_ready(workers, deadline)
        yield started
    finally:
        for cluster in started:
            cluster.stop()
        purge_broker()


def wait_until(predicate, timeout, interval=0.2, what="the clusters to finish"):
    """Poll ``predicate`` until truthy; raise after ``timeout`` seconds (bounded runs)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def cpu_seconds(clusters):
    """CPU time (user + system) used so far by every live process of these clusters: the
    qcluster process, its sentinel, workers, monitor and pusher (one process group each)."""
    groups = {str(cluster.pid) for cluster in clusters}
    ticks = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[-1].split()
        except OSError:
            continue
        if fields[2] in groups:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")
