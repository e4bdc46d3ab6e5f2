"""Manual enrollment: a list, a segment or chosen contacts, in the background in batches.

The marketer watches an ``EnrollmentJob`` row (total, handled, enrolled); the batches run as
django-q2 tasks (or in the calling process for ``flows_enroll --sync``). Each batch commits
its enrollments and moves the job's cursor in one transaction, with a compare-and-set on the
cursor, so a batch delivered twice or resumed after a crash neither skips nor repeats anyone.
"""

from calendar import monthrange
from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from wagtail_flows.conf import flows_settings
from wagtail_flows.engine.timing import local_instant, site_timezone
from wagtail_flows.models import Contact, EnrollmentJob
from wagtail_flows.models.flows import FlowStatus
from wagtail_flows.models.jobs import JobStatus, Repeat

ENROLLABLE_STATUSES = (FlowStatus.LIVE,)


def enroll_audience(
    flow,
    *,
    contact_list=None,
    segment=None,
    contact_ids=None,
    user=None,
    background=True,
    start_at=None,
    repeat=Repeat.ONCE,
):
    """Start enrolling an audience into ``flow``; returns the job to watch.

    Exactly one of ``contact_list``, ``segment`` or ``contact_ids`` names the audience. With
    ``background`` the batches run in the cluster after commit; without, the caller runs them
    (``run_job_batch``) itself. With ``start_at`` (in the future) the job waits for the sweep
    to start it then, and with ``repeat`` again every week or month (``start_due_jobs``).
    """
    _validate(flow, contact_list, segment, contact_ids)
    _validate_schedule(start_at, repeat, contact_ids)
    job = EnrollmentJob(
        flow=flow,
        contact_list=contact_list,
        segment=segment,
        contact_ids=sorted({int(pk) for pk in contact_ids or ()}),
        created_by=user if user and user.is_authenticated else None,
    )
    job.total = audience(job).count()
    if start_at:
        job.status = JobStatus.SCHEDULED
        job.scheduled_at = start_at
        job.repeat = repeat
        job.repeat_anchor = start_at if repeat else None
        job.save()
        return job
    job.save()
    if background:
        _enqueue_after_commit(job)
    return job


def _enqueue_after_commit(job):
    from wagtail_flows.engine.queue import ENROLLMENT_JOB_FUNC, enqueue

    transaction.on_commit(lambda: enqueue(ENROLLMENT_JOB_FUNC, job.pk, job.cursor))


def _validate_schedule(start_at, repeat, contact_ids):
    if repeat not in Repeat.values:
        raise ValidationError({"repeat": _("Choose once, every week or every month.")})
    if repeat and not start_at:
        raise ValidationError({"start_at": _("A repeating enrollment needs its first time.")})
    if start_at and start_at <= timezone.now():
        raise ValidationError({"start_at": _("Choose a time in the future, or enroll now.")})
    if repeat and contact_ids is not None:
        raise ValidationError(
            {"repeat": _("Only a list or a segment can be enrolled again and again.")}
        )


def _validate(flow, contact_list, segment, contact_ids):
    chosen = [a for a in (contact_list, segment, contact_ids) if a is not None]
    if len(chosen) != 1:
        raise ValidationError(
            {"audience": _("Choose exactly one audience: a list, a segment or contacts.")}
        )
    if flow.status not in ENROLLABLE_STATUSES:
        raise ValidationError(
            {
                "flow": _("“%(flow)s” is %(status)s: only a live flow takes contacts.")
                % {"flow": flow, "status": flow.get_status_display().lower()}
            }
        )
    if contact_ids is not None and not contact_ids:
        raise ValidationError({"contact_ids": _("Choose at least one contact.")})


def audience(job):
    """The job's contacts as a queryset (segments are evaluated in the database)."""
    if job.contact_list_id:
        return Contact.objects.filter(memberships__contact_list_id=job.contact_list_id)
    if job.segment_id:
        return segment_contacts(job.segment)
    return Contact.objects.filter(pk__in=job.contact_ids)


def segment_contacts(segment):
    if hasattr(segment, "contacts"):
        return segment.contacts()
    from wagtail_flows.flows import conditions

    return Contact.objects.filter(conditions.to_q(segment.conditions, match=segment.match))


def run_job_batch(job_id, cursor):
    """Enroll the next batch after ``cursor``; returns the next cursor, or None when the job
    is finished or another delivery of this batch already moved it on."""
    job = EnrollmentJob.objects.select_related("flow").filter(pk=job_id).first()
    if job is None or job.status in (JobStatus.DONE, JobStatus.FAILED) or job.cursor != cursor:
        return None
    size = max(1, int(flows_settings.SWEEP_BATCH_SIZE))
    try:
        with transaction.atomic():
            return _enroll_batch(job, cursor, size)
    except Exception as exc:
        EnrollmentJob.objects.filter(pk=job.pk, cursor=cursor).update(
            status=JobStatus.FAILED, error=str(exc)[:2000], updated_at=timezone.now()
        )
        raise


def _enroll_batch(job, cursor, size):
    """One batch: the next contacts of the audience enter in bulk (a constant number of
    queries), due now; one advance task runs them after commit."""
    from wagtail_flows.engine.bulk import enroll_batch

    contacts = list(audience(job).filter(pk__gt=cursor).order_by("pk").distinct()[:size])
    now = timezone.now()
    context = {"manual": {"job": job.pk, "audience": str(job.audience_label)}}
    enrolled = len(enroll_batch(job.flow, contacts, context_for=lambda c: context, now=now))
    finished = len(contacts) < size
    moved = EnrollmentJob.objects.filter(pk=job.pk, cursor=cursor).update(
        cursor=contacts[-1].pk if contacts else cursor,
        done=F("done") + len(contacts),
        enrolled=F("enrolled") + enrolled,
        status=JobStatus.DONE if finished else JobStatus.RUNNING,
        updated_at=now,
        finished_at=now if finished else None,
    )
    if not moved:
        transaction.set_rollback(True)
        return None
    return None if finished else contacts[-1].pk


def run_job(job, progress=None):
    """Run every batch of ``job`` in this process (``flows_enroll --sync``)."""
    cursor = job.cursor
    while cursor is not None:
        cursor = run_job_batch(job.pk, cursor)
        job.refresh_from_db()
        if progress:
            progress(job)
    return job


def resume_stalled_jobs(now, stalled_after):
    """Re-enqueue jobs whose batch task was lost (e.g. the Redis broker lost it in a crash)."""
    from wagtail_flows.engine.queue import ENROLLMENT_JOB_FUNC, resume_stalled

    stalled = EnrollmentJob.objects.filter(
        status__in=(JobStatus.QUEUED, JobStatus.RUNNING), updated_at__lt=now - stalled_after
    )
    return resume_stalled(stalled, ENROLLMENT_JOB_FUNC, now)


# --- scheduled enrollment (broadcasts) ----------------------------------------------------


def start_due_jobs(now, limit=100):
    """Start the scheduled jobs whose time has come (the sweep, each minute): each is claimed
    with a compare-and-set, so two sweeps never start one twice; a repeating one schedules
    its next occurrence in the same transaction. A flow that is not live at the time is
    skipped for that occurrence (recorded on the job), not the schedule."""
    due = EnrollmentJob.objects.select_related("flow").filter(
        status=JobStatus.SCHEDULED, scheduled_at__lte=now
    )
    started = 0
    for job in due.order_by("scheduled_at", "pk")[:limit]:
        with transaction.atomic():
            if _start_scheduled(job, now):
                started += 1
    return started


def _start_scheduled(job, now):
    live = job.flow.status in ENROLLABLE_STATUSES
    values = {"updated_at": now}
    if live:
        values.update(status=JobStatus.QUEUED, total=audience(job).count())
    else:
        values.update(
            status=JobStatus.FAILED,
            finished_at=now,
            error=_("Not started: “%(flow)s” was %(status)s at the scheduled time.")
            % {"flow": job.flow, "status": job.flow.get_status_display().lower()},
        )
    claimed = EnrollmentJob.objects.filter(pk=job.pk, status=JobStatus.SCHEDULED).update(**values)
    if not claimed:
        return False
    if job.repeat:
        _schedule_next(job, now)
    if live:
        _enqueue_after_commit(job)
    return live


def _schedule_next(job, now):
    """The next occurrence after ``now`` (a sweep that was down for weeks schedules the next
    one to come, it does not replay the missed ones)."""
    at = job.scheduled_at
    while at <= now:
        at = next_occurrence(job.repeat_anchor or job.scheduled_at, job.repeat, at)
    EnrollmentJob.objects.create(
        flow=job.flow,
        contact_list=job.contact_list,
        segment=job.segment,
        contact_ids=job.contact_ids,
        created_by=job.created_by,
        total=job.total,
        status=JobStatus.SCHEDULED,
        scheduled_at=at,
        repeat=job.repeat,
        repeat_anchor=job.repeat_anchor,
        created_at=now,
        updated_at=now,
    )


def next_occurrence(anchor, repeat, after):
    """The occurrence of a weekly or monthly schedule that follows ``after``, at the anchor's
    wall-clock time in the site's time zone (09:00 stays 09:00 across a DST change; the 31st
    falls on a shorter month's last day)."""
    tz = site_timezone()
    first = anchor.astimezone(tz)
    previous = after.astimezone(tz).date()
    if repeat == Repeat.WEEKLY:
        day = previous + timedelta(days=7)
    else:
        months = previous.year * 12 + previous.month  # the month after ``after``'s month
        year, month = divmod(months, 12)
        day = date(year, month + 1, min(first.day, monthrange(year, month + 1)[1]))
    return local_instant(day, first.time().replace(tzinfo=None), tz)


def cancel_job(job):
    """Cancel a scheduled (not yet started) enrollment; True if it was still waiting."""
    return bool(
        EnrollmentJob.objects.filter(pk=job.pk, status=JobStatus.SCHEDULED).update(
            status=JobStatus.CANCELLED, finished_at=timezone.now(), updated_at=timezone.now()
        )
    )
