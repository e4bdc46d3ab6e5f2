"""django-q2 entry points of the engine's background work, and the one sweep schedule.

django-q2 delivers at least once: every task here is safe to run twice or concurrently,
because the state lives in our own tables (claims, cursors, unique constraints).

Each task takes ids and returns ids or counts: django-q2 stores both, pickled, in its task
table, where a returned Enrollment (its contact cached on it) would outlive a GDPR erase.
"""

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from wagtail_flows.conf import flows_settings
from wagtail_flows.engine.queue import (  # noqa: F401  (task names, for callers)
    ADVANCE_BATCH_FUNC,
    ADVANCE_ENROLLMENT_FUNC,
    DISPATCH_BATCH_FUNC,
    DISPATCH_EVENT_FUNC,
    ENROLLMENT_JOB_FUNC,
    IMPORT_JOB_FUNC,
    SWEEP_FUNC,
    SWEEP_NAME,
    enqueue,
)

logger = logging.getLogger(__name__)

# --- the sweep -----------------------------------------------------------------------------


def run_sweep_task(scheduled_for=None):
    """The scheduled sweep. A run replayed long after its time (``catch_up``) fast-forwards
    the schedule, so a cluster back from downtime sweeps once, not once per missed minute."""
    from wagtail_flows.engine.sweeps import run_sweep

    _skip_missed_runs(scheduled_for)
    return run_sweep()


def _interval():
    return timedelta(minutes=max(1, int(flows_settings.SWEEP_INTERVAL_MINUTES)))


def _skip_missed_runs(scheduled_for):
    from django_q.models import Schedule

    if isinstance(scheduled_for, str):
        scheduled_for = parse_datetime(scheduled_for)
    now = timezone.now()
    if not isinstance(scheduled_for, datetime) or scheduled_for > now - 2 * _interval():
        return
    Schedule.objects.filter(func=SWEEP_FUNC, next_run__lt=now).update(next_run=now + _interval())


def ensure_schedule(using="default"):
    """Create or repair the one sweep schedule; safe to call any number of times.

    Returns ``(schedule, created)``.
    """
    from django_q.models import Schedule

    minutes = max(1, int(flows_settings.SWEEP_INTERVAL_MINUTES))
    wanted = {
        "name": SWEEP_NAME,
        "schedule_type": Schedule.MINUTES,
        "minutes": minutes,
        "repeats": -1,
        "intended_date_kwarg": "scheduled_for",
        "cluster": None,
    }
    with transaction.atomic(using=using):
        existing = list(Schedule.objects.using(using).filter(func=SWEEP_FUNC).order_by("pk"))
        if not existing:
            schedule = Schedule.objects.using(using).create(
                func=SWEEP_FUNC, next_run=timezone.now(), **wanted
            )
            return schedule, True
        schedule, extra = existing[0], existing[1:]
        for duplicate in extra:
            duplicate.delete()
        changed = [f for f, v in wanted.items() if getattr(schedule, f) != v]
        for field in changed:
            setattr(schedule, field, wanted[field])
        if changed:
            schedule.save(using=using, update_fields=changed)
        return schedule, False


# --- one event, one run ----------------------------------------------------------------------


def dispatch_event_task(event_id):
    """Dispatch one event just recorded; the ids of the runs it started."""
    from wagtail_flows.engine.dispatch import dispatch_event

    return [enrollment.pk for enrollment in dispatch_event(event_id)]


def advance_enrollment_task(enrollment_id):
    """Advance one run (a waiting branch woken by an event); its id, or None if another
    worker held it or it had ended."""
    from wagtail_flows.engine.advance import advance_enrollment

    enrollment = advance_enrollment(enrollment_id)
    return enrollment.pk if enrollment is not None else None


# --- batches ---------------------------------------------------------------------------------


def advance_batch_task(enrollment_ids, claim=None, now=None):
    """Advance enrollments together: the sweep's claimed batch (``claim`` is its token), or
    runs just enrolled in bulk (no token: claimed here). One failing contact never blocks
    the others; the batch's emails go out over one mail connection."""
    from wagtail_flows.engine.advance import ClaimedBatch, advance_batch, claim_ids

    batch = ClaimedBatch(enrollment_ids, claim) if claim else claim_ids(enrollment_ids, now=now)
    return advance_batch(batch, now=now)


def dispatch_batch_task(event_ids):
    """Dispatch events whose own dispatch task was lost (cluster down, worker killed)."""
    from wagtail_flows.engine.dispatch import dispatch_event

    for event_id in event_ids:
        try:
            dispatch_event(event_id)
        except Exception:
            logger.exception("Dispatching event %s failed", event_id)
    return len(event_ids)


def run_enrollment_job_task(job_id, cursor=0):
    """Batches of a manual enrollment for about half the task timeout, then hands the rest
    to a fresh task, so a large audience never outlives django-q2's ``timeout``."""
    from django_q.conf import Conf

    from wagtail_flows.engine.enroll import run_job_batch

    budget = None if Conf.SYNC else timedelta(seconds=(Conf.TIMEOUT or 60) / 2)
    started = timezone.now()
    while cursor is not None:
        cursor = run_job_batch(job_id, cursor)
        if cursor is not None and budget and timezone.now() - started > budget:
            enqueue(ENROLLMENT_JOB_FUNC, job_id, cursor)
            return cursor
    return None


def run_import_task(import_id, cursor=None):
    """A contact import (check, then import) for about half the task timeout, then a fresh
    task goes on from the cursor, so a large file never outlives django-q2's ``timeout``."""
    from django_q.conf import Conf

    from wagtail_flows.engine.imports import run_import

    budget = None if Conf.SYNC else timedelta(seconds=(Conf.TIMEOUT or 60) / 2)
    cursor = run_import(import_id, cursor, budget=budget)
    if cursor is not None:
        enqueue(IMPORT_JOB_FUNC, import_id, cursor)
    return cursor
