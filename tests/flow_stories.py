"""The harness of the flow-template stories.

A ``Story`` feeds events through the real entry points (``record_event`` then dispatch) and
moves a simulated clock with the sweep. ``Story.assert_simulator_agrees`` then checks that
the simulator, run from the moment a contact's run started — with the contact as it was then,
the run's trigger event, and the events the story fed afterwards — predicts the path the
engine took: the same steps (ids, outcomes, branches, times), the same emails (step, time,
subject) and the same end.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import Max, Min
from django.utils import timezone

from wagtail_flows import capture as tracking
from wagtail_flows.emails import merge_tags
from wagtail_flows.emails.rendering import merge_data
from wagtail_flows.engine.dispatch import dispatch_event
from wagtail_flows.engine.simulate import SimEvent, simulate
from wagtail_flows.engine.sweeps import run_sweep
from wagtail_flows.models import Contact, Enrollment, Event, Message
from wagtail_flows.models.contacts import ListMembership, TaggedContact
from wagtail_flows.models.email_pages import email_pages
from wagtail_flows.models.enrollments import OPEN_STATUSES

CONTACT_FIELDS = [f.attname for f in Contact._meta.concrete_fields if not f.primary_key]


@dataclass(frozen=True)
class Snapshot:
    """A contact as it was at one moment: its row, tag ids and list ids, and the last event
    and enrollment (of anyone) that existed then."""

    fields: dict
    tags: frozenset
    lists: frozenset
    last_event: int
    last_enrollment: int


class Story:
    """Events in through capture and dispatch, time moved by the sweep.

    Contacts the story feeds events to are watched from then on (``watch`` adds others,
    e.g. contacts a sweep will enroll): before each dispatch and sweep their state is
    snapshotted, so the simulator can later start from the state their run started in.
    """

    def __init__(self):
        self.now = timezone.now().replace(microsecond=0) + timedelta(minutes=1)
        self.fed = {}  # contact pk -> [(event, when the story dispatched it)]
        self.snapshots = {}  # contact pk -> [Snapshot], oldest first

    # --- the clock --------------------------------------------------------------------------

    def at(self, **delta):
        """Move the clock, stopping at every wake-up on the way (as the sweep that runs every
        minute would); at each stop the sweep runs, then again for the runs it started (in
        production their advance task runs at once)."""
        target = self.now + timedelta(**delta)
        while (wake_up := self._next_wake_up(target)) is not None:
            self._sweep(wake_up)
        self._sweep(target)
        return self

    def until(self, when):
        return self.at(seconds=(when - self.now).total_seconds())

    def _next_wake_up(self, target):
        due = Enrollment.objects.filter(
            status__in=OPEN_STATUSES,
            flow__status="live",
            next_run_at__gt=self.now,
            next_run_at__lt=target,
        )
        return due.aggregate(first=Min("next_run_at"))["first"]

    def _sweep(self, when):
        self.now = when
        self._snapshot_watched()
        run_sweep(now=self.now)
        run_sweep(now=self.now)

    # --- events -----------------------------------------------------------------------------

    def event(self, kind, contact, **fields):
        event = tracking.record_event(kind, contact=contact, at=self.now, **fields)
        self.dispatch(event)
        return event

    def dispatch(self, event):
        self.fed.setdefault(event.contact_id, []).append((event, self.now))
        self.snapshots.setdefault(event.contact_id, [])
        self._snapshot_watched()
        dispatch_event(event.pk, now=self.now)
        run_sweep(now=self.now)
        return event

    def latest(self, contact, kind):
        """Dispatch the latest event of ``kind`` the contact's own methods recorded."""
        return self.dispatch(contact.events.filter(kind=kind).latest("pk"))

    def order(self, contact, sku="SKU-1", total="30.00"):
        items = [{"sku": sku, "name": "Thing", "price": total, "quantity": 1}]
        return self.event(
            "order_placed", contact, object_id="order-1", value=total, data={"items": items}
        )

    # --- snapshots ----------------------------------------------------------------------------

    def watch(self, *contacts):
        for contact in contacts:
            self.snapshots.setdefault(contact.pk, [])
        self._snapshot_watched()
        return self

    def _snapshot_watched(self):
        if not self.snapshots:
            return
        last_event = Event.objects.aggregate(last=Max("pk"))["last"] or 0
        last_enrollment = Enrollment.objects.aggregate(last=Max("pk"))["last"] or 0
        for pk, taken in self.snapshots.items():
            taken.append(
                Snapshot(
                    fields=Contact.objects.filter(pk=pk).values(*CONTACT_FIELDS).get(),
                    tags=frozenset(
                        TaggedContact.objects.filter(content_object_id=pk).values_list(
                            "tag_id", flat=True
                        )
                    ),
                    lists=frozenset(
                        ListMembership.objects.filter(contact_id=pk).values_list(
                            "contact_list_id", flat=True
                        )
                    ),
                    last_event=last_event,
                    last_enrollment=last_enrollment,
                )
            )

    def _snapshot_before(self, run):
        taken = [s for s in self.snapshots.get(run.contact_id, ()) if s.last_enrollment < run.pk]
        assert taken, f"{run.contact} was not watched before their run started"
        return taken[-1]

    # --- the simulator's prediction -------------------------------------------------------------

    def assert_simulator_agrees(self, flow, *contacts):
        """For every run of each contact in ``flow``, the simulator predicts its path."""
        for contact in contacts:
            runs = list(Enrollment.objects.filter(flow=flow, contact=contact).order_by("pk"))
            assert runs, f"{contact.email} never entered “{flow}”"
            for run in runs:
                taken = engine_path(run)
                predicted = self.predicted_path(run)
                assert predicted == taken, disagreement(run, taken, predicted)

    def predicted_path(self, run):
        """The simulator's path for ``run``: started when it started, with the contact as it
        was then and the events the story fed after, up to the story's present."""
        snapshot = self._snapshot_before(run)
        later = [
            sim_event(event, at)
            for event, at in self.fed.get(run.contact_id, ())
            if event.pk > snapshot.last_event
        ]
        trigger = sim_event(run.trigger_event) if run.trigger_event else None
        contact = run.contact
        with transaction.atomic():
            rewind(run, snapshot)
            contact.refresh_from_db()
            path = simulate(
                run.flow,
                contact,
                events=later,
                start=run.enrolled_at,
                until=self.now,
                trigger=trigger,
            )
            transaction.set_rollback(True)
        contact.refresh_from_db()
        return simulated_path(path)


def rewind(run, snapshot):
    """Put the contact back as it was when ``run`` started: its row, tags and lists; no
    event after that moment, nor the run's trigger event (the simulator records it again);
    no message or run of this flow from ``run`` on."""
    contact_id = run.contact_id
    Contact.objects.filter(pk=contact_id).update(**snapshot.fields)
    tagged = TaggedContact.objects.filter(content_object_id=contact_id)
    tagged.exclude(tag_id__in=snapshot.tags).delete()
    for tag_id in snapshot.tags - set(tagged.values_list("tag_id", flat=True)):
        TaggedContact.objects.create(content_object_id=contact_id, tag_id=tag_id)
    members = ListMembership.objects.filter(contact_id=contact_id)
    members.exclude(contact_list_id__in=snapshot.lists).delete()
    for list_id in snapshot.lists - set(members.values_list("contact_list_id", flat=True)):
        ListMembership.objects.create(contact_id=contact_id, contact_list_id=list_id)
    Event.objects.filter(contact_id=contact_id, pk__gt=snapshot.last_event).delete()
    Event.objects.filter(pk=run.trigger_event_id).delete()
    runs = Enrollment.objects.filter(flow=run.flow, contact_id=contact_id, pk__gte=run.pk)
    Message.objects.filter(enrollment__in=runs).delete()
    runs.delete()


def disagreement(run, taken, predicted):
    """Both paths, one line per step, email and end, times as offsets from the start."""
    start = run.enrolled_at
    return "\n".join(
        [f"The simulator disagrees for {run.contact.email}, run {run.pk} of “{run.flow}”:"]
        + ["  engine:", *_rows(taken, start), "  simulator:", *_rows(predicted, start)]
    )


def _rows(path, start):
    rows = [
        f"    step {step[:8]} {outcome} {branch} +{at - start}"
        for step, outcome, branch, at in path["steps"]
    ]
    rows += [
        f"    email {step[:8]} “{subject}” +{at - start}" for step, at, subject in path["emails"]
    ]
    end = path["end"]
    rows.append(f"    end {end[0]} +{end[1] - start}" if end else "    still open")
    return rows


def sim_event(event, at=None):
    """The event as the simulator replays it, at ``at``: when the story dispatched it (the
    contact's own methods stamp their events with the wall clock, not the story's)."""
    return SimEvent(
        at=at or event.created_at,
        kind=event.kind,
        name=event.name,
        object_id=event.object_id,
        value=event.value,
        data=event.data,
        page=event.page,
    )


def engine_path(run):
    """What the engine did in ``run``: its step runs, its emails (with the subject the
    contact sees) and how it ended (None while it is open)."""
    steps = [
        (r.step_id, r.outcome, r.branch, r.created_at)
        for r in run.step_runs.order_by("created_at", "pk")
    ]
    data = merge_data(run.contact, context=run.context)
    sends = [
        (m.step_id, m.created_at, _rendered(m.subject_override or m.subject, data))
        for m in run.messages.order_by("created_at", "pk")
    ]
    end = None if run.is_open else (run.status, run.finished_at)
    return {"steps": steps, "emails": sends, "end": end}


def _rendered(subject, data):
    return " ".join(merge_tags.render(subject, data, autoescape=False).split())


def simulated_path(path):
    steps = [
        (p.step_id, p.outcome[:32], p.branch, p.at)
        for p in path
        if p.step_id and p.outcome not in ("waiting", "deferred")
    ]
    sends = [
        (p.step_id, p.at, p.subject)
        for p in path
        if p.step_type == "send_email" and p.outcome == "queued"
    ]
    ends = [(p.outcome, p.at) for p in path if p.step_type == "end"]
    return {"steps": steps, "emails": sends, "end": ends[-1] if ends else None}


# --- helpers of the stories ---------------------------------------------------------------------


def go_live(flow):
    for page in email_pages(flow):
        page.get_latest_revision().publish()
    flow.refresh_from_db()
    flow.validate_for_activation()
    flow.activate()
    return flow


def sent(contact, flow=None):
    """Titles of the starter emails queued for ``contact``, oldest first."""
    messages = Message.objects.filter(contact=contact).order_by("created_at", "pk")
    if flow is not None:
        messages = messages.filter(enrollment__flow=flow)
    return [m.page.title.split(": ", 1)[1] for m in messages]


def run_of(flow, contact):
    return Enrollment.objects.filter(flow=flow, contact=contact).latest("pk")


def statuses(flow, contact):
    """The statuses of the contact's runs in the flow, oldest first."""
    runs = Enrollment.objects.filter(flow=flow, contact=contact).order_by("pk")
    return list(runs.values_list("status", flat=True))


def set_property(contact, name, value):
    contact.properties[name] = value if isinstance(value, int) else str(value)
    contact.save(update_fields=["properties"])
