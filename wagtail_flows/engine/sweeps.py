"""The sweep: one pass, about every minute, over everything that happens because time passed.

- due enrollments (a wait ended) are claimed in batches and handed to advance tasks;
- events whose dispatch task was lost are dispatched again (nothing lost while the cluster
  was down);
- abandoned carts become ``cart_abandoned`` events;
- the time-based triggers ``inactive``, ``engagement`` and ``date_reached`` enroll the
  contacts they match, found with set-based queries;
- contacts who entered or left a segment a live flow listens to enroll in that flow
  (``segment_triggers``);
- manual enrollments that stalled are resumed; email sends that never finished are marked.

Every part does a bounded number of queries per batch, whatever the number of contacts.
"""

import logging
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from wagtail_flows.conf import flows_settings
from wagtail_flows.emails.delivery import mark_stale_sending
from wagtail_flows.engine import ab_winner, scoring, segment_triggers, sweep_triggers
from wagtail_flows.engine.imports import resume_stalled_imports
from wagtail_flows.engine.queue import (
    ADVANCE_BATCH_FUNC,
    DELIVER_DUE_FUNC,
    DISPATCH_BATCH_FUNC,
    enqueue,
)
from wagtail_flows.models import Event, Flow
from wagtail_flows.models.contacts import EventKind
from wagtail_flows.models.flows import FlowStatus

logger = logging.getLogger(__name__)


def batch_size():
    return max(1, int(flows_settings.SWEEP_BATCH_SIZE))


def run_sweep(now=None):
    """One pass; returns what it did, e.g. ``{"advanced": 1200, "carts_abandoned": 3, …}``.

    ``now`` (default: ``timezone.now()``) is the clock of the whole pass; advance tasks get
    it too, so tests and simulations can travel in time.
    """
    clock = now or timezone.now()
    report = {
        "advanced": advance_due(clock, now),
        "redispatched": redispatch_pending(clock),
        "carts_abandoned": 0,
        "enrolled": {},
    }
    flows = live_flows_with_sweep_triggers(clock)
    report["carts_abandoned"], carts_enrolled = emit_abandoned_carts(flows, clock, now)
    fired = sweep_triggers.fire(flows, clock, advance_now=now)
    fired.update(segment_triggers.fire(flows, clock, advance_now=now))  # enters/leaves a segment
    report["enrolled"] = {"cart_abandoned": carts_enrolled, **fired}
    report["ended_flows_exited"] = finish_ended_flows(clock)
    report["jobs_started"] = start_scheduled_jobs(clock)
    report["jobs_resumed"] = resume_stalled_jobs(clock)
    report["scores_decayed"] = scoring.decay(clock)  # engine/scoring.py
    report["ab_winners"] = ab_winner.decide(clock)  # engine/ab_winner.py
    report["imports_resumed"] = resume_stalled_imports(clock)
    report.update(email_housekeeping(clock))
    return report


# --- due enrollments ------------------------------------------------------------------------


def advance_due(clock, now=None):
    """Claim due enrollments batch by batch; each batch becomes one advance task.

    Per batch: the claim (engine-core's ``claim_due``) plus one enqueue — constant however
    many contacts are due. Returns the number of enrollments handed out.
    """
    from wagtail_flows.engine.advance import claim_due

    size, handed = batch_size(), 0
    for _ in range(max(1, int(flows_settings.SWEEP_MAX_BATCHES))):
        ids = claim_due(size, now=clock)
        if not ids:
            break
        enqueue(ADVANCE_BATCH_FUNC, list(ids), ids.token, now)
        handed += len(ids)
        if len(ids) < size:
            break
    return handed


# --- lost dispatches ------------------------------------------------------------------------


def redispatch_pending(clock):
    """Dispatch again events still marked ``pending_dispatch`` after a grace period."""
    grace = timedelta(minutes=int(flows_settings.REDISPATCH_AFTER_MINUTES))
    ids = list(
        Event.objects.filter(pending_dispatch=True, created_at__lt=clock - grace)
        .order_by("created_at")
        .values_list("pk", flat=True)[: batch_size()]
    )
    if ids:
        enqueue(DISPATCH_BATCH_FUNC, ids)
    return len(ids)


# --- live flows -------------------------------------------------------------------------------


def live_flows_with_sweep_triggers(clock):
    """Live flows within their dates that have a time-based trigger, with those triggers."""
    from wagtail_flows.flows.blocks import SWEEP_TRIGGERS

    flows = Flow.objects.filter(status=FlowStatus.LIVE).exclude(starts_at__gt=clock)
    flows = flows.exclude(ends_at__lte=clock)
    found = []
    for flow in flows:
        triggers = [t for t in flow.triggers if t.block_type in SWEEP_TRIGGERS]
        if triggers:
            found.append((flow, triggers))
    return found


def flow_since(flow):
    """Only what happened while the flow was live counts (no flood of old history)."""
    return flow.activated_at or flow.created_at


# --- abandoned carts -------------------------------------------------------------------------


def emit_abandoned_carts(flows, clock, advance_now=None):
    """Carts whose last update is older than a live flow's ``after_hours`` with no order
    since: record one ``cart_abandoned`` event per cart (and threshold) and enroll the flows
    with that threshold — per threshold, one batch in one transaction and a constant number
    of queries. Returns ``(events, enrolled)``."""
    by_hours = {}
    for flow, triggers in flows:
        for trigger in triggers:
            if trigger.block_type == "cart_abandoned":
                hours = int(trigger.value.get("after_hours") or 1)
                by_hours.setdefault(hours, []).append(flow)
    events = enrolled = 0
    for hours, hour_flows in by_hours.items():
        since = min(flow_since(flow) for flow in hour_flows)
        carts = list(abandoned_carts(hours, since, clock)[: batch_size()])
        if not carts:
            continue
        with transaction.atomic():
            reported = list(zip(carts, record_abandoned(carts, hours, clock), strict=True))
            for flow in hour_flows:
                enrolled += _enroll_carts(flow, reported, clock, advance_now)
        events += len(reported)
    return events, enrolled


def abandoned_carts(hours, since, clock):
    """The latest ``cart_updated`` event of each abandoned, not yet reported cart."""
    same_cart = {"contact": OuterRef("contact"), "object_id": OuterRef("object_id")}
    later_update = Event.objects.filter(
        kind=EventKind.CART_UPDATED, created_at__gt=OuterRef("created_at"), **same_cart
    )
    later_order = Event.objects.filter(
        kind=EventKind.ORDER_PLACED,
        contact=OuterRef("contact"),
        created_at__gt=OuterRef("created_at"),
    )
    reported = Event.objects.filter(
        kind=EventKind.CART_ABANDONED, data__after_hours=hours, **same_cart
    )
    return (
        Event.objects.filter(
            kind=EventKind.CART_UPDATED,
            contact__isnull=False,
            created_at__gte=since,
            created_at__lte=clock - timedelta(hours=hours),
        )
        .filter(~Exists(later_update), ~Exists(later_order), ~Exists(reported))
        .select_related("contact")
        .order_by("created_at")
    )


def record_abandoned(carts, hours, clock):
    """One ``cart_abandoned`` event per cart, in one INSERT (``tracking.record_events``)."""
    from wagtail_flows.models.events import record_events

    rows = [
        {
            "contact": cart.contact,
            "object_id": cart.object_id,
            "value": cart.value,
            "data": _abandoned_data(cart, hours),
        }
        for cart in carts
    ]
    return record_events(EventKind.CART_ABANDONED, rows, at=clock)


def _abandoned_data(cart, hours):
    """The cart as it was left, and when; without its items if they no longer fit in an
    event (a cart at the size limit must still be reported, or it would hold up the sweep
    every minute)."""
    from wagtail_flows.models.events import clean_data

    marks = {"after_hours": hours, "cart_updated_at": cart.created_at.isoformat()}
    data = {**(cart.data or {}), **marks}
    try:
        return clean_data(data)
    except ValidationError:
        logger.warning(
            "Cart %s of contact %s: reported without its items", cart.pk, cart.contact_id
        )
        return marks


def _enroll_carts(flow, reported, clock, advance_now):
    """Enroll each contact whose cart was abandoned while the flow was live (their first
    such cart of the batch); the run's context holds the cart."""
    from wagtail_flows.engine.bulk import enroll_batch
    from wagtail_flows.engine.dispatch import event_context

    first = {}
    for cart, event in reported:
        if cart.created_at >= flow_since(flow):
            first.setdefault(event.contact_id, event)
    contacts = [event.contact for event in first.values()]

    def context_for(contact):
        event = first[contact.pk]
        return event_context(event), event

    started = enroll_batch(
        flow, contacts, context_for=context_for, now=clock, advance_now=advance_now
    )
    return len(started)


# --- housekeeping -----------------------------------------------------------------------------


def finish_ended_flows(clock):
    """Open runs of flows past their end date finish as exited ("flow ended")."""
    from wagtail_flows.engine import advance

    return advance.finish_ended_flows(now=clock, limit=batch_size())


def start_scheduled_jobs(clock):
    from wagtail_flows.engine.enroll import start_due_jobs

    return start_due_jobs(clock)


def resume_stalled_jobs(clock):
    from wagtail_flows.engine.enroll import resume_stalled_jobs as resume

    stalled = timedelta(minutes=int(flows_settings.ENROLLMENT_JOB_STALLED_MINUTES))
    return resume(clock, stalled)


def email_housekeeping(clock):
    """Sends that never finished are marked "unknown" (never resent); queued messages whose
    time came (send window, frequency cap) or whose delivery task was lost are delivered."""

    report = {"sends_unknown": mark_stale_sending(clock)}
    enqueue(DELIVER_DUE_FUNC, clock)
    return report
