"""``python manage.py run_sandbox``: the site on 127.0.0.1:8000 plus a django-q2 cluster.

The cluster (``manage.py qcluster``) runs the flows: it advances enrollments, sweeps for
abandoned carts and sends emails. Both run as child processes; Ctrl-C stops both.
"""

import os
import signal
import subprocess
import sys

from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand

from demo.loader import ADMIN_PASSWORD, ADMIN_USERNAME

STOP_WAIT_SECONDS = 15


class Command(BaseCommand):
    help = "Run the sandbox site and a django-q2 cluster; Ctrl-C stops both."

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")
        parser.add_argument(
            "--no-cluster", action="store_true", help="Run the site only, without qcluster."
        )

    def handle(self, *args, addrport, no_cluster, **options):
        if "flows_setup" in get_commands():
            call_command("flows_setup", stdout=self.stdout)  # the sweep schedule
        manage = [sys.executable, os.path.abspath(sys.argv[0])]
        # Ctrl-C and `kill` both end up in the `finally` below (SIGINT is ignored when we
        # were started in the background, so install the handler explicitly).
        signal.signal(signal.SIGINT, _raise_keyboard_interrupt)
        signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
        cluster = server = None
        try:
            cluster = None if no_cluster else start([*manage, "qcluster"])
            self.announce(addrport, cluster)
            server = start([*manage, "runserver", addrport])
            server.wait()
        except KeyboardInterrupt:
            self.stdout.write("\nStopping the site and the cluster…")
        finally:
            stop(server, group=True)  # runserver's autoreloader and its child
            stop(cluster, group=False)  # the sentinel stops its own workers gracefully

    def announce(self, addrport, cluster):
        base = f"http://{addrport}"
        cluster_line = (
            f"  Cluster: django-q2 qcluster running (pid {cluster.pid})"
            if cluster
            else "  Cluster: not started (--no-cluster): flows wait until one runs"
        )
        self.stdout.write(
            self.style.SUCCESS(
                "\nGreen Spoon sandbox\n"
                f"  Site:    {base}/\n"
                f"  Admin:   {base}/admin/  (login {ADMIN_USERNAME} / {ADMIN_PASSWORD})\n"
                f"  Flows:   {base}/admin/ → Flows\n"
                f"{cluster_line}\n"
                "  Emails:  saved in sandbox/sent-emails/ and listed on this console\n"
                "Press Ctrl-C to stop.\n"
            )
        )
        self.stdout.flush()  # before the children write, also when piped to a file


def _raise_keyboard_interrupt(signum, frame):
    raise KeyboardInterrupt


def start(command):
    """A child in its own process group, so that we decide when and how it stops."""
    return subprocess.Popen(command, start_new_session=True)  # noqa: S603 (our manage.py)


def stop(process, *, group):
    """Ask a child (or its whole process group) to stop with SIGTERM, then insist."""
    if process is None or process.poll() is not None:
        return
    if group:
        os.killpg(process.pid, signal.SIGTERM)
    else:
        process.terminate()
    try:
        process.wait(timeout=STOP_WAIT_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
