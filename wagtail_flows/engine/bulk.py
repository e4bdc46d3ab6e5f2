"""Enroll and finish many contacts at once: a constant number of queries per batch.

``dispatch.enroll`` starts one run for one contact (an event's dispatch). The sweep's
time-based triggers and manual enrollment start runs for a whole batch; they use
``enroll_batch``, which applies the same rules — the flow is live and within its dates, the
entry conditions hold, nothing keeps them out at entry ("never enter if", exit conditions),
the re-entry policy allows it — as set-based filters, inserts the
runs in one ``bulk_create`` (``ignore_conflicts``: the partial unique constraint keeps a
contact that another worker enrolled at the same moment to one open run), and hands the
new runs to one advance task. Ending runs in bulk (``finish_batch``) is one SELECT and one
UPDATE.
"""

import uuid

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy

from wagtail_flows import signals
from wagtail_flows.engine.steps import Effects
from wagtail_flows.flows import conditions
from wagtail_flows.flows.describe import describe, lower_first
from wagtail_flows.models import Contact, Enrollment
from wagtail_flows.models.enrollments import OPEN_STATUSES, EnrollmentStatus
from wagtail_flows.models.flows import Reentry


def eligible(flow, contacts, now):
    """``contacts`` (a Contact queryset) narrowed to those who may start a run in ``flow``
    now: the flow is live and within its dates, the entry conditions hold, nothing keeps them
    out at entry (``suppressed_q``), re-entry allows."""
    if not flow.open_for_entry(now):
        return contacts.none()
    contacts = contacts.filter(
        conditions.to_q(flow.entry_conditions, match=flow.entry_match, now=now)
    )
    suppressed = suppressed_q(flow, now)
    if suppressed is not None:
        contacts = contacts.exclude(suppressed)
    kept_out = flow.kept_out_by_reentry(now)
    return contacts if kept_out is None else contacts.exclude(kept_out)


# --- suppression at entry -------------------------------------------------------------------
# Two lists keep a contact out when they try to enter, whatever the way in (an event, a
# time-based trigger, a manual or scheduled enrollment): the flow's "never enter if" list,
# checked at entry only, and its exit conditions — one that already holds would end the run
# at its first step anyway, after the first email. Any one condition of either keeps them
# out. ``suppressed_q`` says it for many contacts (a database filter), ``kept_out_at_entry``
# for one, with the reason (the tester shows it).

SUPPRESSING = (
    ("never_enter_if", gettext_lazy("never enter if")),
    ("exit_conditions", gettext_lazy("already meets an exit condition:")),
)


def suppressed_q(flow, now):
    """A ``Q`` over ``Contact`` of those kept out at entry, or None when nothing keeps anyone
    out (no "never enter if" and no exit condition)."""
    kept_out = None
    for field, _words in SUPPRESSING:
        stream = getattr(flow, field)
        if list(stream):
            q = conditions.to_q(stream, match="any", now=now)
            kept_out = q if kept_out is None else kept_out | q
    return kept_out


def kept_out_at_entry(flow, contact, now, context=None):
    """Why ``contact`` may not enter ``flow`` now, e.g. "never enter if has tag “dormant”"
    (the first condition that holds), or "" when nothing keeps them out."""
    for field, words in SUPPRESSING:
        for child in getattr(flow, field):
            if conditions.evaluate([child], contact, match="any", now=now, context=context):
                return f"{words} {lower_first(describe(child))}"
    return ""


def eligible_ids(flow, contact_ids, now):
    """The contacts among ``contact_ids`` who may start a run in ``flow`` now (one query)."""
    if not contact_ids:
        return set()
    chosen = Contact.objects.filter(pk__in=contact_ids)
    return set(eligible(flow, chosen, now).values_list("pk", flat=True))


def enroll_batch(flow, contacts, *, context_for, now=None, effects=None, advance_now=None):
    """Start runs in ``flow`` for those of ``contacts`` (Contact objects) who may enter.

    ``context_for(contact)`` gives each run's context; it may carry ``trigger_event``
    (an Event) besides the context dict, as ``(context, event)``. The new runs are due now;
    one advance task (after commit) runs them — if it is lost, the sweep finds them due.
    Returns the new enrollments. Queries: one to filter, one to insert (SQLite splits the
    insert in chunks of ~55 rows, its 999-variable limit), one to read the new rows back,
    plus one SELECT and one UPDATE when re-entry ``always`` restarts open runs.
    """
    now = now or timezone.now()
    effects = effects or Effects()
    allowed = eligible_ids(flow, [c.pk for c in contacts], now)
    contacts = list({c.pk: c for c in contacts if c.pk in allowed}.values())
    if not contacts:
        return []
    birth = uuid.uuid4().hex  # marks this batch's rows, to read them back
    with transaction.atomic():
        if flow.reentry == Reentry.ALWAYS:
            open_runs = Enrollment.objects.filter(
                flow=flow, contact__in=[c.pk for c in contacts], status__in=OPEN_STATUSES
            )
            finish_batch(open_runs, EnrollmentStatus.EXITED, "entered again", now=now)
        Enrollment.objects.bulk_create(
            [_batch_run(flow, contact, context_for(contact), now, birth) for contact in contacts],
            ignore_conflicts=True,
        )
        created = list(
            Enrollment.objects.filter(
                flow=flow, contact__in=[c.pk for c in contacts], claimed_by=birth
            ).order_by("pk")
        )
    by_pk = {c.pk: c for c in contacts}
    for enrollment in created:
        enrollment.flow = flow
        enrollment.contact = by_pk[enrollment.contact_id]
        effects.signal(signals.contact_enrolled, enrollment=enrollment)
    if created:
        hand_to_advance([e.pk for e in created], advance_now)
    return created


def new_run(flow, contact, context, now, *, event=None, birth=""):
    """A run of ``flow`` for ``contact`` that starts now (unsaved)."""
    return Enrollment(
        flow=flow,
        contact=contact,
        status=EnrollmentStatus.ACTIVE,
        next_run_at=now,
        context=context,
        trigger_event=event,
        enrolled_at=now,
        claimed_by=birth,  # not a lease (claimed_until stays empty): the sweep may take them
    )


def _batch_run(flow, contact, context, now, birth):
    context, event = context if isinstance(context, tuple) else (context, None)
    return new_run(flow, contact, context, now, event=event, birth=birth)


def hand_to_advance(enrollment_ids, now=None):
    """After commit, one task advances these runs (it claims them itself)."""
    from wagtail_flows.engine.queue import ADVANCE_BATCH_FUNC, enqueue

    ids = list(enrollment_ids)
    transaction.on_commit(lambda: enqueue(ADVANCE_BATCH_FUNC, ids, None, now))


def finish_batch(runs, status, reason, *, now=None, limit=None, effects=None):
    """End the open runs of the queryset ``runs`` (at most ``limit``) in one SELECT and one
    UPDATE; returns the runs it ended. Rows another worker has locked are skipped (they are
    taken next time); the UPDATE still checks each is open, so nothing ends twice."""
    now = now or timezone.now()
    effects = effects or Effects()
    with transaction.atomic():
        runs = runs.filter(status__in=OPEN_STATUSES).order_by("pk")
        if connection.features.has_select_for_update_skip_locked:
            runs = runs.select_for_update(skip_locked=True, of=("self",))
        ended = list(runs[:limit] if limit else runs)
        if not ended:
            return []
        ids = [run.pk for run in ended]
        reason = (reason or "")[:255]
        updated = Enrollment.objects.filter(pk__in=ids, status__in=OPEN_STATUSES).update(
            status=status,
            exit_reason=reason,
            finished_at=now,
            next_run_at=None,
            wakes_on_event=False,
            held_reason="",
        )
        if updated != len(ended):  # without row locks, another worker ended some meanwhile
            mine = Enrollment.objects.filter(
                pk__in=ids, status=status, exit_reason=reason, finished_at=now
            ).values_list("pk", flat=True)
            mine = set(mine)
            ended = [run for run in ended if run.pk in mine]
    for run in ended:
        run.status, run.exit_reason, run.finished_at, run.next_run_at = status, reason, now, None
        effects.signal(signals.enrollment_finished, enrollment=run, status=status)
    return ended
