"""Handing work to django-q2: the task names of ``engine.tasks`` and ``enqueue``.

Engine modules enqueue through here by name, and ``engine.tasks`` (the entry points a
worker runs) imports them, so the engine has no import circle through its tasks.
"""

SWEEP_FUNC = "wagtail_flows.engine.tasks.run_sweep_task"
SWEEP_NAME = "wagtail-flows sweep"
ADVANCE_BATCH_FUNC = "wagtail_flows.engine.tasks.advance_batch_task"
DISPATCH_BATCH_FUNC = "wagtail_flows.engine.tasks.dispatch_batch_task"
ENROLLMENT_JOB_FUNC = "wagtail_flows.engine.tasks.run_enrollment_job_task"


def enqueue(func, *args, **kwargs):
    """Hand one task to django-q2 (runs inline when its ``sync`` mode is on)."""
    from django_q.tasks import async_task

    return async_task(func, *args, **kwargs)
