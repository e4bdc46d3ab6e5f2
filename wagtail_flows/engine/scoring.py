"""Lead scoring: rules scored at dispatch, decay in the sweep, regrading when bands change.

- ``score_event`` runs in the dispatch of each captured event (``engine.dispatch``): the
  active rules for the event's kind that match it give (or take) their points, each within
  its cap, through ``Contact.change_score`` (which records ``score_changed`` naming the rule
  and regrades). Capture hands an event over only when a flow or an active rule listens for
  its kind (``models.listening``): with no rule for a kind, scoring costs no query at all.
- ``decay`` runs in the sweep: contacts due lose points in batches, with a constant number
  of queries per batch (select, one UPDATE, one INSERT of ``score_changed``, one INSERT of
  ``grade_changed``).
- Saving Settings › Lead scoring with other bands regrades every contact in a background
  task: one set-based UPDATE, and no ``grade_changed`` events (see ``regrade_contacts``).
"""

import contextlib
import logging
from datetime import timedelta

from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import Case, F, Q, Sum, Value, When
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver

from wagtail_flows.conf import flows_settings
from wagtail_flows.models import Contact, Event
from wagtail_flows.models.listening import load_scoring, scoring
from wagtail_flows.models.scoring import ScoringRule, ScoringSettings
from wagtail_flows.vocabulary import DecayMode, EventKind

logger = logging.getLogger(__name__)

PERCENT_PERIOD = timedelta(days=30)  # "a month" of percentage decay
REGRADE_FUNC = "wagtail_flows.engine.scoring.regrade_contacts"
BAND_FIELDS = ("grade_a", "grade_b", "grade_c")
DECAY_BATCH_MAX = 1000


# --- rules, at dispatch ---------------------------------------------------------------------


def score_event(event):
    """Apply the active rules for ``event`` to its contact; returns the points given.

    Called once per event, in the dispatch transaction that clears its ``pending_dispatch``
    mark (a repeated dispatch finds the mark cleared and scores nothing again)."""
    if event.contact_id is None or event.kind not in scoring().kinds:
        return 0
    rules = ScoringRule.objects.filter(active=True, event=event.kind).select_related("page")
    total = 0
    for rule in rules.order_by("pk"):
        if not rule_matches(rule, event):
            continue
        with _one_rule(rule, event):
            points = capped_points(rule, event)
            if points and event.contact.change_score(points, at=event.created_at, rule=rule):
                total += points
    return total


@contextlib.contextmanager
def _one_rule(rule, event):
    """A rule that fails (a bug, a bad value) is logged and skipped: it cannot keep the
    event from the flows. A transient database failure aborts the dispatch (redone later)."""
    try:
        with transaction.atomic():
            yield
    except (OperationalError, InterfaceError):
        raise
    except Exception:
        logger.exception("Scoring rule %s could not score event %s", rule.pk, event.pk)


def rule_matches(rule, event):
    """True when ``event`` (of the rule's kind) is one the rule scores."""
    if event.kind != rule.event:
        return False
    if rule.event == EventKind.PAGE_VIEWED:
        return _page_matches(rule, event)
    if rule.event == EventKind.FORM_SUBMITTED:
        return rule.page_id is None or event.page_id == rule.page_id
    if rule.event == EventKind.DOCUMENT_DOWNLOADED:
        return rule.document_id is None or str(event.object_id) == str(rule.document_id)
    if rule.event == EventKind.CUSTOM:
        return (event.name or "").lower() == rule.custom_name.strip().lower()
    return True  # email opened, link clicked, order placed: any


def _page_matches(rule, event):
    if rule.page_id is None or event.page_id == rule.page_id:
        return True
    if not rule.include_subpages or event.page_id is None or event.page is None:
        return False
    # treebeard: a page's descendants have paths starting with its path
    return event.page.path.startswith(rule.page.path)


def capped_points(rule, event):
    """The rule's points, cut so that one contact never gets more than ``cap_points`` from
    it (in absolute value: a negative rule takes at most that many) within ``cap_days``."""
    if rule.cap_points is None:
        return rule.points
    _lock_contact(event.contact_id)
    since = event.created_at - timedelta(days=rule.cap_days)
    given = (
        Event.objects.filter(
            contact_id=event.contact_id,
            kind=EventKind.SCORE_CHANGED,
            object_id=str(rule.pk),
            created_at__gt=since,
            created_at__lte=event.created_at,
        )
        .order_by()
        .aggregate(total=Sum("value"))["total"]
    )
    room = rule.cap_points - abs(int(given or 0))
    if room <= 0:
        return 0
    sign = 1 if rule.points > 0 else -1
    return sign * min(abs(rule.points), room)


def _lock_contact(contact_id):
    """Two events of one contact dispatched at once must not both find room under a cap:
    the contact's row is locked until the dispatch commits (SQLite writes one at a time)."""
    if connection.features.has_select_for_update:
        list(Contact.objects.select_for_update().filter(pk=contact_id).values_list("pk"))


# --- grades -----------------------------------------------------------------------------------


def grade_case(bands, score="score"):
    """The grade of ``score`` (a field name or expression) in SQL, for set-based updates."""
    return Case(
        When(**{f"{score}__gte": bands.grade_a}, then=Value("A")),
        When(**{f"{score}__gte": bands.grade_b}, then=Value("B")),
        When(**{f"{score}__gte": bands.grade_c}, then=Value("C")),
        default=Value("D"),
    )


def regrade_contacts():
    """Put every contact in the band of its score: one UPDATE of the contacts whose grade
    is not the one their score gives. Returns the number regraded.

    No ``grade_changed`` event is recorded: moving the bands is a decision about the
    grading, not something a contact did, and a change that regrades thousands of contacts
    must not start thousands of "grade becomes A" runs (every one notifying sales) nor fill
    every timeline. Flows and segments read the new grades at once."""
    bands = load_scoring()
    grade = grade_case(bands)
    return Contact.objects.exclude(grade=grade).update(grade=grade)


@receiver(pre_save, sender=ScoringSettings, dispatch_uid="wagtail_flows_scoring_bands_before")
def _remember_bands(sender, instance, **kwargs):
    old = (
        sender.objects.filter(pk=instance.pk).values(*BAND_FIELDS).first() if instance.pk else None
    )
    instance._bands_before = old


@receiver(post_save, sender=ScoringSettings, dispatch_uid="wagtail_flows_scoring_bands_after")
def _bands_saved(sender, instance, created, **kwargs):
    before = getattr(instance, "_bands_before", None)
    now = {name: getattr(instance, name) for name in BAND_FIELDS}
    if before == now:
        return
    from wagtail_flows.engine.queue import enqueue

    transaction.on_commit(lambda: enqueue(REGRADE_FUNC))


# --- decay, in the sweep ------------------------------------------------------------------------


def decay(clock):
    """Decay the scores due at ``clock`` (Settings › Lead scoring), batch by batch; returns
    the number of contacts that lost points. No query when decay is off."""
    settings = scoring()
    if settings.decay not in (DecayMode.POINTS, DecayMode.PERCENT):
        return 0
    # at most DECAY_BATCH_MAX: the CASE update binds 5 parameters a contact, within every
    # database's limit (SQLite 32,766; PostgreSQL 65,535)
    size = min(max(1, int(flows_settings.SWEEP_BATCH_SIZE)), DECAY_BATCH_MAX)
    decayed = 0
    for _ in range(max(1, int(flows_settings.SWEEP_MAX_BATCHES))):
        seen, lost = decay_batch(settings, clock, size)
        decayed += lost
        if seen < size:
            break
    return decayed


def due_for_decay(settings, clock):
    """Contacts with points whose decay is due: POINTS after ``decay_after_days`` without
    activity and without decay; PERCENT once a month (their first month after creation)."""
    contacts = Contact.objects.filter(score__gt=0)
    if settings.decay == DecayMode.POINTS:
        since = clock - timedelta(days=settings.decay_after_days)
        not_lately = Q(score_decayed_at__isnull=True) | Q(score_decayed_at__lte=since)
        return contacts.filter(not_lately, last_activity_at__lte=since).order_by(
            "last_activity_at", "pk"
        )
    since = clock - PERCENT_PERIOD
    due = Q(score_decayed_at__lte=since) | Q(score_decayed_at__isnull=True, created_at__lte=since)
    return contacts.filter(due).order_by("pk")


def points_lost(settings, score):
    if settings.decay == DecayMode.POINTS:
        return min(settings.decay_points, score)
    return min((score * settings.decay_percent + 50) // 100, score)  # rounded half up


def decay_batch(settings, clock, size):
    """One batch: (contacts seen, contacts that lost points), in four queries at most."""
    with transaction.atomic():
        due = due_for_decay(settings, clock)
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        rows = list(due.values_list("pk", "score", "grade")[:size])
        if not rows:
            return 0, 0
        changes = []
        for pk, score, grade in rows:
            lost = points_lost(settings, score)
            changes.append((pk, score, score - lost, grade, settings.grade_for(score - lost)))
        _write_decay(changes, clock)
        _record_decay(changes, settings, clock)
    return len(rows), sum(1 for _pk, old, new, _g, _ng in changes if new != old)


def _write_decay(changes, clock):
    """One UPDATE: each contact's new score and grade by CASE on its id, and the decay
    stamp (also on contacts that lost nothing, so they are not picked again this period)."""
    moved = [c for c in changes if c[2] != c[1]]
    values = {"score_decayed_at": clock}
    if moved:
        values["score"] = Case(
            *[When(pk=pk, then=Value(new)) for pk, _o, new, _g, _n in moved], default=F("score")
        )
        values["grade"] = Case(
            *[When(pk=pk, then=Value(grade)) for pk, _o, _n, _g, grade in moved],
            default=F("grade"),
        )
    Contact.objects.filter(pk__in=[c[0] for c in changes]).update(**values)


def _record_decay(changes, settings, clock):
    """One INSERT of ``score_changed`` (source "decay") and one of ``grade_changed``."""
    from wagtail_flows.models.events import record_events

    scores, grades = [], []
    for pk, old, new, grade, new_grade in changes:
        if new == old:
            continue
        contact = Contact(pk=pk)
        data = {"delta": new - old, "to": new, "source": "decay", "mode": settings.decay}
        scores.append({"contact": contact, "value": new - old, "data": data})
        if new_grade != grade:
            data = {"from": grade, "to": new_grade}
            grades.append({"contact": contact, "name": new_grade, "data": data})
    if scores:
        record_events(EventKind.SCORE_CHANGED, scores, at=clock)
    if grades:
        record_events(EventKind.GRADE_CHANGED, grades, at=clock)
