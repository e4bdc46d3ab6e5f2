"""The listening index: which event kinds any live (or paused) flow or active scoring rule
needs, and the lead-scoring settings (grade bands, decay) that every score change reads.

``is_listened(kind)`` answers capture's question "does any flow care about this kind?" from
an index kept in each process. The index is rebuilt from the database only when flows
change: saving, deleting or changing the status of a flow bumps a version number in
Django's default cache; each process compares its version with the cache's at most every
``LISTEN_INDEX_CHECK_SECONDS`` (a cache read, never a database query). With a per-process
cache (LocMemCache) changes made in another process are seen only there, so sites with
several processes need a shared cache (Redis, Memcached) — see docs/engine.md.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.core.cache import cache
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone

from wagtail_flows.conf import flows_settings
from wagtail_flows.flows import tree
from wagtail_flows.flows.kinds import conditions_event_kinds, trigger_event_kinds
from wagtail_flows.models.flows import Flow
from wagtail_flows.models.scoring import ScoringRule, ScoringSettings
from wagtail_flows.signals import flow_status_changed
from wagtail_flows.vocabulary import EventKind, FlowKind, FlowStatus

logger = logging.getLogger("wagtail_flows.engine.dispatch")


VERSION_KEY = "wagtail_flows:flows-version"


@dataclass(frozen=True)
class Scoring:
    """What scoring needs without a query: the kinds active rules score, the grade bands
    and the decay of Settings › Lead scoring (its field defaults until it is saved)."""

    kinds: frozenset = frozenset()
    grade_a: int = 100
    grade_b: int = 50
    grade_c: int = 20
    decay: str = "off"
    decay_points: int = 10
    decay_after_days: int = 30
    decay_percent: int = 10

    def grade_for(self, score):
        return ScoringSettings.grade_for(self, score)


@dataclass
class ListenIndex:
    version: object
    checked_at: datetime
    kinds: frozenset = field(default_factory=frozenset)
    scoring: Scoring = field(default_factory=Scoring)


_index = None


def kinds_listened(flow):
    """Event kinds this flow reacts to: triggers (when live), goal, exit, waiting branches,
    and ``unsubscribed`` when it sends marketing email."""
    kinds = set()
    if flow.status == FlowStatus.LIVE:
        for child in flow.triggers:
            kinds |= trigger_event_kinds(child.block_type)
    kinds |= conditions_event_kinds(flow.goal)
    kinds |= conditions_event_kinds(flow.exit_conditions)
    for step in tree.tree_for(flow).walk():
        if step.type == "branch" and step.get("wait_up_to_amount"):
            kinds |= conditions_event_kinds(step.get("conditions"))
    if sends_marketing_email(flow):
        kinds.add(EventKind.UNSUBSCRIBED)
    return kinds


def sends_marketing_email(flow):
    return flow.kind == FlowKind.MARKETING and any(
        step.type == "send_email" for step in tree.tree_for(flow).walk()
    )


def _build_index(version, now):
    kinds = set()
    for flow in Flow.objects.filter(status__in=[FlowStatus.LIVE, FlowStatus.PAUSED]):
        try:
            kinds |= kinds_listened(flow)
        except Exception:  # a broken flow must not break capture for every page
            logger.exception("Cannot read the triggers of flow %s", flow.pk)
    scoring = load_scoring()
    kinds |= scoring.kinds
    return ListenIndex(
        version=version, checked_at=now, kinds=frozenset(k for k in kinds if k), scoring=scoring
    )


SCORING_FIELDS = (
    "grade_a",
    "grade_b",
    "grade_c",
    "decay",
    "decay_points",
    "decay_after_days",
    "decay_percent",
)


def load_scoring():
    """The scoring part of the index, from the database (two queries; no row is created)."""
    rules = ScoringRule.objects.filter(active=True).order_by()
    kinds = rules.values_list("event", flat=True).distinct()
    row = ScoringSettings.objects.order_by("pk").values(*SCORING_FIELDS).first() or {}
    return Scoring(kinds=frozenset(kinds), **row)


def scoring():
    """Scoring's rule kinds, grade bands and decay: no query once the index is warm."""
    return current_index().scoring


def current_index():
    global _index
    now = timezone.now()
    index = _index
    if index is not None:
        age = (now - index.checked_at).total_seconds()
        if 0 <= age < flows_settings.LISTEN_INDEX_CHECK_SECONDS:
            return index
    version = cache.get(VERSION_KEY)
    if index is None or version != index.version:
        index = _build_index(version, now)
    else:
        index.checked_at = now
    _index = index
    return index


def is_listened(kind):
    """True if a live (or paused) flow's trigger, goal, exit or waiting branch needs events
    of this kind. No database query once the index is warm."""
    return kind in current_index().kinds


def invalidate():
    """Flows changed: rebuild here at once, and tell other processes through the cache."""
    global _index
    _index = None
    try:
        cache.incr(VERSION_KEY)
    except ValueError:
        cache.set(VERSION_KEY, 1, timeout=None)


def reset_index(kinds=()):
    """Set this process's index outright (tests: no flows, rules or settings exist between
    tests)."""
    global _index
    tree._cache.clear()
    invalidate()
    _index = ListenIndex(cache.get(VERSION_KEY), timezone.now(), frozenset(kinds))


@receiver(post_save, sender=Flow, dispatch_uid="wagtail_flows_engine_flow_saved")
@receiver(post_delete, sender=Flow, dispatch_uid="wagtail_flows_engine_flow_deleted")
@receiver(post_save, sender=ScoringRule, dispatch_uid="wagtail_flows_scoring_rule_saved")
@receiver(post_delete, sender=ScoringRule, dispatch_uid="wagtail_flows_scoring_rule_deleted")
@receiver(post_save, sender=ScoringSettings, dispatch_uid="wagtail_flows_scoring_saved")
def _flow_changed(sender, **kwargs):
    invalidate()


@receiver(flow_status_changed, dispatch_uid="wagtail_flows_listening_flow_status")
def _flow_status_changed(sender, **kwargs):
    invalidate()
