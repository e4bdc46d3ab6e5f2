"""Real django-q2 clusters for the ``cluster`` tests.

``qclusters(n)`` starts ``n`` ``python -m django qcluster`` processes on the test database
(``transactional_db``: the data the test writes is committed, so the clusters see it) and the
broker of this run (the ORM broker, or Redis with ``FLOWS_TEST_BROKER=redis``). They are
stopped at the end of the test: SIGTERM, a bounded wait, then SIGKILL of their process groups.

Process tree of one cluster: the ``qcluster`` process → its sentinel → workers, a monitor and a
pusher (spawned in that order). django-q2 reincarnates a killed worker.
"""

import contextlib
import os
import re
import signal
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
START_TIMEOUT = 60
WORKER_READY = re.compile(r"ready for work at (\d+)")
STOP_TIMEOUT = 30


def children(pid):
    """Direct child pids of ``pid``, oldest first (scanning /proc for their parent id)."""
    found = []
    for entry in _listdir("/proc"):
        if entry.isdigit() and _stat(int(entry))[1:2] == [str(pid)]:
            found.append(int(entry))
    return sorted(found, key=lambda p: (_start_time(p), p))


def _stat(pid):
    """The fields of /proc/<pid>/stat after the command name: state, ppid, …"""
    return _read(f"/proc/{pid}/stat").rsplit(")", 1)[-1].split()


def _listdir(path):
    try:
        return os.listdir(path)
    except OSError:
        return []


def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def _start_time(pid):
    fields = _stat(pid)
    return int(fields[19]) if len(fields) > 19 else 0


def _idle(pid):
    """Blocked on the task queue's pipe or lock, not running a task."""
    wchan = _read(f"/proc/{pid}/wchan")
    return "pipe" in wchan or "futex" in wchan


def alive(pid):
    state = _stat(pid)
    return bool(state) and state[0] not in ("Z", "X")


class QCluster:
    """One ``qcluster`` process and what we know of its children."""

    def __init__(self, index, env, log_path):
        self.index = index
        self.env = env
        self.log_path = log_path
        self.log = open(log_path, "wb")  # noqa: SIM115  (closed in stop())
        self.restarts = 0
        self._spawn()

    def _spawn(self):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "django", "qcluster"],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.progress_mark = (self.processed(), time.monotonic())

    def processed(self):
        return self.output(full=True).count("Processed ")

    def stalled(self, after):
        """No task finished for ``after`` seconds (checked by the caller's watchdog)."""
        count, since = self.progress_mark
        now = time.monotonic()
        if self.processed() != count:
            self.progress_mark = (self.processed(), now)
            return False
        return now - since > after

    def restart(self, workers):
        """What a process supervisor does with a wedged cluster: kill it, start a new one."""
        self._kill(grace=5)
        self.restarts += 1
        self._spawn()
        self.wait_ready(workers, time.monotonic() + START_TIMEOUT)

    @property
    def pid(self):
        return self.process.pid

    def sentinel(self):
        kids = children(self.pid)
        return kids[0] if kids else None

    def wait_ready(self, workers, deadline):
        """Wait until the sentinel runs its workers, monitor and pusher."""
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"qcluster {self.index} exited:\n{self.output()}")
            if len(self.workers()) >= workers and "pushing tasks at" in self.output():
                return
            time.sleep(0.2)
        raise RuntimeError(f"qcluster {self.index} did not start:\n{self.output()}")

    def workers(self):
        """Live worker pids: each logs "ready for work at <pid>" (reincarnated ones too)."""
        sentinel = self.sentinel()
        if sentinel is None:
            return []
        logged = {int(pid) for pid in WORKER_READY.findall(self.output(full=True))}
        return [p for p in children(sentinel) if p in logged and alive(p)]

    def busy_workers(self):
        """Workers running a task. A worker idle in ``task_queue.get()`` holds the queue's
        read lock: SIGKILLing it there wedges the whole cluster (a multiprocessing limit,
        see docs/operations.md), so the crash tests kill workers in the middle of a task."""
        return [p for p in self.workers() if not _idle(p)]

    def stop(self):
        self._kill(grace=STOP_TIMEOUT)
        self.log.close()

    def _kill(self, grace):
        """SIGTERM, a bounded wait, then SIGKILL of the whole process group."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=grace)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        if self.process.poll() is None:
            self.process.wait(timeout=STOP_TIMEOUT)

    def output(self, full=False):
        self.log.flush()
        with open(self.log_path, "rb") as f:
            text = f.read().decode(errors="replace")
        return text if full else text[-4000:]


def cluster_env(tmp_path, **extra):
    from django.db import connection

    import tests.settings as test_settings

    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "FLOWS_Q_SYNC": "0",
            "FLOWS_DB_NAME": str(connection.settings_dict["NAME"]),
            "FLOWS_RUN_ID": str(test_settings._RUN_ID),
            "PYTHONPATH": os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")])),
            "PYTHONUNBUFFERED": "1",
        }
    )
    for name in ("FLOWS_TEST_DB", "FLOWS_TEST_BROKER", "FLOWS_TEST_SYNCDB"):
        if os.environ.get(name):
            env[name] = os.environ[name]
    env.update({k: str(v) for k, v in extra.items()})
    return env


def purge_broker():
    from django_q.brokers import get_broker

    get_broker().purge_queue()


@pytest.fixture
def qclusters(transactional_db, tmp_path, monkeypatch):
    """``start(n, **env)`` starts ``n`` clusters; every task this test enqueues goes to them."""
    from django.db import connection
    from django_q.conf import Conf

    # This process enqueues for real (not inline) so the clusters do the work.
    monkeypatch.setattr(Conf, "SYNC", False)
    connection.close()
    started = []

    def start(count=1, **extra):
        workers = int(extra.get("FLOWS_TEST_Q_WORKERS", Conf.WORKERS))
        env = cluster_env(tmp_path, **extra)
        purge_broker()
        for index in range(count):
            started.append(QCluster(index, env, tmp_path / f"qcluster-{index}.log"))
        deadline = time.monotonic() + START_TIMEOUT
        for cluster in started[-count:]:
            cluster.wait_ready(workers, deadline)
        return started[-count:]

    yield start
    for cluster in started:
        cluster.stop()
    purge_broker()


def wait_for(predicate, timeout, interval=0.5, message="condition", describe=None):
    """Poll ``predicate`` until it is truthy; fail after ``timeout`` seconds, saying what
    ``describe()`` reports about the state reached."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            state = f"\n{describe()}" if describe else ""
            raise AssertionError(f"Timed out after {timeout}s waiting for {message}{state}")
        time.sleep(interval)
