"""The automatic A/B winner: the sweep decides, ``run_split`` follows.

A split whose editor chose "Pick the winner on" (opened / clicked / reached the goal) is
looked at by every sweep while its flow is live and it has no decision yet. Per split: one
aggregate query for the variants' figures (``variant_counts``, shared with the report), and
only when a variant wins, one locked read, one compare-and-set update and one audit-log entry.
The decision is stored once in ``Flow.ab_decisions[split id]``; from then on every new
entrant goes to the winner (engine/steps.py ``run_split``; the simulator runs the same code).
Contacts already in a variant stay there.

Why in the sweep and not at the split step: deciding costs an aggregate over every run of
the split; at the step it would run once per entrant, inside the advancing transaction.
"""

import datetime as dt
import logging

from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone
from django.utils.dateparse import parse_date

from wagtail_flows.flows import abtest
from wagtail_flows.flows.tree import tree_for
from wagtail_flows.models import Flow, StepRun
from wagtail_flows.models.enrollments import EnrollmentStatus
from wagtail_flows.models.flows import FlowStatus

logger = logging.getLogger(__name__)

LOG_ACTION = "wagtail_flows.ab_winner"


def variant_counts(flow_id, split_ids, cohort=None):
    """{(split id, variant branch): {"entered", "opened", "clicked", "converted"}}: runs
    that went through each variant, and of them how many opened / clicked an email sent
    after the split, or reached the goal. One query whatever the number of splits."""
    if not split_ids:
        return {}
    after_split = Q(enrollment__messages__created_at__gte=F("created_at"))
    rows = (
        StepRun.objects.filter(cohort or Q(), enrollment__flow_id=flow_id, step_id__in=split_ids)
        .exclude(outcome="failed")
        .values("step_id", "branch")
        .annotate(
            entered=Count("enrollment", distinct=True),
            converted=Count(
                "enrollment",
                filter=Q(enrollment__status=EnrollmentStatus.CONVERTED),
                distinct=True,
            ),
            clicked=Count(
                "enrollment",
                filter=after_split & Q(enrollment__messages__clicks__gt=0),
                distinct=True,
            ),
            opened=Count(
                "enrollment",
                filter=after_split
                & (Q(enrollment__messages__opens__gt=0) | Q(enrollment__messages__clicks__gt=0)),
                distinct=True,
            ),
        )
        .order_by()
    )
    return {(r["step_id"], r["branch"]): r for r in rows}


def branch_of(variant):
    """The StepRun.branch a variant's runs are recorded under (engine/steps.py)."""
    return (variant.label or variant.id)[:64]


def variant_name(variant, index):
    return variant.label or chr(ord("A") + index)


# --- the sweep's part ------------------------------------------------------------------------


def decide(clock=None):
    """Decide every undecided auto-winner split of the live flows; returns decisions made."""
    clock = clock or timezone.now()
    decided = 0
    for flow in Flow.objects.filter(status=FlowStatus.LIVE):
        splits = undecided_splits(flow)
        if not splits:
            continue
        counts = variant_counts(flow.pk, [s.id for s in splits])
        for split in splits:
            try:
                decided += decide_split(flow, split, counts, clock)
            except Exception:
                logger.exception("Could not decide the A/B split %s of flow %s", split.id, flow.pk)
    return decided


def undecided_splits(flow):
    decisions = flow.ab_decisions or {}
    return [
        step
        for step in tree_for(flow).walk()
        if step.type == "split"
        and step.get("auto_winner") in abtest.METRICS
        and step.id not in decisions
        and len(step.variants) >= 2
    ]


def arms_of(split, counts):
    metric = split.get("auto_winner")
    arms = []
    for index, variant in enumerate(split.variants):
        row = counts.get((split.id, branch_of(variant)), {})
        arms.append(
            abtest.Arm(
                variant.id,
                variant_name(variant, index),
                row.get("entered", 0),
                row.get(metric, 0),
            )
        )
    return arms


def decide_split(flow, split, counts, clock):
    arms = arms_of(split, counts)
    winner = abtest.pick_winner(
        arms,
        minimum=split.get("decide_after_contacts") or None,
        decide_on=_as_date(split.get("decide_on")),
        today=timezone.localdate(clock),
    )
    if winner is None:
        return 0
    decision = {
        "variant": winner.arm.key,
        "name": winner.arm.name,
        "metric": split.get("auto_winner"),
        "p": round(winner.p_value, 4),
        "decided_at": clock.isoformat(),
        "figures": [
            {"name": a.name, "entered": a.entered, "successes": a.successes} for a in arms
        ],
    }
    return int(store_decision(flow, split.id, decision))


def store_decision(flow, split_id, decision):
    """Compare-and-set: only the first sweep to decide this split writes (and logs) it."""
    with transaction.atomic():
        current = (
            Flow.objects.select_for_update()
            .filter(pk=flow.pk)
            .values_list("ab_decisions", flat=True)
        )
        decisions = dict(current.first() or {})
        if split_id in decisions:
            return False
        decisions[split_id] = decision
        written = (
            Flow.objects.filter(pk=flow.pk)
            .exclude(ab_decisions__has_key=split_id)
            .update(ab_decisions=decisions)
        )
        if not written:
            return False
        flow.ab_decisions = decisions
        _log(flow, decision)
    return True


def _log(flow, decision):
    from wagtail.log_actions import log

    data = {"split": decision, "reason": decision_sentence(decision)}
    log(flow, LOG_ACTION, data=data)


def _as_date(value):
    if isinstance(value, dt.date):
        return value
    return parse_date(value) if value else None


# --- in words --------------------------------------------------------------------------------


def decision_sentence(decision):
    """“Variant B won on clicks on 12 Dec 2026 (p = 0.01; 412 vs 398 contacts): new contacts
    all go to B.”"""
    from django.utils.formats import date_format
    from django.utils.translation import gettext as _

    metric = {
        "opened": _("opens"),
        "clicked": _("clicks"),
        "converted": _("the goal"),
    }.get(decision.get("metric"), decision.get("metric", ""))
    decided_at = dt.datetime.fromisoformat(decision["decided_at"])
    figures = decision.get("figures") or []
    return _(
        "Variant %(name)s won on %(metric)s on %(day)s (p %(p)s; %(contacts)s contacts): "
        "new contacts all go to %(name)s."
    ) % {
        "name": decision.get("name", ""),
        "metric": metric,
        "day": date_format(timezone.localtime(decided_at), "j M Y"),
        "p": _p_text(decision.get("p", 0)),
        "contacts": _(" vs ").join(str(f["entered"]) for f in figures),
    }


def _p_text(p):
    return "< 0.001" if p < 0.001 else f"= {p:.2g}"
