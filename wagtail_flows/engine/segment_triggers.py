"""The "enters a segment" and "leaves a segment" triggers, fired by the sweep.

A segment is saved conditions: nothing announces that a contact came into it or dropped
out — a tag added, a score crossing a line, or only time passing ("viewed the pricing page
in the last 7 days" lets them go a week later). So each sweep compares, for every segment
a live flow's trigger names, who matches now (``Segment.contacts(now)``, in the database)
with who matched at the last look (the ``SegmentMember`` rows):

    entered = now − stored        left = stored − now

The differences are written in bulk and the contacts enroll, through
``sweep_triggers.enroll_found`` (entry conditions, suppression at entry, re-entry policy,
dates, one open run per contact), in the flows listening to that segment.

- One look per segment per sweep, however many flows listen, in one transaction with the
  runs it starts: if it fails, the same differences come up at the next sweep (nothing is
  lost, nobody enrolls twice). Where the database locks rows, a segment another sweep is
  looking at is skipped until the next.
- The first look (``members_synced_at`` empty) only takes the snapshot: contacts already in
  the segment when the first flow listening to it goes live (or reaches its start date)
  start nothing — to take them too, enroll the segment by hand. A large segment's snapshot
  takes a batch per sweep; nobody starts until it is complete.
- When no live flow listens to a segment any more, its ``members_synced_at`` is cleared: a
  flow listening again later starts from a new snapshot, not from a stale one that would
  start everyone who came in meanwhile (as an event while a flow is paused starts nothing).
- At most one batch (``SWEEP_BATCH_SIZE``) of entries and one of departures per segment and
  sweep, the rest at the next sweeps: the queries per segment do not grow with contacts.
- No event is recorded: entering a segment is no activity of the contact's, and the run's
  context names the segment (``{"trigger": "segment_entered", "segment": "Hot leads",
  "segment_id": 3}``): the contact's timeline shows "Entered flow “…” on entering the
  segment “Hot leads”".
"""

from django.db import connection, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from wagtail_flows.conf import flows_settings
from wagtail_flows.engine.sweep_triggers import enroll_found
from wagtail_flows.flows.describe import describe
from wagtail_flows.flows.kinds import SEGMENT_TRIGGERS
from wagtail_flows.models import Contact, Flow, Segment, SegmentMember
from wagtail_flows.models.flows import FlowStatus

ENTERED, LEFT = "segment_entered", "segment_left"


def fire(flows, clock, advance_now=None):
    """Look at each segment the live ``flows`` (``[(flow, sweep triggers)]``) listen to and
    enroll who entered or left it; returns ``{"segment_entered": n, "segment_left": n}``."""
    counts = dict.fromkeys(sorted(SEGMENT_TRIGGERS), 0)
    by_segment = listeners(flows)
    forget_unheard(by_segment)
    for segment_id, listening in by_segment.items():
        with transaction.atomic():
            segment = _claim(segment_id)
            if segment is None:  # deleted, or another sweep is looking at it
                continue
            changes = sync(segment, clock)
            if changes is None:  # the first look: a snapshot, nobody starts
                continue
            context = {"segment": segment.name, "segment_id": segment.pk}
            for flow, trigger in listening:
                contact_ids = changes[trigger.block_type]
                if contact_ids:
                    counts[trigger.block_type] += _enroll(
                        flow, trigger, contact_ids, context, clock, advance_now
                    )
    return counts


def listeners(flows):
    """``{segment id: [(flow, trigger)]}`` for the segment triggers among ``flows`` (their
    segments are already loaded with the triggers: no query)."""
    by_segment = {}
    for flow, triggers in flows:
        for trigger in triggers:
            if trigger.block_type not in SEGMENT_TRIGGERS:
                continue
            segment = (trigger.value or {}).get("segment")
            if segment is not None:
                by_segment.setdefault(segment.pk, []).append((flow, trigger))
    return by_segment


def forget_unheard(by_segment):
    """Segments no live flow listens to lose their snapshot's date (one UPDATE)."""
    Segment.objects.filter(members_synced_at__isnull=False).exclude(
        pk__in=list(by_segment)
    ).update(members_synced_at=None)


def _claim(segment_id):
    segments = Segment.objects.filter(pk=segment_id)
    if connection.features.has_select_for_update_skip_locked:
        segments = segments.select_for_update(skip_locked=True)
    return segments.first()


def sync(segment, clock):
    """Store who is in ``segment`` now, a batch of changes at most; returns the contact ids
    ``{"segment_entered": [...], "segment_left": [...]}``, or None while the first snapshot
    is being taken. Five queries or fewer, however many contacts changed."""
    size = max(1, int(flows_settings.SWEEP_BATCH_SIZE))
    current = segment.contacts(clock)
    stored = SegmentMember.objects.filter(segment=segment)
    entered = list(
        current.exclude(pk__in=stored.values("contact_id"))
        .order_by("pk")
        .values_list("pk", flat=True)[:size]
    )
    left = list(
        stored.exclude(contact_id__in=current.values("pk"))
        .order_by("pk")
        .values_list("pk", "contact_id")[:size]
    )
    if entered:
        SegmentMember.objects.bulk_create(
            [SegmentMember(segment=segment, contact_id=pk, entered_at=clock) for pk in entered],
            ignore_conflicts=True,
        )
    if left:
        # One DELETE (Django's fast delete: the rows have no dependants, no signals).
        SegmentMember.objects.filter(pk__in=[pk for pk, _contact in left]).delete()
    first_look = segment.members_synced_at is None
    caught_up = len(entered) < size and len(left) < size
    if not first_look or caught_up:
        Segment.objects.filter(pk=segment.pk).update(members_synced_at=clock)
    if first_look:
        return None
    return {ENTERED: entered, LEFT: [contact for _pk, contact in left]}


def _enroll(flow, trigger, contact_ids, context, clock, advance_now):
    contacts = Contact.objects.filter(pk__in=contact_ids)
    return enroll_found(flow, trigger, contacts, context, clock, advance_now)


# --- the admin: deleting a segment, the flow tester ---------------------------------------


def flows_listening_to(segment):
    """The live and paused flows whose enters/leaves trigger names ``segment`` (one query;
    read from the raw streams). Deleting the segment would silently stop them."""
    flows = Flow.objects.filter(status__in=(FlowStatus.LIVE, FlowStatus.PAUSED)).order_by("name")
    return [flow for flow in flows if _names(flow, segment.pk)]


def _names(flow, segment_id):
    for item in flow.triggers.raw_data:
        value = item.get("value") or {}
        if item.get("type") in SEGMENT_TRIGGERS and str(value.get("segment")) == str(segment_id):
            return True
    return False


SAMPLE_NOTES = {
    ENTERED: gettext_lazy("%(trigger)s: tested as if the sample contact had just entered it."),
    LEFT: gettext_lazy("%(trigger)s: tested as if the sample contact had just left it."),
}


def trigger_notes(flow, contact, now=None):
    """For the flow tester, one line per segment trigger: is ``contact`` in that segment now?
    (``contact`` None: the sample contact, tested as if it had just entered or left.) One
    query per segment."""
    notes = []
    for trigger in flow.triggers:
        if trigger.block_type not in SEGMENT_TRIGGERS:
            continue
        segment = (trigger.value or {}).get("segment")
        said = describe(trigger)
        if segment is None:
            notes.append(_("%(trigger)s: no segment is chosen.") % {"trigger": said})
        elif contact is None:  # made (with the tags asked for) inside the simulation only
            text = SAMPLE_NOTES[trigger.block_type]
            notes.append(text % {"trigger": said})
        else:
            inside = segment.contacts(now).filter(pk=contact.pk).exists()
            text = _("%(trigger)s: %(who)s is in it now.")
            if not inside:
                text = _("%(trigger)s: %(who)s is not in it now.")
            notes.append(text % {"trigger": said, "who": contact.email})
    return notes
