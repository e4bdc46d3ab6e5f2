"""One small function per step type.

A step function gets a ``StepContext`` and returns an ``Outcome``: go on to the next step,
enter a branch side or split variant, wait until a time, defer (try this step again later),
or exit. Everything that leaves the database (email delivery, staff notifications, webhooks,
signals, task enqueues) goes through ``ctx.effects``: the real engine performs it, the
simulator records it. The step code is the same for both.
"""

import hashlib
import hmac
import json
import logging
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core.mail import EmailMessage
from django.db import transaction
from django.utils.html import strip_tags

from wagtail_flows.conf import flows_settings
from wagtail_flows.emails.rendering import merge_data
from wagtail_flows.engine import timing
from wagtail_flows.flows import conditions
from wagtail_flows.models import EmailPage, Message
from wagtail_flows.models.flows import FlowKind
from wagtail_flows.vocabulary import HoldReason

logger = logging.getLogger(__name__)

PASS = 1  # each step runs at most once per enrollment: the (enrollment, step, pass) key


class StepError(Exception):
    """A step that cannot run; retried with backoff, then the enrollment fails with it."""


@dataclass
class Outcome:
    action: str  # "next" | "enter" | "wait" | "defer" | "exit"
    outcome: str = "done"
    branch: str = ""
    until: datetime | None = None
    enter: list = field(default_factory=list)
    wakes_on_event: bool = False
    detail: str = ""


@dataclass
class StepContext:
    enrollment: object
    flow: object
    contact: object
    step: object
    now: datetime
    effects: object
    tree: object
    pages: object = None  # an advance batch's email pages (engine/batch.py), or None

    @property
    def waiting_since(self):
        """When the contact started waiting on this step (None: it just arrived)."""
        e = self.enrollment
        return e.waiting_since if e.current_step == self.step.id else None

    @property
    def context(self):
        return self.enrollment.context or {}


# --- effects -----------------------------------------------------------------------------


class Effects:
    """What leaves the database, performed after the advancing transaction commits.

    Emails are collected, not sent one by one: ``flush()`` (called once the run, or the
    whole advance batch, is over) hands them to delivery tasks of ``SEND_BATCH_SIZE``
    messages, each sent over one connection of the email backend. A message whose step
    was rolled back is simply not found by delivery.
    """

    simulated = False

    def __init__(self):
        self.messages = []

    def deliver(self, message):
        self.messages.append(message.pk)

    def flush(self, *, full_batches_only=False):
        """Hand the collected messages to delivery, after the current transaction commits
        (``full_batches_only``: only whole batches of ``SEND_BATCH_SIZE``, keep the rest)."""
        from wagtail_flows.emails.delivery import enqueue_batch

        size = max(1, int(flows_settings.SEND_BATCH_SIZE))
        keep = len(self.messages) % size if full_batches_only else 0
        ids = self.messages[: len(self.messages) - keep]
        self.messages = self.messages[len(ids) :]
        for start in range(0, len(ids), size):
            chunk = ids[start : start + size]
            transaction.on_commit(lambda chunk=chunk: enqueue_batch(chunk))

    def notify(self, email):
        transaction.on_commit(lambda: _send_quietly(email))

    def post(self, url, body, headers):
        request = urllib.request.Request(  # noqa: S310  (run_webhook allows http(s) only)
            url, data=body, headers=headers, method="POST"
        )
        timeout = flows_settings.WEBHOOK_TIMEOUT_SECONDS
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status

    def enqueue_advance(self, enrollment_id):
        from wagtail_flows.engine.queue import ADVANCE_ENROLLMENT_FUNC, enqueue

        transaction.on_commit(
            lambda: enqueue(
                ADVANCE_ENROLLMENT_FUNC, enrollment_id, task_name=f"flows-advance-{enrollment_id}"
            )
        )

    def signal(self, signal, **kwargs):
        transaction.on_commit(lambda: signal.send(sender=type(self), **kwargs))

    def offer(self, flow_id, contact):
        """Enroll ``contact`` in another flow (a sunset's re-engagement) after commit."""
        transaction.on_commit(lambda: _enroll_quietly(flow_id, contact))


def _enroll_quietly(flow_id, contact):
    from wagtail_flows.engine.dispatch import enroll
    from wagtail_flows.models import Flow

    flow = Flow.objects.filter(pk=flow_id).first()
    try:
        if flow is not None:
            enroll(flow, contact)  # None when it isn't live or its rules keep them out
    except Exception:  # the skip is done; a failed offer must not undo it
        logger.exception("Could not enroll contact %s in flow %s", contact.pk, flow_id)


def _send_quietly(email):
    try:
        email.send()
    except Exception:  # the step is done; a mail server hiccup must not undo it
        logger.exception("Could not send the flow notification %r", email.subject)


class RecordingEffects(Effects):
    """The simulator's effects: remember what would happen, do none of it."""

    simulated = True

    def __init__(self):
        super().__init__()
        self.records = []

    def deliver(self, message):
        self.records.append(("deliver", message.subject))

    def notify(self, email):
        self.records.append(("notify", email.subject))

    def post(self, url, body, headers):
        self.records.append(("webhook", url))
        return 200

    def enqueue_advance(self, enrollment_id):
        self.records.append(("advance", enrollment_id))

    def signal(self, signal, **kwargs):
        pass

    def offer(self, flow_id, contact):
        self.records.append(("offer", flow_id))


# --- waiting -----------------------------------------------------------------------------


def _wait_for(ctx, until):
    since = ctx.waiting_since
    if since is None:
        return Outcome("wait", until=until)
    due = ctx.enrollment.next_run_at or until
    if ctx.now >= due:
        return Outcome("next", outcome="waited")
    return Outcome("wait", until=due)


def run_wait(ctx):
    since = ctx.waiting_since or ctx.now
    until = since + timing.duration(ctx.step.get("amount"), ctx.step.get("unit"))
    if ctx.waiting_since is None and until <= ctx.now:
        return Outcome("next", outcome="waited")  # a zero wait
    return _wait_for(ctx, until)


def run_wait_until(ctx):
    if ctx.waiting_since is None:
        until = timing.wait_until_time(ctx.step, ctx.contact, ctx.context, ctx.now)
        if until <= ctx.now:
            return Outcome("next", outcome="waited")
        return Outcome("wait", until=until)
    return _wait_for(ctx, ctx.enrollment.next_run_at)


# --- decisions ---------------------------------------------------------------------------


def run_branch(ctx):
    step = ctx.step
    met = conditions.evaluate(
        step.get("conditions"),
        ctx.contact,
        match=step.get("match", "all"),
        now=ctx.now,
        context=ctx.context,
    )
    if met:
        return Outcome("enter", outcome="yes", branch="yes", enter=step.sides.get("yes", []))
    amount = step.get("wait_up_to_amount")
    if amount:
        deadline = (ctx.waiting_since or ctx.now) + timing.duration(
            amount, step.get("wait_up_to_unit")
        )
        if ctx.now < deadline:
            recheck = ctx.now + timedelta(minutes=flows_settings.BRANCH_RECHECK_MINUTES)
            return Outcome("wait", until=min(deadline, recheck), wakes_on_event=True)
    return Outcome("enter", outcome="no", branch="no", enter=step.sides.get("no", []))


def split_point(enrollment, step_id):
    """A number in [0, 1) fixed per (flow, contact, enrollment start, step): the same
    contact in the same run always takes the same variant, in the engine and the simulator."""
    key = ":".join(
        str(part)
        for part in (
            enrollment.flow_id,
            enrollment.contact_id,
            enrollment.enrolled_at.isoformat(),
            step_id,
        )
    )
    digest = hashlib.sha256(key.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def choose_variant(variants, point):
    total = sum(max(v.weight, 0) for v in variants)
    if total <= 0:
        return None
    target = point * total
    for variant in variants:
        target -= max(variant.weight, 0)
        if target < 0:
            return variant
    return variants[-1]


def run_split(ctx):
    winner = decided_winner(ctx.flow, ctx.step)
    if winner is not None:  # the automatic A/B winner (engine/ab_winner.py)
        label = winner.label or winner.id
        return Outcome("enter", outcome="variant", branch=label[:64], enter=winner.steps)
    variant = choose_variant(ctx.step.variants, split_point(ctx.enrollment, ctx.step.id))
    if variant is None:
        return Outcome("next", outcome="no variant")
    label = variant.label or variant.id
    return Outcome("enter", outcome="variant", branch=label[:64], enter=variant.steps)


def decided_winner(flow, step):
    """The split's decided winner, if a decision names a variant it still has."""
    decision = (getattr(flow, "ab_decisions", None) or {}).get(step.id) or {}
    return next((v for v in step.variants if v.id == decision.get("variant")), None)


def run_exit(ctx):
    return Outcome("exit", outcome="exited", detail=ctx.step.get("reason", "") or "exit step")


# --- contact changes ---------------------------------------------------------------------


def _changed(changed):
    return Outcome("next", outcome="changed" if changed else "unchanged")


def _required(ctx, name):
    value = ctx.step.get(name)
    if value in (None, ""):
        raise StepError(f"The step “{ctx.step.type}” has no {name}.")
    return value


def run_add_to_list(ctx):
    return _changed(ctx.contact.add_to_list(_required(ctx, "list"), at=ctx.now))


def run_remove_from_list(ctx):
    return _changed(ctx.contact.remove_from_list(_required(ctx, "list"), at=ctx.now))


def run_add_tag(ctx):
    return _changed(ctx.contact.add_tag(_required(ctx, "tag"), at=ctx.now))


def run_remove_tag(ctx):
    return _changed(ctx.contact.remove_tag(_required(ctx, "tag"), at=ctx.now))


def run_set_stage(ctx):
    return _changed(ctx.contact.set_stage(_required(ctx, "stage"), at=ctx.now))


def run_change_score(ctx):
    return _changed(ctx.contact.change_score(int(ctx.step.get("delta", 0) or 0), at=ctx.now))


# --- email -------------------------------------------------------------------------------


def email_page_for(step, pages=None):
    """The step's email page, fetched afresh (or once per advance batch, ``pages``): it
    must be live to be sent."""
    page = step.get("page")
    page_id = getattr(page, "pk", page)
    if not page_id:
        page = None
    elif pages is not None:
        page = pages.page(page_id)
    else:
        page = EmailPage.objects.filter(pk=page_id).first()
    if page is None:
        raise StepError("The email of this step was deleted, so it cannot be sent.")
    if not page.live or page.live_revision_id is None:
        raise StepError(f"The email “{page.title}” is not published, so it cannot be sent.")
    return page


def run_send_email(ctx):
    if ctx.enrollment.skip_overdue_sends:
        return Outcome("next", outcome="skipped: overdue")
    if is_sunset(ctx.flow, ctx.contact, ctx.now):
        if ctx.flow.sunset_flow_id:
            ctx.effects.offer(ctx.flow.sunset_flow_id, ctx.contact)
        return Outcome("next", outcome="skipped: inactive")
    page = email_page_for(ctx.step, ctx.pages)
    later, reason = _send_later(ctx)
    if later:
        return Outcome("defer", outcome="deferred", until=later, detail=reason)
    message = Message.objects.create(
        contact=ctx.contact,
        enrollment=ctx.enrollment,
        flow=ctx.flow,
        step_id=ctx.step.id,
        pass_number=PASS,
        page=page,
        revision_id=page.live_revision_id,
        to_email=ctx.contact.email,
        subject=page.subject,
        subject_override=ctx.step.get("subject_override", ""),
        transactional=ctx.flow.kind == FlowKind.TRANSACTIONAL,
        held_reason=ctx.enrollment.held_reason,
        created_at=ctx.now,
    )
    subject = _subject(ctx, page, message) if ctx.effects.simulated else message.subject
    message.subject = subject
    ctx.effects.deliver(message)
    return Outcome("next", outcome="queued", detail=subject)


def is_sunset(flow, contact, now):
    """Has the contact, known for the flow's sunset months, opened or clicked nothing since?"""
    months = flow.sunset_months
    if not months or flow.kind == FlowKind.TRANSACTIONAL:
        return False
    since = now - timedelta(days=30 * months)
    engaged = max(filter(None, [contact.last_open_at, contact.last_click_at]), default=None)
    return contact.created_at <= since and (engaged is None or engaged <= since)


def _send_later(ctx):
    """``(until, HoldReason)`` when the send must wait — the flow's send window, then for
    marketing the site's quiet hours, the site's frequency cap and the flow's — else
    ``(None, "")``. A held step runs again at ``until`` and checks them all afresh."""
    opens = timing.next_send_time(ctx.flow, ctx.contact, ctx.now)
    if opens > ctx.now:
        return opens, HoldReason.SEND_WINDOW
    if ctx.flow.kind == FlowKind.TRANSACTIONAL:
        return None, ""
    checks = (
        (HoldReason.QUIET_HOURS, lambda: timing.quiet_hours_end(ctx.contact, ctx.now)),
        (HoldReason.FREQUENCY_CAP, lambda: timing.frequency_cap_until(ctx.contact, ctx.now)),
        (HoldReason.FLOW_CAP, lambda: timing.flow_cap_until(ctx.flow, ctx.contact, ctx.now)),
    )
    for reason, until in checks:
        later = until()
        if later:
            return later, reason
    return None, ""


def _subject(ctx, page, message):
    from wagtail_flows.emails import merge_tags

    data = merge_data(ctx.contact, context=ctx.context)
    source = message.subject_override or page.subject
    try:
        return " ".join(merge_tags.render(source, data, autoescape=False).split())
    except Exception:  # a broken merge tag: show the raw subject in the simulation
        return source


# --- team and systems --------------------------------------------------------------------


def run_notify(ctx):
    recipients = [r.strip() for r in (ctx.step.get("recipients", "") or "").split(",")]
    recipients = [r for r in recipients if r]
    if not recipients:
        raise StepError("The notify step has no recipients.")
    contact = ctx.contact
    subject = ctx.step.get("subject", "") or f"Flow “{ctx.flow.name}”: {contact.email}"
    email = EmailMessage(subject=subject, body=notification_body(ctx), to=recipients)
    ctx.effects.notify(email)
    return Outcome("next", outcome="notified", detail=subject)


def notification_body(ctx):
    contact = ctx.contact
    lines = [ctx.step.get("message", "") or "", ""]
    lines += [
        f"Contact: {contact.full_name or '-'} <{contact.email}>",
        f"Lifecycle stage: {contact.get_stage_display()}",
        f"Score: {contact.score} (grade {contact.grade})",
        f"Flow: {ctx.flow.name}",
        "",
        "Recent activity:",
    ]
    for event in contact.events.order_by("-created_at", "-pk")[:10]:
        label = f"{event.get_kind_display()} {event.name}".strip()
        lines.append(f"- {event.created_at:%Y-%m-%d %H:%M} {strip_tags(label)}")
    return "\n".join(lines).strip() + "\n"


def webhook_payload(ctx):
    contact = ctx.contact
    return {
        "flow": {"id": ctx.flow.pk, "name": ctx.flow.name},
        "enrollment": ctx.enrollment.pk,
        "step": ctx.step.id,
        "contact": {
            "id": contact.pk,
            "email": contact.email,
            "first_name": contact.first_name,
            "last_name": contact.last_name,
            "stage": contact.stage,
            "score": contact.score,
            "properties": contact.properties,
        },
        "context": ctx.context,
        "sent_at": ctx.now.isoformat(),
    }


def signature(secret, body):
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def run_webhook(ctx):
    url = _required(ctx, "url")
    if not url.lower().startswith(("https://", "http://")):
        raise StepError(f"The webhook URL {url!r} is not an http(s) URL.")
    body = json.dumps(webhook_payload(ctx), default=str, sort_keys=True).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "wagtail-flows",
        # A receiver can drop a repeat: the same key means the same step of the same run.
        "X-Flows-Delivery": f"{ctx.enrollment.pk}:{ctx.step.id}:{PASS}",
    }
    secret = ctx.step.get("secret", "")
    if secret:
        headers["X-Flows-Signature"] = signature(secret, body)
    try:
        status = ctx.effects.post(url, body, headers)
    except OSError as exc:
        raise StepError(f"The webhook {url} failed: {exc}") from exc
    return Outcome("next", outcome=f"http {status}")


STEP_FUNCTIONS = {
    "send_email": run_send_email,
    "wait": run_wait,
    "wait_until": run_wait_until,
    "branch": run_branch,
    "split": run_split,
    "add_to_list": run_add_to_list,
    "remove_from_list": run_remove_from_list,
    "add_tag": run_add_tag,
    "remove_tag": run_remove_tag,
    "set_stage": run_set_stage,
    "change_score": run_change_score,
    "notify": run_notify,
    "webhook": run_webhook,
    "exit": run_exit,
}


def run_step(ctx):
    function = STEP_FUNCTIONS.get(ctx.step.type)
    if function is None:
        raise StepError(f"Unknown step type “{ctx.step.type}”.")
    return function(ctx)
