"""The simulator: run a flow for one contact on a simulated clock, change nothing.

It runs the real engine — the same dispatch, the same step functions, the same branch and
split decisions — inside a database transaction that is always rolled back, with effects
that are recorded instead of performed: no email is queued or sent, no webhook called, no
task enqueued, no signal of ours sent, and every row it wrote disappears with the rollback.
"""

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from taggit.models import Tag

from wagtail_flows.engine import dispatch
from wagtail_flows.engine.advance import Runner, claim_enrollment, release
from wagtail_flows.engine.bulk import kept_out_at_entry
from wagtail_flows.engine.steps import RecordingEffects
from wagtail_flows.flows.describe import describe
from wagtail_flows.flows.tree import tree_for
from wagtail_flows.models import Contact, Enrollment, Message
from wagtail_flows.models.contacts import (
    ContactStatus,
    EventKind,
    ListMembership,
    TaggedContact,
)
from wagtail_flows.models.enrollments import OPEN_STATUSES, EnrollmentStatus
from wagtail_flows.models.events import record_event, signals_held
from wagtail_flows.vocabulary import HoldReason

DEFAULT_HORIZON = dt.timedelta(days=365)
MAX_ROUNDS = 1000


@dataclass
class PathStep:
    """One thing that happens to the contact: a step, a wait, an event, the end."""

    at: dt.datetime
    step_id: str
    step_type: str
    label: str
    outcome: str
    branch: str = ""
    subject: str = ""
    until: dt.datetime | None = None


@dataclass
class SimEvent:
    """An event to play into the simulation: ``at`` is a datetime or a delay from the start."""

    at: object
    kind: str
    name: str = ""
    object_id: str = ""
    value: object = None
    data: dict | None = None
    page: object = None


class _Rollback(Exception):
    pass


def simulate(
    flow, contact=None, events=(), until=None, *, start=None, trigger=None, sample_tags=()
):
    """The path ``contact`` (or a sample contact) would take through ``flow``.

    ``events``: ``SimEvent``s (or dicts with the same keys) that happen on the way, e.g. an
    order that meets the goal. Events that stand for a change to the contact (score, stage,
    list, tag changes; opens and clicks of the run's emails) make that change too.
    ``until``: a datetime or a delay from the start (default one year). ``start``: when the
    contact enters (default now). ``trigger``: the event that starts the run (its ``at`` is
    ignored), so that its context (an order, a form's answers) is there for the steps, as
    when the engine enrolls. Works for draft flows too. A contact already in the flow (an
    open run, and no ``trigger``) goes on from where they are, as the engine would take them.
    ``sample_tags``: the tags the sample contact has (when no ``contact`` is given).
    """
    start = start or timezone.now()
    horizon = start + (until if isinstance(until, dt.timedelta) else DEFAULT_HORIZON)
    if isinstance(until, dt.datetime):
        horizon = until
    timeline = sorted((_as_event(e, start) for e in events), key=lambda e: e.at)
    path = []
    try:
        with signals_held(), transaction.atomic():
            simulation = _Simulation(flow, contact, timeline, start, horizon, path, sample_tags)
            simulation.run(trigger)
            raise _Rollback()
    except _Rollback:
        pass
    return path


def _as_event(event, start):
    if isinstance(event, dict):
        event = SimEvent(**event)
    if isinstance(event.at, dt.timedelta):
        event.at = start + event.at
    return event


class _Simulation:
    def __init__(self, flow, contact, timeline, start, horizon, path, sample_tags=()):
        self.flow = flow
        self.sample_tags = sample_tags
        self.contact = contact
        self.timeline = list(timeline)
        self.clock = start
        self.horizon = horizon
        self.path = path
        self.effects = RecordingEffects()

    def run(self, trigger=None):
        if self.flow.pk is None:
            self.flow.save()
        self.contact = self.contact or _sample_contact(self.sample_tags)
        enrollment = None if trigger else self._open_run()
        if enrollment is None:
            enrollment = self._enroll(trigger)
            if enrollment is None:
                return  # kept out at entry (the path says why)
        elif not self._next(enrollment):
            return
        for _round in range(MAX_ROUNDS):
            self._advance(enrollment.pk)
            enrollment.refresh_from_db()
            if not self._next(enrollment):
                return

    def _open_run(self):
        """A contact already in the flow goes on from where they are (their email is not
        sent again, their wait not waited twice): the path starts with where they are now."""
        enrollment = (
            Enrollment.objects.filter(
                flow=self.flow, contact=self.contact, status__in=OPEN_STATUSES
            )
            .order_by("-enrolled_at")
            .first()
        )
        if enrollment is None:
            return None
        step = tree_for(self.flow).get(enrollment.current_step)
        if step is not None:
            label = describe((step.type, step.value))
            until = enrollment.next_run_at
            self.path.append(PathStep(self.clock, step.id, step.type, label, "now", until=until))
        return enrollment

    def _enroll(self, trigger):
        Enrollment.objects.filter(
            flow=self.flow, contact=self.contact, status__in=OPEN_STATUSES
        ).update(status=EnrollmentStatus.EXITED)
        event = self._record(_as_event(trigger, self.clock)) if trigger else None
        context = dispatch.event_context(event) if event else None
        reason = kept_out_at_entry(self.flow, self.contact, self.clock, context)
        if reason:  # "never enter if", or an exit condition that holds already
            label = _("Would not enter: %(reason)s") % {"reason": reason}
            self.path.append(PathStep(self.clock, "", "end", label, "not entered"))
            return None
        return dispatch.enroll(
            self.flow, self.contact, event=event, now=self.clock, effects=self.effects, force=True
        )

    def _advance(self, enrollment_id):
        token = claim_enrollment(enrollment_id, self.clock)
        runner = Runner(enrollment_id, token, self.clock, self.effects)
        try:
            runner.run()
        finally:
            release(enrollment_id, token)
        for step, outcome in runner.path:
            self.path.append(_path_step(self.clock, step, outcome))

    def _next(self, enrollment):
        """Move the clock to the next event or wake-up; False when the run is over."""
        if not enrollment.is_open:
            self.path.append(self._end(enrollment))
            return False
        due = max(enrollment.next_run_at or self.clock, self.clock)
        if self.timeline and self.timeline[0].at <= due:
            return self._play(self.timeline.pop(0), enrollment)
        if due > self.horizon:
            return False
        self.clock = due
        return True

    def _play(self, sim_event, enrollment):
        if sim_event.at > self.horizon:
            return False
        self.clock = max(self.clock, sim_event.at)
        _change_contact(self.contact, enrollment, sim_event, self.clock)
        event = self._record(sim_event)
        self.path.append(
            PathStep(
                self.clock,
                "",
                "event",
                _("Event: %(kind)s") % {"kind": event.get_kind_display()},
                "event",
            )
        )
        dispatch.dispatch_event(event.pk, now=self.clock, flows=[self.flow], effects=self.effects)
        enrollment.refresh_from_db()
        if not enrollment.is_open:
            self.path.append(self._end(enrollment))
            return False
        return True

    def _record(self, sim_event):
        return record_event(
            sim_event.kind,
            contact=self.contact,
            page=sim_event.page,
            name=sim_event.name,
            object_id=sim_event.object_id,
            value=sim_event.value,
            data=sim_event.data,
            at=self.clock,
        )

    def _end(self, enrollment):
        label = enrollment.get_status_display()
        if enrollment.exit_reason:
            label = f"{label}: {enrollment.exit_reason}"
        return PathStep(
            enrollment.finished_at or self.clock, "", "end", label, str(enrollment.status)
        )


def _change_contact(contact, enrollment, sim_event, at):
    """Make the change to the contact that ``sim_event`` reports, as it happened for real:
    a score_changed event without the new score would leave a ``score_at_least`` branch
    waiting where the engine went on."""
    kind, name, object_id = sim_event.kind, sim_event.name, sim_event.object_id
    contacts = Contact.objects.filter(pk=contact.pk)
    if kind == EventKind.SCORE_CHANGED:
        contacts.update(score=F("score") + int(sim_event.value or 0))
    elif kind == EventKind.STAGE_CHANGED and name:
        contacts.update(stage=name)
    elif kind == EventKind.LIST_JOINED and object_id:
        ListMembership.objects.get_or_create(contact=contact, contact_list_id=int(object_id))
    elif kind == EventKind.LIST_LEFT and object_id:
        ListMembership.objects.filter(contact=contact, contact_list_id=int(object_id)).delete()
    elif kind == EventKind.TAG_ADDED and name:
        tag = Tag.objects.filter(name__iexact=name).first() or Tag.objects.create(name=name)
        TaggedContact.objects.get_or_create(content_object=contact, tag=tag)
    elif kind == EventKind.TAG_REMOVED and name:
        TaggedContact.objects.filter(content_object=contact, tag__name__iexact=name).delete()
    elif kind in (EventKind.EMAIL_OPENED, EventKind.LINK_CLICKED):
        message = _email_of_the_run(enrollment, sim_event.page)
        if message is not None:
            counted = message.count_open if kind == EventKind.EMAIL_OPENED else message.count_click
            counted(at)
    contact.refresh_from_db()


def _email_of_the_run(enrollment, page):
    """The run's latest email (of ``page``, when the event names one) the contact could open."""
    messages = Message.objects.filter(enrollment=enrollment)
    if page is not None:
        messages = messages.filter(page_id=page.pk)
    return messages.order_by("-created_at", "-pk").first()


def _path_step(at, step, outcome):
    if outcome.action in ("wait", "defer"):
        label = describe((step.type, step.value))
        state = "waiting" if outcome.action == "wait" else _held(outcome.detail)
        return PathStep(at, step.id, step.type, label, state, until=outcome.until)
    return PathStep(
        at,
        step.id,
        step.type,
        describe((step.type, step.value)),
        outcome.outcome,
        branch=outcome.branch,
        subject=outcome.detail if step.type == "send_email" else "",
    )


def _held(reason):
    """ "held by quiet hours" (the tester shows it beside the step)."""
    if reason in HoldReason.values:
        return _("held by %(reason)s") % {"reason": HoldReason(reason).label}
    return "deferred"


def _sample_contact(tags=()):
    contact = Contact(
        email="sample.contact@example.invalid",
        first_name="Sample",
        last_name="Contact",
        status=ContactStatus.SUBSCRIBED,
    )
    Contact.objects.filter(email=contact.email).delete()
    contact.save()
    for name in tags:
        tag = Tag.objects.filter(name__iexact=name).first() or Tag.objects.create(name=name)
        TaggedContact.objects.get_or_create(content_object=contact, tag=tag)
    return contact
