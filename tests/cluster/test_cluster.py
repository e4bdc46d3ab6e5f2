"""A real qcluster runs what the site enqueues (slow: ``-m cluster``)."""

import os

import pytest
from django_q.tasks import async_task, fetch

from tests.cluster.conftest import wait_for

pytestmark = pytest.mark.cluster


def test_a_task_enqueued_by_the_site_runs_in_the_cluster(qclusters):
    (cluster,) = qclusters(1)

    task_id = async_task("os.getpid")

    task = wait_for(lambda: fetch(task_id), timeout=60, message="the task's result")
    assert task.success
    assert task.result != os.getpid()
    assert task.result in cluster.workers()


def test_the_scheduled_sweep_runs_in_the_cluster(qclusters):
    from django_q.models import Success

    from wagtail_flows.engine.tasks import SWEEP_FUNC, ensure_schedule

    schedule, _ = ensure_schedule()
    qclusters(1)

    # django-q2's scheduler wakes about every 30 seconds.
    wait_for(
        lambda: Success.objects.filter(func=SWEEP_FUNC).exists(),
        timeout=90,
        interval=1,
        message="a sweep run by the schedule",
    )
    schedule.refresh_from_db()
    assert schedule.next_run is not None and schedule.task
