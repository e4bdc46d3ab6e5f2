"""Dispatch: an event in, enrollments started or ended (the listening index that tells
capture which kinds to hand over is ``wagtail_flows.models.listening``)."""

import contextlib
import logging

from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.dispatch import receiver
from django.utils import timezone

from wagtail_flows import signals
from wagtail_flows.engine import scoring
from wagtail_flows.engine.bulk import kept_out_at_entry, new_run
from wagtail_flows.engine.steps import Effects
from wagtail_flows.flows import conditions
from wagtail_flows.flows.kinds import trigger_event_kinds
from wagtail_flows.flows.triggers import trigger_matches
from wagtail_flows.models import Contact, Enrollment, Event, Flow
from wagtail_flows.models.consent import awaiting_consent
from wagtail_flows.models.contacts import EventKind
from wagtail_flows.models.enrollments import OPEN_STATUSES, EnrollmentStatus
from wagtail_flows.models.flows import FlowStatus, Reentry
from wagtail_flows.models.listening import (  # noqa: F401  (the engine's entry points)
    current_index,
    invalidate,
    is_listened,
    reset_index,
    sends_marketing_email,
)

logger = logging.getLogger(__name__)


@receiver(signals.flow_status_changed, dispatch_uid="wagtail_flows_engine_flow_status")
def _flow_status_changed(sender, flow, old, new, **kwargs):
    from wagtail_flows.engine import advance

    advance.flow_status_changed(flow, old, new)


@receiver(signals.events_to_dispatch, dispatch_uid="wagtail_flows_engine_events")
def _events_to_dispatch(sender, event_ids, batch=False, **kwargs):
    if batch:
        enqueue_dispatches(event_ids)
    else:
        for event_id in event_ids:
            enqueue_dispatch(event_id)


# --- dispatch ----------------------------------------------------------------------------


def enqueue_dispatch(event_id):
    from wagtail_flows.engine.queue import DISPATCH_EVENT_FUNC, enqueue

    enqueue(DISPATCH_EVENT_FUNC, event_id, task_name=f"flows-dispatch-{event_id}")


def enqueue_dispatches(event_ids):
    """One task dispatching these events in turn (events recorded in bulk)."""
    from wagtail_flows.engine.queue import DISPATCH_BATCH_FUNC, enqueue

    enqueue(DISPATCH_BATCH_FUNC, list(event_ids))


def dispatch_event(event_id, *, now=None, flows=None, effects=None):
    """Start and end enrollments for one event (idempotent: safe to run again).

    The event's ``pending_dispatch`` mark is cleared in the same transaction as the
    enrollments it starts and ends: a worker killed half-way leaves the mark, and the
    sweep dispatches the event again (``redispatch_pending``). The UPDATE that clears it
    also locks the event's row, so two dispatches of one event run one after the other
    and the second finds the run the first started (``reentry_allows``).

    ``flows`` limits dispatch to these flows (the simulator passes its one flow).

    Scoring rules score the event first (``engine.scoring``), so the flows see the new
    score and grade; only the dispatch that clears the mark scores, so a repeated one does
    not score twice. The simulator (``flows`` given) scores nothing.
    """
    now = now or timezone.now()
    effects = effects or Effects()
    with transaction.atomic():
        claimed = Event.objects.filter(pk=event_id, pending_dispatch=True).update(
            pending_dispatch=False
        )
        event = Event.objects.select_related("contact", "page").filter(pk=event_id).first()
        if event is None or event.contact is None:
            return []
        if claimed and flows is None:
            scoring.score_event(event)
        _end_open_enrollments(event, now, flows, effects)
        started = []
        candidates = flows if flows is not None else Flow.objects.filter(status=FlowStatus.LIVE)
        for flow in candidates:
            enrollment = _enroll_if_triggered(flow, event, now, effects)
            if enrollment is not None:
                started.append(enrollment)
    return started


@contextlib.contextmanager
def _one_flow(flow_id, event, effects):
    """One flow's part of a dispatch, in a savepoint. A flow whose settings make it fail (a
    value the code cannot read, a cast the database refuses) is logged and skipped: it cannot
    keep the event from every other flow, nor keep it pending for ever. A transient database
    failure (lost connection, deadlock) aborts the whole dispatch, which the sweep redoes."""
    try:
        with transaction.atomic():
            yield
    except (OperationalError, InterfaceError):
        raise
    except Exception:
        if effects.simulated:
            raise
        logger.exception("Flow %s could not take event %s", flow_id, event.pk)


def _enroll_if_triggered(flow, event, now, effects):
    if not _listens(flow, event):  # most flows: no savepoint, no query
        return None
    if sends_marketing_email(flow) and awaiting_consent(event):
        return None  # double opt-in: dispatched again when the contact confirms
    with _one_flow(flow.pk, event, effects):
        if _triggered(flow, event):
            return enroll(flow, event.contact, event=event, now=now, effects=effects)
    return None


def _listens(flow, event):
    # Read the block types from the raw JSON: most flows do not listen to this kind, and
    # turning their triggers into values would fetch the pages they name.
    types = {block["type"] for block in flow.triggers.raw_data if block}
    return any(event.kind in trigger_event_kinds(t) for t in types)


def _triggered(flow, event):
    if not _listens(flow, event):
        return False
    for child in flow.triggers:
        kinds = trigger_event_kinds(child.block_type)
        if event.kind in kinds and trigger_matches(child, event):
            return True
    return False


def _end_open_enrollments(event, now, flows, effects):
    """Goal met → converted; exit conditions met or unsubscribed → exited; a waiting
    branch wakes up to look at its condition again."""
    open_ = Enrollment.objects.filter(
        contact=event.contact, status__in=OPEN_STATUSES
    ).select_related("flow")
    if flows is not None:
        open_ = open_.filter(flow__in=[f.pk for f in flows])
    for enrollment in open_:
        enrollment.contact = event.contact
        with _one_flow(enrollment.flow_id, event, effects):
            _end_or_wake(enrollment, event, now, effects)


def _end_or_wake(enrollment, event, now, effects):
    from wagtail_flows.engine.advance import finish

    ending = _ending(enrollment, event, now)
    if ending:
        finish(enrollment, ending[0], ending[1], now=now, effects=effects)
    elif enrollment.wakes_on_event:
        Enrollment.objects.filter(pk=enrollment.pk, wakes_on_event=True).update(next_run_at=now)
        effects.enqueue_advance(enrollment.pk)


def _ending(enrollment, event, now):
    flow = enrollment.flow
    context = enrollment.context
    if event.kind == EventKind.UNSUBSCRIBED and sends_marketing_email(flow):
        return EnrollmentStatus.EXITED, "unsubscribed"
    if event.kind in conditions.event_kinds(flow.goal) and conditions.evaluate(
        flow.goal, event.contact, match=flow.goal_match, now=now, context=context
    ):
        return EnrollmentStatus.CONVERTED, "goal reached"
    if event.kind in conditions.event_kinds(flow.exit_conditions) and conditions.evaluate(
        flow.exit_conditions, event.contact, match="any", now=now, context=context
    ):
        return EnrollmentStatus.EXITED, "exit conditions met"
    return None


# --- enrolling ---------------------------------------------------------------------------


def event_context(event):
    """What a run remembers of its trigger: the event, and the order/cart/form it carried."""
    data = dict(event.data or {})
    context = {
        "event": {
            "id": event.pk,
            "kind": event.kind,
            "name": event.name,
            "object_id": event.object_id,
            "value": str(event.value) if event.value is not None else None,
            "page_id": event.page_id,
            "at": event.created_at.isoformat(),
            **data,
        }
    }
    if event.kind == EventKind.ORDER_PLACED:
        context["order"] = {"id": event.object_id, "total": context["event"]["value"], **data}
    elif event.kind in (EventKind.CART_UPDATED, EventKind.CART_ABANDONED):
        context["cart"] = {"id": event.object_id, "total": context["event"]["value"], **data}
    elif event.kind == EventKind.FORM_SUBMITTED:
        context["form"] = data
    return context


def reentry_allows(flow, contact, now, event=None):
    """The flow's re-entry policy: may this contact start a new run now?"""
    runs = Enrollment.objects.filter(flow=flow, contact=contact)
    if event is not None and runs.filter(trigger_event=event).exists():
        return False  # this event already started a run (a repeated dispatch)
    kept_out = flow.kept_out_by_reentry(now)
    return kept_out is None or not Contact.objects.filter(pk=contact.pk).filter(kept_out).exists()


def enroll(
    flow,
    contact,
    *,
    event=None,
    context=None,
    now=None,
    effects=None,
    force=False,
    enqueue=True,
):
    """Start ``contact``'s run through ``flow`` if the flow is live and within its dates,
    the entry conditions hold, nothing keeps them out at entry ("never enter if", exit
    conditions: ``bulk.kept_out_at_entry``) and the re-entry policy allows it; else None.

    ``enqueue=False`` enqueues no advance task (large audiences: the next sweep finds the
    run due, as its ``next_run_at`` is now). ``force`` skips the checks (the simulator
    runs draft flows).
    """
    now = now or timezone.now()
    effects = effects or Effects()
    run_context = {**(event_context(event) if event else {}), **(context or {})}
    if not force:
        if not flow.open_for_entry(now) or not reentry_allows(flow, contact, now, event):
            return None
        if not conditions.evaluate(
            flow.entry_conditions, contact, match=flow.entry_match, now=now, context=run_context
        ):
            return None
        if kept_out_at_entry(flow, contact, now, run_context):
            return None  # "never enter if" or an exit condition holds already
    try:
        with transaction.atomic():
            if flow.reentry == Reentry.ALWAYS:
                _restart_open_run(flow, contact, now, effects)
            enrollment = new_run(flow, contact, run_context, now, event=event)
            enrollment.save(force_insert=True)
    except IntegrityError:
        return None  # an open run exists (another worker enrolled them at the same moment)
    if enqueue:
        effects.enqueue_advance(enrollment.pk)
    effects.signal(signals.contact_enrolled, enrollment=enrollment)
    return enrollment


def _restart_open_run(flow, contact, now, effects):
    from wagtail_flows.engine.advance import finish

    for open_run in Enrollment.objects.filter(
        flow=flow, contact=contact, status__in=OPEN_STATUSES
    ):
        finish(open_run, EnrollmentStatus.EXITED, "entered again", now=now, effects=effects)
