"""``manage.py flows_run``: sweep without a cluster (one pass, or ``--loop``)."""

import signal

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from wagtail_flows.conf import flows_settings
from wagtail_flows.engine.sweeps import run_sweep


class Command(BaseCommand):
    help = (
        "Run the flows sweep in this process: advance due contacts, fire time-based "
        "triggers, deliver what waits. For sites without a django-q2 cluster."
    )

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true", help="Sweep again and again.")
        parser.add_argument(
            "--interval",
            type=float,
            default=None,
            help="Seconds between passes with --loop (default: SWEEP_INTERVAL_MINUTES).",
        )
        parser.add_argument(
            "--passes", type=int, default=None, help="With --loop, stop after this many."
        )

    def handle(self, *args, loop=False, interval=None, passes=None, **options):
        from django_q.conf import Conf

        if interval is None:
            interval = 60 * float(flows_settings.SWEEP_INTERVAL_MINUTES)
        if interval <= 0:
            raise CommandError("--interval must be more than 0 seconds.")
        # No cluster: every task the sweep hands out (advance, dispatch, delivery) runs here.
        was_sync, Conf.SYNC = Conf.SYNC, True
        self._stop = False
        if loop:
            signal.signal(signal.SIGTERM, self._on_term)
        try:
            self._run(loop, interval, passes)
        finally:
            Conf.SYNC = was_sync

    def _run(self, loop, interval, passes):
        count = 0
        while True:
            report = run_sweep()
            count += 1
            stamp = f"{timezone.now():%Y-%m-%d %H:%M:%S}"
            self.stdout.write(f"{stamp} sweep {count}: {_describe(report)}")
            if not loop or self._stop or (passes and count >= passes):
                return
            self._sleep(interval)

    def _on_term(self, *args):
        self._stop = True

    def _sleep(self, seconds):
        import threading

        waiter = threading.Event()
        deadline = seconds
        while deadline > 0 and not self._stop:
            waiter.wait(min(1.0, deadline))
            deadline -= 1.0


def _describe(report):
    parts = [f"advanced {report.get('advanced', 0)}"]
    parts.append(f"re-dispatched {report.get('redispatched', 0)}")
    parts.append(f"carts abandoned {report.get('carts_abandoned', 0)}")
    for trigger, count in sorted((report.get("enrolled") or {}).items()):
        parts.append(f"{trigger.replace('_', ' ')} {count}")
    return ", ".join(parts)
