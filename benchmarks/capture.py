"""P1 capture: what recording page views costs a served Wagtail page.

    python benchmarks/capture.py [--postgres] [--rounds R] [--seconds S] [--threads T]
                                 [--profile N]

1. Queries per page view, counted in-process (CaptureQueriesContext) for: capture off,
   capture on with no flow listening, capture on with a live flow triggered by page views.
2. Requests/s of the same page served by two gunicorn servers on 127.0.0.1 (one worker
   each, same database, persistent connections as docs/operations.md recommends:
   ``BENCH_CONN_MAX_AGE=0`` for none), one with capture on and one with it off, loaded in
   interleaved rounds by a threaded Python client (returning visitors: each thread keeps its
   cookie). The ratio is the median of the per-round ratios; beside it, each worker's CPU
   per page view (from /proc, less sensitive to a shared machine's load), and a check that
   every page answered with capture on is in the table after the servers' graceful
   shutdown (SIGTERM). Figures are printed last.

``--profile N`` instead serves N page views in-process (Django's test client, returning
visitor) with capture on, then N with it off, and prints a pyinstrument profile of each.
"""

import argparse
import http.client
import os
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import (  # noqa: E402
    ROOT,
    create_database,
    database_label,
    destroy_database,
    load_line,
    median,
    setup_django,
)

setup_django()

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/130.0 Safari/537.36"


def make_page():
    from tests.factories import make_standard_page

    return make_standard_page(title="Spring offers", slug="spring-offers")


def count_queries(client, path, cookie=None):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    if cookie:
        client.cookies.load(cookie)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path, HTTP_USER_AGENT=BROWSER)
    assert response.status_code == 200, response.status_code
    sql = [q["sql"] for q in queries.captured_queries]
    return len(sql), sum(s.lstrip().upper().startswith("INSERT") for s in sql)


def query_counts(path):
    """Queries per page view: capture off, on (new and returning visitor), on + listening."""
    from django.test import Client, override_settings

    from tests.test_engine_tree import make_flow, tag

    results = {}
    with override_settings(WAGTAIL_FLOWS={"TRACKING_CONSENT": "off"}):
        client = Client()
        count_queries(client, path)  # warm caches (site root, listen index)
        results["capture off"] = count_queries(client, path)
    client = Client()
    count_queries(Client(), path)
    results["capture on, no flow listening, new visitor"] = count_queries(client, path)
    results["capture on, no flow listening, returning visitor"] = count_queries(client, path)
    flow = make_flow([tag("viewed")], triggers=[{"type": "page_viewed", "value": {}}])
    count_queries(Client(), path)  # rebuild the listen index
    client = Client()
    results["capture on, one live flow listening, new visitor"] = count_queries(client, path)
    results["capture on, one live flow listening, returning visitor"] = count_queries(client, path)
    flow.delete()
    return results


# --- the WSGI servers and the load generator --------------------------------------------------


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(capture, db_name):
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "benchmarks.bench_settings",
        "BENCH_CAPTURE": "1" if capture else "0",
        "FLOWS_DB_NAME": db_name,
        "PYTHONPATH": ROOT,
    }
    command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", "1", "--log-level", "warning", "--no-control-socket"]
    command += ["benchmarks.wsgi:application"]
    server = subprocess.Popen(command, env=env, cwd=ROOT)
    return server, port


def wait_ready(server, port, path):
    last = None
    for _ in range(600):
        if server.poll() is not None:
            raise RuntimeError(f"the server on port {port} exited ({server.returncode})")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", path, headers={"User-Agent": BROWSER})
            response = connection.getresponse()
            last = (response.status, response.read()[:300])
            if response.status == 200:
                return
        except OSError as error:
            last = error
        time.sleep(0.2)
    raise RuntimeError(f"the server on port {port} did not answer 200 for {path}: {last}")


def hammer(port, path, seconds, threads):
    """Requests/s over ``seconds`` with ``threads`` clients; each keeps its visitor cookie."""
    done = [0] * threads
    errors = [0] * threads
    deadline = time.perf_counter() + seconds

    def client(index):
        cookie = None
        while time.perf_counter() < deadline:
            headers = {"User-Agent": BROWSER, **({"Cookie": cookie} if cookie else {})}
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                connection.request("GET", path, headers=headers)
                response = connection.getresponse()
                response.read()
                connection.close()
            except OSError:
                errors[index] += 1
                continue
            if response.status != 200:
                errors[index] += 1
                continue
            done[index] += 1
            cookie = _cookie(response) or cookie

    started = time.perf_counter()
    workers = [threading.Thread(target=client, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sum(done) / (time.perf_counter() - started), sum(errors), sum(done)


def worker_cpu(server):
    """CPU seconds (user + system) used so far by the gunicorn workers of ``server``."""
    tick = os.sysconf("SC_CLK_TCK")
    with open(f"/proc/{server.pid}/task/{server.pid}/children") as children:
        pids = children.read().split()
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick


def _cookie(response):
    raw = response.getheader("Set-Cookie")
    return raw.split(";", 1)[0] if raw else None


def throughput(db_name, path, rounds, seconds, threads):
    servers = {}
    try:
        for capture in (True, False):
            servers[capture] = start_server(capture, db_name)
        for server, port in servers.values():
            wait_ready(server, port, path)
        rates, cpu = {True: [], False: []}, {True: [], False: []}
        served = {True: 1, False: 0}  # wait_ready's one answered request on each
        ratios, cpu_ratios, errors = [], [], 0
        for index in range(rounds):
            order = (True, False) if index % 2 == 0 else (False, True)
            this_round = {}
            for capture in order:
                server, port = servers[capture]
                cpu_before = worker_cpu(server)
                rate, failed, done = hammer(port, path, seconds, threads)
                served[capture] += done
                cpu[capture].append((worker_cpu(server) - cpu_before) / max(done, 1))
                this_round[capture] = rate
                rates[capture].append(rate)
                errors += failed
            ratios.append(this_round[True] / this_round[False])
            cpu_ratios.append(cpu[False][-1] / cpu[True][-1] if cpu[True][-1] else 0)
        return {
            "on": median(rates[True]),
            "off": median(rates[False]),
            "ratio": median(ratios),
            "ratios": ratios,
            "errors": errors,
            "cpu on": median(cpu[True]),
            "cpu off": median(cpu[False]),
            "cpu ratio": median(cpu_ratios),
            "served on": served[True],
        }
    finally:
        for server, _port in servers.values():
            server.terminate()
            server.wait(timeout=20)


def profile_views(path, count):
    from django.db import connection
    from django.test import Client, override_settings
    from pyinstrument import Profiler

    connection.settings_dict["CONN_MAX_AGE"] = 60  # as the servers (bench_settings) keep it
    connection.close()
    for label, consent in (("capture on", "always"), ("capture off", "off")):
        with override_settings(WAGTAIL_FLOWS={"TRACKING_CONSENT": consent}):
            client = Client()
            count_queries(client, path)
            profiler = Profiler(interval=0.0005)
            started = time.perf_counter()
            with profiler:
                for _ in range(count):
                    client.get(path, HTTP_USER_AGENT=BROWSER)
            elapsed = time.perf_counter() - started
        print(f"=== {label}: {count} views in {elapsed:.2f} s = {count / elapsed:.0f}/s")
        print(profiler.output_text(unicode=False, color=False))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", action="store_true")
    # Many short rounds: the other sessions' load changes within seconds on the shared box.
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--seconds", type=float, default=2.5)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--profile", type=int, default=0)
    args = parser.parse_args()
    from django.db import connection

    from wagtail_flows.models import Event

    name = create_database()
    try:
        path = make_page().url
        if args.profile:
            return profile_views(path, args.profile)
        counts = query_counts(path)
        before = Event.objects.filter(kind="page_viewed").count()
        connection.close()  # the servers write to the database now
        served = throughput(name, path, args.rounds, args.seconds, args.threads)
        # The servers were stopped as a supervisor stops them (SIGTERM, graceful): every
        # page view answered with capture on must be in the table.
        events = Event.objects.filter(kind="page_viewed").count() - before
    finally:
        destroy_database(name)
    print("\n=== P1 capture ===")
    print(f"database: {database_label()}; {load_line()}")
    print("queries per page view (total / INSERTs), in-process:")
    off_total = counts["capture off"][0]
    for label, (total, inserts) in counts.items():
        print(f"  {label}: {total} / {inserts}  (added by capture: {total - off_total})")
    added_idle = counts["capture on, no flow listening, returning visitor"][0] - off_total
    print(f"  target <= 1 INSERT, 0 added when off: {'MET' if added_idle <= 1 else 'MISSED'}")
    age = os.environ.get("BENCH_CONN_MAX_AGE", "60")
    print(f"gunicorn (1 sync worker each, CONN_MAX_AGE={age}), {args.threads} client threads,")
    print(f"  {args.rounds} interleaved rounds of {args.seconds:g} s each side")
    # More recorded than counted: a request the client gave up on (timeout) was served.
    lost = max(served["served on"] - events, 0)
    print(
        f"  pages served with capture on: {served['served on']}; page views recorded: {events}"
        f" (lost after the servers' clean shutdown: {lost}); errors: {served['errors']}"
    )
    print(
        f"  capture on: {served['on']:.0f} req/s; capture off: {served['off']:.0f} req/s (medians)"
    )
    print(f"  per-round ratios: {', '.join(f'{r:.2f}' for r in served['ratios'])}")
    print(
        f"  worker CPU per page view: on {served['cpu on'] * 1000:.1f} ms, off "
        f"{served['cpu off'] * 1000:.1f} ms; pages per CPU-second on/off (median of rounds): "
        f"{served['cpu ratio']:.2f}"
    )
    verdict = "MET" if served["ratio"] >= 0.9 else "MISSED"
    print(f"  ratio on/off (median): {served['ratio']:.2f}; target >= 0.90: {verdict}")


if __name__ == "__main__":
    main()
