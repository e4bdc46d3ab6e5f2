"""Handing work to django-q2: the task names, ``enqueue``, and what each task's ids name.

Engine modules enqueue through here by name, and ``engine.tasks`` (the entry points a
worker runs) imports them, so the engine has no import circle through its tasks.

django-q2 keeps every task's arguments and result, pickled, in its own table (and a queued
task's in the ORM broker's), out of reach of our cascades. So a task takes ids and returns
ids or counts, never a model instance: nothing personal is copied there, and an erased
contact's rows can be found by the ids below (``gdpr.queue_records``).
"""

from datetime import date, datetime, time, timedelta

SWEEP_FUNC = "wagtail_flows.engine.tasks.run_sweep_task"
SWEEP_NAME = "wagtail-flows sweep"
ADVANCE_BATCH_FUNC = "wagtail_flows.engine.tasks.advance_batch_task"
ADVANCE_ENROLLMENT_FUNC = "wagtail_flows.engine.tasks.advance_enrollment_task"
DISPATCH_BATCH_FUNC = "wagtail_flows.engine.tasks.dispatch_batch_task"
DISPATCH_EVENT_FUNC = "wagtail_flows.engine.tasks.dispatch_event_task"
ENROLLMENT_JOB_FUNC = "wagtail_flows.engine.tasks.run_enrollment_job_task"
IMPORT_JOB_FUNC = "wagtail_flows.engine.tasks.run_import_task"
# Delivery sits below the engine and enqueues itself by these names.
DELIVER_MESSAGE_FUNC = "wagtail_flows.emails.delivery.deliver_message"
DELIVER_BATCH_FUNC = "wagtail_flows.emails.delivery.deliver_batch"
DELIVER_DUE_FUNC = "wagtail_flows.emails.delivery.deliver_due"

# The rows a task's first argument (an id, or a list of ids) names, by task name. Tasks queued
# under the names of earlier releases (which returned model instances) are listed too.
TASK_SUBJECTS = {
    DISPATCH_EVENT_FUNC: "event",
    DISPATCH_BATCH_FUNC: "event",
    "wagtail_flows.engine.dispatch.dispatch_event": "event",
    ADVANCE_ENROLLMENT_FUNC: "enrollment",
    ADVANCE_BATCH_FUNC: "enrollment",
    "wagtail_flows.engine.advance.advance_enrollment": "enrollment",
    DELIVER_MESSAGE_FUNC: "message",
    DELIVER_BATCH_FUNC: "message",
}

PLAIN_TYPES = (int, float, str, bool, type(None), datetime, date, time, timedelta)


def is_plain(value):
    """Ids, counts, statuses, clocks, and lists or dicts of them: what a task may carry."""
    if isinstance(value, (list, tuple, set, frozenset)):
        return all(is_plain(item) for item in value)
    if isinstance(value, dict):
        return all(is_plain(k) and is_plain(v) for k, v in value.items())
    return isinstance(value, PLAIN_TYPES)


def enqueue(func, *args, **kwargs):
    """Hand one task to django-q2 (runs inline when its ``sync`` mode is on).

    Raises ``TypeError`` for an argument that is not plain data (a model instance, a
    queryset): django-q2 would keep it, pickled, long after the row it copies is erased."""
    for value in (*args, *kwargs.values()):
        if not is_plain(value):
            raise TypeError(f"{func} takes ids and plain values, not {type(value).__name__}.")
    from django_q.tasks import async_task

    return async_task(func, *args, **kwargs)


def resume_stalled(jobs, func, now, limit=100):
    """Hand ``func`` again the background jobs of ``jobs`` (a queryset of rows with a
    ``cursor`` and an ``updated_at``, already narrowed to the stalled ones) whose task was lost
    (a crash; the Redis broker loses running tasks): each from its cursor, claimed by a
    compare-and-set on ``updated_at`` so two sweeps resume it once. Returns how many."""
    resumed = 0
    for pk, cursor, updated_at in jobs.values_list("pk", "cursor", "updated_at")[:limit]:
        if jobs.model.objects.filter(pk=pk, updated_at=updated_at).update(updated_at=now):
            enqueue(func, pk, cursor)
            resumed += 1
    return resumed
