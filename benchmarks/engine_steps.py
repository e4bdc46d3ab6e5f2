"""Engine throughput: steps per second through a 5-step flow, and queries per sweep batch.

The flow: add tag → wait 0 (instant) → branch on score → send email (locmem backend,
delivered inline: django-q2 sync mode) → change score. N contacts are enrolled, then the
due runs are claimed and advanced in batches, as the sweep does.

    FLOWS_TEST_SYNCDB=1 python benchmarks/engine_steps.py [N]
    FLOWS_TEST_DB=postgres FLOWS_TEST_SYNCDB=1 python benchmarks/engine_steps.py [N]

The figures are printed last.
"""

import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
os.environ.setdefault("FLOWS_RUN_ID", f"bench{os.getpid()}")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402

BATCH = 500
# BENCH_DELIVER=0: leave messages queued, to see the engine's own share.
DELIVER = os.environ.get("BENCH_DELIVER", "1") == "1"


def _create_database():
    if os.environ.get("FLOWS_TEST_SYNCDB"):
        package = __import__("flows_devmig.wagtail_flows", fromlist=["x"])
        folder = os.path.dirname(os.path.dirname(package.__file__))
        for app in ("wagtail_flows", "testapp"):
            for name in os.listdir(os.path.join(folder, app)):
                if name.startswith("0"):
                    os.remove(os.path.join(folder, app, name))
        call_command("makemigrations", "wagtail_flows", "testapp", verbosity=0)
    setup_test_environment()
    return connection.creation.create_test_db(verbosity=0, autoclobber=True)


def _flow():
    from tests.factories import make_email_page
    from tests.test_engine_tree import branch, make_flow, score_at_least, step, tag, wait

    page = make_email_page(subject="Hello {{ contact.first_name }}")
    return make_flow(
        [
            tag("bench", "s1"),
            wait("s2", amount=0, unit="minutes"),
            branch("s3", [score_at_least(10)]),
            step("send_email", "s4", page=page.pk),
            step("change_score", "s5", delta=5),
        ]
    )


def _enroll(flow, count, now):
    from wagtail_flows.engine.dispatch import enroll
    from wagtail_flows.engine.steps import RecordingEffects
    from wagtail_flows.models import Contact

    Contact.objects.bulk_create(
        Contact(email=f"bench{i}@example.com", first_name="Bench", status="subscribed")
        for i in range(count)
    )
    effects = RecordingEffects()  # no task per contact: the batches below advance them
    for contact in Contact.objects.filter(email__startswith="bench"):
        enroll(flow, contact, now=now, effects=effects)


def _deliver_inline():
    """Deliver each message on commit in this process, as a worker would (django-q2's sync
    mode builds a worker per task, which would measure django-q2, not us)."""
    from django.db import transaction

    from wagtail_flows import email_delivery
    from wagtail_flows.engine import steps

    def deliver(self, message):
        if DELIVER:
            transaction.on_commit(lambda: email_delivery.deliver_message(message.pk))

    steps.Effects.deliver = deliver


def _profiler():
    if not os.environ.get("BENCH_PROFILE"):
        return None
    import cProfile

    profile = cProfile.Profile()
    profile.enable()
    return profile


def main(count):
    from django.core import mail
    from django.utils import timezone

    from wagtail_flows.engine import advance
    from wagtail_flows.models import Message, StepRun

    db_name = _create_database()
    _deliver_inline()
    try:
        now = timezone.now()
        _enroll(_flow(), count, now)
        mail.outbox = []
        with CaptureQueriesContext(connection) as claim_queries:
            first = advance.claim_due(BATCH, now=now)
        for enrollment_id in first:
            advance.release(enrollment_id, first.token)
        started = time.perf_counter()
        profile = _profiler()
        queries = []
        with connection.execute_wrapper(
            lambda run, sql, *args: queries.append(1) or run(sql, *args)
        ):
            while advance.run_due(BATCH, now=now):
                pass
        elapsed = time.perf_counter() - started
        if profile:
            profile.disable()
            profile.print_stats("cumtime")
        steps = StepRun.objects.count()
        sent = Message.objects.filter(status="sent").count()
    finally:
        connection.creation.destroy_test_db(db_name, verbosity=0)
    engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    print(f"database: {engine}; contacts: {count}; steps run: {steps}; emails sent: {sent}")
    print(f"load average (2 cores shared): {os.getloadavg()[0]:.1f}")
    print(f"claim_due queries per batch of {BATCH}: {len(claim_queries)}")
    label = "incl. delivery" if DELIVER else "engine only"
    print(f"queries per step ({label}): {len(queries) / max(steps, 1):.1f}")
    print(f"elapsed: {elapsed:.2f} s; steps/s: {steps / elapsed:.0f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
