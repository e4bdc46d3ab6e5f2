"""The simulator: run a flow for one contact on a simulated clock, change nothing.

It runs the real engine — the same dispatch, the same step functions, the same branch and
split decisions — inside a database transaction that is always rolled back, with effects
that are recorded instead of performed: no email is queued or sent, no webhook called, no
task enqueued, no signal of ours sent, and every row it wrote disappears with the rollback.
"""

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from wagtail_flows import tracking
from wagtail_flows.describe import describe
from wagtail_flows.engine import dispatch
from wagtail_flows.engine.advance import Runner, claim_enrollment, release
from wagtail_flows.engine.steps import RecordingEffects
from wagtail_flows.models import Contact, Enrollment
from wagtail_flows.models.contacts import ContactStatus
from wagtail_flows.models.enrollments import OPEN_STATUSES, EnrollmentStatus

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


def simulate(flow, contact=None, events=(), until=None, *, start=None):
    """The path ``contact`` (or a sample contact) would take through ``flow``.

    ``events``: ``SimEvent``s (or dicts with the same keys) that happen on the way, e.g. an
    order that meets the goal. ``until``: a datetime or a delay from the start (default one
    year). ``start``: when the contact enters (default now). Works for draft flows too.
    """
    start = start or timezone.now()
    horizon = start + (until if isinstance(until, dt.timedelta) else DEFAULT_HORIZON)
    if isinstance(until, dt.datetime):
        horizon = until
    timeline = sorted((_as_event(e, start) for e in events), key=lambda e: e.at)
    path = []
    try:
        with tracking.signals_held(), transaction.atomic():
            _Simulation(flow, contact, timeline, start, horizon, path).run()
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
    def __init__(self, flow, contact, timeline, start, horizon, path):
        self.flow = flow
        self.contact = contact
        self.timeline = list(timeline)
        self.clock = start
        self.horizon = horizon
        self.path = path
        self.effects = RecordingEffects()

    def run(self):
        if self.flow.pk is None:
            self.flow.save()
        self.contact = self.contact or _sample_contact()
        Enrollment.objects.filter(
            flow=self.flow, contact=self.contact, status__in=OPEN_STATUSES
        ).update(status=EnrollmentStatus.EXITED)
        enrollment = dispatch.enroll(
            self.flow, self.contact, now=self.clock, effects=self.effects, force=True
        )
        for _ in range(MAX_ROUNDS):
            self._advance(enrollment.pk)
            enrollment.refresh_from_db()
            if not self._next(enrollment):
                return

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
        event = tracking.record_event(
            sim_event.kind,
            contact=self.contact,
            page=sim_event.page,
            name=sim_event.name,
            object_id=sim_event.object_id,
            value=sim_event.value,
            data=sim_event.data,
            at=self.clock,
        )
        self.path.append(
            PathStep(self.clock, "", "event", f"Event: {event.get_kind_display()}", "event")
        )
        dispatch.dispatch_event(event.pk, now=self.clock, flows=[self.flow], effects=self.effects)
        enrollment.refresh_from_db()
        if not enrollment.is_open:
            self.path.append(self._end(enrollment))
            return False
        return True

    def _end(self, enrollment):
        label = enrollment.get_status_display()
        if enrollment.exit_reason:
            label = f"{label}: {enrollment.exit_reason}"
        return PathStep(
            enrollment.finished_at or self.clock, "", "end", label, str(enrollment.status)
        )


def _path_step(at, step, outcome):
    if outcome.action in ("wait", "defer"):
        label = describe((step.type, step.value))
        state = "waiting" if outcome.action == "wait" else "deferred"
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


def _sample_contact():
    contact = Contact(
        email="sample.contact@example.invalid",
        first_name="Sample",
        last_name="Contact",
        status=ContactStatus.SUBSCRIBED,
    )
    Contact.objects.filter(email=contact.email).delete()
    contact.save()
    return contact
