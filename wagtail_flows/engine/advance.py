"""Advance enrollments: claim one, run its steps until a wait, the end or an exit.

Guarantees (see docs/engine.md):
- A claim is a lease (``claimed_until`` + ``claimed_by``) taken by a compare-and-set UPDATE,
  or by ``SELECT … FOR UPDATE SKIP LOCKED`` where the database has it. Every write of a run
  is fenced by the claim token, so a worker whose lease was taken over changes nothing.
- A run is one transaction; each step runs in a savepoint with its StepRun row, unique per
  (enrollment, step, pass): its effects (Message row, list membership, …) commit together
  with that row and the enrollment's new position, or not at all. A step that already has
  its row is never run again. A failing step's savepoint is rolled back; the steps before
  it commit, and the failure is recorded (retry with backoff) in a transaction of its own.
  Steps that read and write nothing (``PLAIN_STEPS``) need no savepoint: their StepRun row
  is their only write, and a taken row rolls the whole run back.
- An advance batch reads its flows, email pages and enrollments once (engine/batch.py).
"""

import logging
import uuid
from datetime import timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from wagtail_flows import signals
from wagtail_flows.conf import flows_settings
from wagtail_flows.engine.batch import BatchCache
from wagtail_flows.engine.steps import PASS, Effects, StepContext, StepError, run_step
from wagtail_flows.flows.tree import tree_for
from wagtail_flows.models import Enrollment, StepRun
from wagtail_flows.models.enrollments import OPEN_STATUSES, EnrollmentStatus
from wagtail_flows.models.flows import FlowStatus

logger = logging.getLogger(__name__)

MAX_STEPS_PER_RUN = 500  # a run never loops: this only guards against a corrupt tree
# Steps whose function reads and writes nothing: their StepRun row is their only write, so
# they need no savepoint of their own (see Runner._run_plain_step).
PLAIN_STEPS = frozenset({"wait", "wait_until", "split"})


class LostClaim(Exception):
    """Another worker took over this enrollment (our lease expired)."""


class ClaimedBatch(list):
    """Enrollment ids claimed together; ``token`` proves the claim to advance_enrollment."""

    def __init__(self, ids=(), token=""):
        super().__init__(ids)
        self.token = token


# --- claims ------------------------------------------------------------------------------


def _lease_free(now):
    return Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)


def _lease(now):
    return now + timedelta(seconds=flows_settings.CLAIM_LEASE_SECONDS)


def claim_enrollment(enrollment_id, now):
    """Claim one open enrollment; the token, or None when another worker holds it."""
    token = uuid.uuid4().hex
    qs = Enrollment.objects.filter(pk=enrollment_id, status__in=OPEN_STATUSES)
    if connection.features.has_select_for_update_skip_locked:
        with transaction.atomic():
            locked = qs.select_for_update(skip_locked=True).filter(_lease_free(now))
            if not locked.values_list("pk", flat=True).first():
                return None
            qs.update(claimed_until=_lease(now), claimed_by=token)
        return token
    claimed = qs.filter(_lease_free(now)).update(claimed_until=_lease(now), claimed_by=token)
    return token if claimed else None


def release(enrollment_id, token):
    Enrollment.objects.filter(pk=enrollment_id, claimed_by=token).update(
        claimed_until=None, claimed_by=""
    )


def due_enrollments(now):
    return (
        Enrollment.objects.filter(
            status__in=OPEN_STATUSES, next_run_at__lte=now, flow__status=FlowStatus.LIVE
        )
        .filter(_lease_free(now))
        .order_by("next_run_at")
    )


def claim_due(limit, *, now=None):
    """Claim up to ``limit`` due enrollments of live flows (three queries, any backlog).

    Returns a ``ClaimedBatch`` (a list of ids); pass ``claim=batch.token`` to
    ``advance_enrollment`` for each, or use ``run_due``.
    """
    now = now or timezone.now()
    return _claim(due_enrollments(now), limit, now)


def claim_ids(enrollment_ids, *, now=None):
    """Claim these open enrollments (those no other worker holds), three queries."""
    now = now or timezone.now()
    runs = Enrollment.objects.filter(pk__in=list(enrollment_ids), status__in=OPEN_STATUSES)
    return _claim(runs.filter(_lease_free(now)).order_by("pk"), len(enrollment_ids), now)


def _claim(candidates, limit, now):
    token = uuid.uuid4().hex
    with transaction.atomic():
        if connection.features.has_select_for_update_skip_locked:
            candidates = candidates.select_for_update(skip_locked=True, of=("self",))
        ids = list(candidates.values_list("pk", flat=True)[:limit])
        if not ids:
            return ClaimedBatch((), token)
        Enrollment.objects.filter(pk__in=ids).filter(_lease_free(now)).update(
            claimed_until=_lease(now), claimed_by=token
        )
        claimed = set(
            Enrollment.objects.filter(pk__in=ids, claimed_by=token).values_list("pk", flat=True)
        )
    return ClaimedBatch([pk for pk in ids if pk in claimed], token)  # the longest due first


def run_due(limit, *, now=None):
    """Claim a batch of due enrollments and advance each; the number advanced."""
    now = now or timezone.now()
    return advance_batch(claim_due(limit, now=now), now=now)


def advance_batch(batch, *, now=None):
    """Advance a claimed batch; one contact's trouble never blocks the others. The emails
    the batch queued go out together afterwards, over one mail connection. The batch's
    flows, trees, email pages and enrollments are read once for it (``BatchCache``)."""
    effects = Effects()
    cache = BatchCache(batch)
    for enrollment_id in batch:
        try:
            advance_enrollment(
                enrollment_id, now=now, claim=batch.token, effects=effects, cache=cache
            )
        except Exception:
            logger.exception("Advancing enrollment %s failed", enrollment_id)
            release(enrollment_id, batch.token)
        effects.flush(full_batches_only=True)  # the first contacts need not wait for the last
    effects.flush()
    return len(batch)


# --- the run -----------------------------------------------------------------------------


def advance_enrollment(enrollment_id, *, now=None, claim=None, effects=None, cache=None):
    """The django-q2 task: claim the enrollment, run its steps, release it.

    ``claim`` is a token from ``claim_due``; without one the enrollment is claimed here.
    ``cache``: the ``BatchCache`` of the advance batch this run is part of.
    Safe to run any number of times, concurrently: nothing happens twice.
    """
    now = now or timezone.now()
    token = claim or claim_enrollment(enrollment_id, now)
    if not token:
        return None
    own_effects = effects is None
    effects = effects or Effects()
    runner = Runner(enrollment_id, token, now, effects, cache=cache)
    try:
        return runner.run()
    except LostClaim:
        logger.warning("Enrollment %s was taken over by another worker", enrollment_id)
        return None
    finally:
        if not runner.released:  # the run's last write usually released it already
            release(enrollment_id, token)
        if own_effects:
            effects.flush()


class Runner:
    def __init__(self, enrollment_id, token, now, effects, cache=None):
        self.enrollment_id = enrollment_id
        self.token = token
        self.now = now
        self.effects = effects
        self.cache = cache  # the advance batch's BatchCache, or None
        self.path = []  # (step, outcome) for each step executed in this run
        self.failure = None  # (step, exception) of a step that raised
        self.released = False  # the run's last write gave the claim up (and committed)

    def run(self):
        enrollment, done = self._start()
        if enrollment is None:
            return None
        flow = enrollment.flow
        if not self.effects.simulated and flow.status != FlowStatus.LIVE:
            return enrollment  # paused (or no longer live): everyone stays where they are
        if flow.ends_at and self.now >= flow.ends_at:
            self._finish(enrollment, EnrollmentStatus.EXITED, "flow ended", release=True)
            return enrollment
        tree = self.cache.tree(flow) if self.cache else tree_for(flow)
        self.failure = None
        if self.cache:
            self.cache.advanced(enrollment.pk, enrollment.contact_id)
        try:
            with transaction.atomic():
                self._run_steps(enrollment, tree, done)
                # Give the claim up in the same UPDATE, unless the failure is yet to record.
                self._save(enrollment, release=self.failure is None)
        except BaseException:
            self.released = False  # rolled back: the claim is still ours to give up
            raise
        if self.failure:
            self._failed(*self.failure)
        return enrollment

    def _start(self):
        """The enrollment (with its flow and contact) and its step log {step id: branch}."""
        ahead = self.cache.run(self.enrollment_id) if self.cache else None
        if ahead is not None:
            enrollment, done = ahead
            return (enrollment, done) if enrollment.is_open else (None, None)
        enrollment = self._load()
        if enrollment is None:
            return None, None
        done = dict(
            StepRun.objects.filter(enrollment=enrollment, pass_number=PASS).values_list(
                "step_id", "branch"
            )
        )
        return enrollment, done

    def _run_steps(self, enrollment, tree, done):
        """Steps in order, each in a savepoint (but plain steps) of one transaction, until
        a wait, the end, an exit or a failure."""
        for _ in range(MAX_STEPS_PER_RUN):
            if not enrollment.is_open:
                return
            step = tree.resolve(enrollment.current_step, enrollment.route)
            if step is None:
                self._finish(enrollment, EnrollmentStatus.COMPLETED, "", release=True)
                return
            if step.id != enrollment.current_step:
                self._arrive(enrollment, step, tree)
            if step.id in done:
                self._move(enrollment, self._next_after(step, tree, done[step.id]), tree)
                continue
            if not self._run_step(enrollment, step, tree, done):
                return
        raise StepError("The flow has more steps than a run may take.")

    def _load(self):
        enrollment = (
            Enrollment.objects.select_related("flow", "contact")
            .filter(pk=self.enrollment_id, claimed_by=self.token)
            .first()
        )
        if enrollment is None or not enrollment.is_open:
            return None
        return enrollment

    def _arrive(self, enrollment, step, tree):
        """Point the enrollment at ``step`` (in memory; saved with the step's outcome)."""
        enrollment.current_step = step.id
        enrollment.route = tree.route_from(step.id)
        enrollment.waiting_since = None

    def _next_after(self, step, tree, branch):
        if step.type == "branch" and branch in step.sides:
            return tree.start_of(step.sides[branch], step.id)
        if step.type == "split":
            for variant in step.variants:
                if branch in (variant.label, variant.id):
                    return tree.start_of(variant.steps, step.id)
        return tree.next_after(step.id)

    def _run_step(self, enrollment, step, tree, done):
        """Run one step in a savepoint with its StepRun; True to go on to the next step.
        A failing step's savepoint is rolled back and the run stops there."""
        ctx = StepContext(
            enrollment,
            enrollment.flow,
            enrollment.contact,
            step,
            self.now,
            self.effects,
            tree,
            pages=self.cache,
        )
        if step.type in PLAIN_STEPS:
            return self._run_plain_step(ctx, enrollment, step, tree, done)
        try:
            with transaction.atomic():
                outcome = run_step(ctx)
                keep_going = self._apply(enrollment, step, tree, outcome)
        except IntegrityError as exc:
            if StepRun.objects.filter(enrollment=enrollment, step_id=step.id).exists():
                raise LostClaim() from None  # another worker recorded this step first
            self.failure = (step, exc)
            self.released = False  # the savepoint's rollback took back any release in it
            return False
        except LostClaim:
            raise
        except Exception as exc:  # noqa: BLE001  a failing step is retried, then fails
            self.failure = (step, exc)
            self.released = False
            return False
        return self._ran(step, outcome, done, keep_going)

    def _run_plain_step(self, ctx, enrollment, step, tree, done):
        """A step that reads and writes nothing (a wait, a split), without a savepoint: if
        it raises, there is nothing to roll back; its one write is its StepRun row, and when
        that row is taken another worker recorded the step first (only the claim holder
        writes a run's step log): the whole run is rolled back, as in ``_run_step``."""
        try:
            outcome = run_step(ctx)
        except LostClaim:
            raise
        except Exception as exc:  # noqa: BLE001  a failing step is retried, then fails
            self.failure = (step, exc)
            return False
        try:
            keep_going = self._apply(enrollment, step, tree, outcome)
        except IntegrityError:
            raise LostClaim() from None
        return self._ran(step, outcome, done, keep_going)

    def _ran(self, step, outcome, done, keep_going):
        if outcome.action in ("next", "enter", "exit"):
            done[step.id] = outcome.branch
            self.path.append((step, outcome))
        return keep_going

    def _apply(self, enrollment, step, tree, outcome):
        if outcome.action in ("wait", "defer"):
            self._wait(enrollment, step, outcome)
            return False
        StepRun.objects.create(
            enrollment=enrollment,
            step_id=step.id,
            step_type=step.type,
            pass_number=PASS,
            outcome=outcome.outcome[:32],
            branch=outcome.branch[:64],
            created_at=self.now,
        )
        self.effects.signal(
            signals.step_executed,
            enrollment=enrollment,
            step_id=step.id,
            step_type=step.type,
            outcome=outcome.outcome,
        )
        enrollment.attempts = 0
        enrollment.last_error = ""
        enrollment.held_reason = ""
        if outcome.action == "exit":
            self._finish(enrollment, EnrollmentStatus.EXITED, outcome.detail, release=True)
            return False
        if outcome.action == "enter":
            target = tree.start_of(outcome.enter, step.id)
        else:
            target = tree.next_after(step.id)
        self._move(enrollment, target, tree)
        return enrollment.is_open

    def _move(self, enrollment, target, tree):
        if target is None:
            enrollment.current_step = ""
            enrollment.route = []
            self._finish(enrollment, EnrollmentStatus.COMPLETED, "", release=True)
            return
        self._arrive(enrollment, target, tree)
        enrollment.status = EnrollmentStatus.ACTIVE
        enrollment.wakes_on_event = False

    def _wait(self, enrollment, step, outcome):
        if outcome.action == "wait" and enrollment.waiting_since is None:
            enrollment.waiting_since = self.now
        enrollment.status = EnrollmentStatus.WAITING
        enrollment.next_run_at = outcome.until
        enrollment.wakes_on_event = outcome.wakes_on_event
        if outcome.action == "wait":
            enrollment.skip_overdue_sends = False
        enrollment.held_reason = outcome.detail if outcome.action == "defer" else ""
        self.path.append((step, outcome))

    def _save(self, enrollment, release=False):
        """Write the run's position, fenced by the claim; ``release``: and give it up."""
        if not enrollment.is_open:
            return
        freed = {"claimed_until": None, "claimed_by": ""} if release else {}
        saved = Enrollment.objects.filter(
            pk=enrollment.pk, claimed_by=self.token, status__in=OPEN_STATUSES
        ).update(
            **freed,
            status=enrollment.status,
            current_step=enrollment.current_step,
            route=enrollment.route,
            next_run_at=enrollment.next_run_at,
            waiting_since=enrollment.waiting_since,
            wakes_on_event=enrollment.wakes_on_event,
            skip_overdue_sends=enrollment.skip_overdue_sends,
            attempts=enrollment.attempts,
            last_error=enrollment.last_error,
            held_reason=enrollment.held_reason,
        )
        if not saved:
            raise LostClaim()
        self.released = self.released or release

    def _finish(self, enrollment, status, reason, release=False):
        """End the run, fenced by the claim; ``release``: the last write, give it up."""
        finish(
            enrollment,
            status,
            reason,
            now=self.now,
            effects=self.effects,
            token=self.token,
            release=release,
        )
        self.released = self.released or release

    def _failed(self, step, exc):
        """Retry the step with backoff; after STEP_MAX_RETRIES the enrollment fails."""
        error = f"{step.type} step {step.id}: {exc}"
        logger.warning("Enrollment %s: %s", self.enrollment_id, error)
        with transaction.atomic():
            enrollment = self._load()
            if enrollment is None:
                return
            enrollment.attempts += 1
            enrollment.last_error = error
            if enrollment.attempts > flows_settings.STEP_MAX_RETRIES:
                StepRun.objects.get_or_create(
                    enrollment=enrollment,
                    step_id=step.id,
                    pass_number=PASS,
                    defaults={
                        "step_type": step.type,
                        "outcome": "failed",
                        "error": error,
                        "created_at": self.now,
                    },
                )
                self._finish(enrollment, EnrollmentStatus.FAILED, str(exc)[:255], release=True)
                return
            backoff = flows_settings.STEP_RETRY_BACKOFF_SECONDS * 2 ** (enrollment.attempts - 1)
            enrollment.status = EnrollmentStatus.WAITING
            enrollment.next_run_at = self.now + timedelta(seconds=backoff)
            self._save(enrollment, release=True)


def finish(enrollment, status, reason="", *, now=None, effects=None, token=None, release=False):
    """End an open enrollment (completed, converted, exited, failed); False if it was not
    open any more (someone else ended it first). ``token``: only while that claim holds;
    ``release``: and give the claim up in the same UPDATE."""
    now = now or timezone.now()
    qs = Enrollment.objects.filter(pk=enrollment.pk, status__in=OPEN_STATUSES)
    if token is not None:
        qs = qs.filter(claimed_by=token)
    freed = {"claimed_until": None, "claimed_by": ""} if release and token is not None else {}
    ended = qs.update(
        **freed,
        status=status,
        exit_reason=(reason or "")[:255],
        finished_at=now,
        next_run_at=None,
        wakes_on_event=False,
        held_reason="",
        current_step=enrollment.current_step,
        route=enrollment.route,
        attempts=enrollment.attempts,
        last_error=enrollment.last_error,
    )
    if not ended:
        if token is not None:
            raise LostClaim()
        return False
    enrollment.status = status
    enrollment.exit_reason = reason
    enrollment.finished_at = now
    enrollment.next_run_at = None
    enrollment.held_reason = ""
    (effects or Effects()).signal(
        signals.enrollment_finished, enrollment=enrollment, status=status
    )
    return True


# --- live edits, pause and resume --------------------------------------------------------


def resume_flow(flow, *, now=None, policy=None):
    """After a pause: contacts whose time came while paused continue per ``on_resume``:
    "send" (now), "skip" (their overdue emails are skipped up to the next wait) or
    "spread" (evenly over RESUME_SPREAD_HOURS). Returns the number of overdue contacts."""
    now = now or timezone.now()
    policy = policy or flow.on_resume
    overdue = Enrollment.objects.filter(flow=flow, status__in=OPEN_STATUSES, next_run_at__lte=now)
    if policy == "skip":
        return overdue.update(skip_overdue_sends=True)
    if policy != "spread":
        return overdue.count()
    ids = list(overdue.order_by("next_run_at", "pk").values_list("pk", flat=True))
    span = timedelta(hours=flows_settings.RESUME_SPREAD_HOURS)
    step = span / max(len(ids), 1)
    for start in range(0, len(ids), 500):
        batch = [
            Enrollment(pk=pk, next_run_at=now + step * index)
            for index, pk in enumerate(ids[start : start + 500], start=start)
        ]
        Enrollment.objects.bulk_update(batch, ["next_run_at"])
    return len(ids)


def retime_waiting(flow, step_id, *, now=None):
    """The editor changed a wait and asked for it: contacts already waiting on that step
    wait the new length from when they started (never into the past). Returns how many."""
    from wagtail_flows.engine import timing

    now = now or timezone.now()
    step = tree_for(flow).get(step_id)
    if step is None or step.type != "wait":
        return 0
    length = timing.duration(step.get("amount"), step.get("unit"))
    waiting = Enrollment.objects.filter(
        flow=flow,
        current_step=step_id,
        status=EnrollmentStatus.WAITING,
        waiting_since__isnull=False,
    )
    batch = _retimed(waiting.values_list("pk", "waiting_since"), length, now)
    # Through the same filter: a run that moved on since the read keeps its own time.
    return waiting.bulk_update(batch, ["next_run_at"], batch_size=500)


def _retimed(waiting, length, now):
    return [Enrollment(pk=pk, next_run_at=max(since + length, now)) for pk, since in waiting]


def finish_ended_flows(*, now=None, limit=500):
    """Open runs of flows past their end date finish as exited ("flow ended")."""
    from wagtail_flows.engine.bulk import finish_batch
    from wagtail_flows.models import Flow

    now = now or timezone.now()
    ended = Flow.objects.filter(ends_at__lte=now).exclude(status=FlowStatus.DRAFT)
    runs = Enrollment.objects.filter(flow__in=ended).filter(_lease_free(now))
    return len(finish_batch(runs, EnrollmentStatus.EXITED, "flow ended", now=now, limit=limit))


def flow_status_changed(flow, old, new, **kwargs):
    if old == FlowStatus.PAUSED and new == FlowStatus.LIVE:
        resume_flow(flow)
