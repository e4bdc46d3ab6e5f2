"""A contact's timeline: events, emails and flow runs, newest first, bounded.

Each flow run shows its path: the steps it ran, in words, with their time and outcome (the
branch or variant it took), and where it waits now. The step runs are prefetched and the
steps described in bulk per step type, so the queries do not grow with the runs shown.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.utils.formats import date_format
from django.utils.text import Truncator
from django.utils.timezone import localtime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from wagtail.admin.admin_url_finder import AdminURLFinder
from wagtail.admin.panels import Panel

from wagtail_flows.flows.describe import describe
from wagtail_flows.flows.tree import FlowTree


@dataclass
class TimelineEntry:
    at: datetime
    kind: str  # "event", "message", "enrollment" or "consent"
    title: str
    detail: str = ""
    url: str = ""
    path: list = field(default_factory=list)  # PathStep of a flow run
    now: str = ""  # where an open run is now
    proof: list = field(default_factory=list)  # (label, value) of a consent record


@dataclass
class PathStep:
    at: datetime
    label: str
    outcome: str
    failed: bool = False


def contact_timeline(contact, limit=50, user=None):
    """The newest ``limit`` entries: four bounded queries, merged by date."""
    if not contact.pk:
        return []
    finder = AdminURLFinder(user)
    entries = [
        *_events(contact, limit),
        *_messages(contact, limit),
        *_enrollments(contact, limit, finder),
        *_consents(contact, limit),
    ]
    entries.sort(key=lambda entry: entry.at, reverse=True)
    return entries[:limit]


def _events(contact, limit):
    events = contact.events.select_related("page").order_by("-created_at", "-pk")[:limit]
    for event in events:
        words = IN_WORDS.get(event.kind)
        if words is not None:
            detail = words(event)
        else:
            detail = event.name or (event.page.title if event.page else "")
            if event.value is not None:
                detail = f"{detail} ({event.value})".strip()
        yield TimelineEntry(event.created_at, "event", event.get_kind_display(), detail)


def score_change_words(event):
    """ "+5 Pricing page viewed (now 25)": the points, why, and the new score."""
    data = event.data if isinstance(event.data, dict) else {}
    delta = data.get("delta", event.value if event.value is not None else 0)
    points = f"{int(delta):+d}".replace("-", "−")
    source = data.get("source")
    if source == "rule":
        why = event.name or _("a scoring rule")
    elif source == "decay":
        why = _("decay after inactivity") if data.get("mode") == "points" else _("monthly decay")
    elif source == "edit":
        why = _("edited in the admin")
    else:
        why = _("by a flow step")
    words = f"{points} {why}"
    if "to" in data:
        words = _("%(change)s (now %(score)s)") % {"change": words, "score": data["to"]}
    return words


def grade_change_words(event):
    data = event.data if isinstance(event.data, dict) else {}
    return _("from %(old)s to %(new)s") % {
        "old": data.get("from") or "?",
        "new": data.get("to") or event.name or "?",
    }


IN_WORDS = {"score_changed": score_change_words, "grade_changed": grade_change_words}


def _messages(contact, limit):
    messages = contact.messages.select_related("flow", "page").order_by("-created_at", "-pk")
    for message in messages[:limit]:
        name = message.subject or message.subject_override or (message.page and message.page.title)
        title = _("Email “%s”") % (name or _("deleted"))
        parts = [message.get_status_display()]
        if message.opens:
            parts.append(_("opened %d×") % message.opens)
        if message.clicks:
            parts.append(_("clicked %d×") % message.clicks)
        if message.flow:
            parts.append(_("from “%s”") % message.flow)
        at = message.sent_at or message.created_at
        yield TimelineEntry(at, "message", title, ", ".join(parts))


CONSENT_TITLES = {
    "confirmed": gettext_lazy("Marketing consent given"),
    "awaiting confirmation": gettext_lazy("Asked to subscribe: awaiting confirmation"),
    "expired": gettext_lazy("Asked to subscribe: not confirmed"),
}


def _consents(contact, limit):
    """Each consent request with its proof: where, which words, when and from where."""
    for record in contact.consents.order_by("-requested_at", "-pk")[:limit]:
        title = CONSENT_TITLES[record.state]
        at = record.confirmed_at or record.requested_at
        yield TimelineEntry(
            at, "consent", str(title), record.get_method_display(), proof=consent_proof(record)
        )


def consent_proof(record):
    """The proof of one consent record as (label, value) lines, the empty ones left out."""

    def when(value, ip):
        if value is None:
            return ""
        stamp = date_format(localtime(value), "DATETIME_FORMAT")
        return _("%(when)s from %(ip)s") % {"when": stamp, "ip": ip} if ip else stamp

    page = record.page_title
    if record.page_url:
        page = f"{page} ({record.page_url})".strip()
    lines = [
        (_("Address"), record.email),
        (_("Form or page"), page),
        (_("Wording shown"), record.wording),
        (_("Requested"), when(record.requested_at, record.requested_ip)),
        (_("Confirmation sent"), when(record.confirmation_sent_at, "")),
        (_("Confirmed"), when(record.confirmed_at, record.confirmed_ip)),
    ]
    return [(label, value) for label, value in lines if value]


def _enrollments(contact, limit, finder):
    runs = list(
        contact.enrollments.select_related("flow")
        .prefetch_related("step_runs")
        .order_by("-enrolled_at", "-pk")[:limit]
    )
    labels = StepLabels(runs)
    for run in runs:
        title = _("Entered flow “%s”") % run.flow + _segment_reason(run.context)
        detail = run.get_status_display()
        if run.exit_reason:
            detail = f"{detail}: {run.exit_reason}"
        url = finder.get_edit_url(run.flow) or ""
        path = [_path_step(step_run, labels.of(run, step_run)) for step_run in run.step_runs.all()]
        entry = TimelineEntry(run.enrolled_at, "enrollment", title, detail, url, path)
        entry.now = _where_now(run, labels)
        yield entry


SEGMENT_REASONS = {
    "segment_entered": gettext_lazy(" on entering the segment “%s”"),
    "segment_left": gettext_lazy(" on leaving the segment “%s”"),
}


def _segment_reason(context):
    """The segment a run started for (engine/segment_triggers.py names it in the context)."""
    context = context if isinstance(context, dict) else {}
    reason = SEGMENT_REASONS.get(context.get("trigger"))
    return reason % context.get("segment", "") if reason and context.get("segment") else ""


def _path_step(step_run, label):
    failed = step_run.outcome == "failed"
    return PathStep(step_run.created_at, label, outcome_words(step_run), failed)


def _where_now(run, labels):
    if not run.is_open:
        return ""
    if not run.current_step:
        return _("About to start")
    step = labels.label(run.flow_id, run.current_step) or _("a step since removed")
    if run.next_run_at:
        return _("Now at: %(step)s, until %(when)s") % {
            "step": step,
            "when": date_format(localtime(run.next_run_at), "SHORT_DATETIME_FORMAT"),
        }
    return _("Now at: %s") % step


OUTCOMES = {
    "queued": gettext_lazy("email queued"),
    "waited": gettext_lazy("waited"),
    "yes": gettext_lazy("took Yes"),
    "no": gettext_lazy("took No"),
    "no variant": gettext_lazy("no variant to take"),
    "changed": gettext_lazy("done"),
    "unchanged": gettext_lazy("nothing to change"),
    "notified": gettext_lazy("team notified"),
    "exited": gettext_lazy("left the flow"),
    "skipped: overdue": gettext_lazy("skipped: overdue after a pause"),
    "failed": gettext_lazy("failed"),
}


def outcome_words(step_run):
    if step_run.outcome == "variant":
        return _("took variant %s") % step_run.branch
    words = str(OUTCOMES.get(step_run.outcome, step_run.outcome))
    if step_run.error:
        words = f"{words}: {Truncator(step_run.error).chars(160)}"
    return words


def _steps_block():
    from wagtail_flows.models import Flow

    return Flow._meta.get_field("steps").stream_block


class StepLabels:
    """The steps that runs passed or wait at, described in words ("Wait 3 days", "Send
    “Welcome”"): one bulk conversion per step type over all the runs, so choosers (email
    pages, lists) cost one query per type, however many runs and flows there are."""

    def __init__(self, enrollments):
        steps = {}
        trees = {}
        for run in enrollments:
            if run.flow_id not in trees:
                trees[run.flow_id] = FlowTree(list(run.flow.steps.raw_data))
            tree = trees[run.flow_id]
            for step_id in [s.step_id for s in run.step_runs.all()] + [run.current_step]:
                if tree.get(step_id):
                    steps[(run.flow_id, step_id)] = tree.get(step_id)
        self.labels = self._describe(steps)

    @staticmethod
    def _describe(steps):
        by_type = defaultdict(list)
        for key, step in steps.items():
            by_type[step.type].append((key, step))
        labels = {}
        stream_block = _steps_block()
        for step_type, items in by_type.items():
            block = stream_block.child_blocks.get(step_type)
            if block is None:
                continue
            values = block.bulk_to_python([_without_nested_steps(step) for _key, step in items])
            for (key, _step), value in zip(items, values, strict=True):
                labels[key] = describe((step_type, value))
        return labels

    def label(self, flow_id, step_id):
        return self.labels.get((flow_id, step_id), "")

    def of(self, run, step_run):
        label = self.label(run.flow_id, step_run.step_id)
        if label:
            return label
        block = _steps_block().child_blocks.get(step_run.step_type)
        name = block.label if block else step_run.step_type
        return _("%s (removed from the flow since)") % name


def _without_nested_steps(step):
    """A branch's or split's own settings, without the steps inside it (described when the
    run reaches them), so converting it loads nothing it does not show."""
    value = dict(step.value or {})
    if step.type == "branch":
        value.update(yes=[], no=[])
    elif step.type == "split":
        value["variants"] = [_variant_only(item) for item in value.get("variants") or []]
    return value


def _variant_only(item):
    if isinstance(item, dict) and item.get("type") == "item" and "value" in item:
        return {**item, "value": {**item["value"], "steps": []}}
    return {**item, "steps": []} if isinstance(item, dict) else item


class ContactTimelinePanel(Panel):
    def __init__(self, heading=None, limit=50, **kwargs):
        self.limit = limit
        super().__init__(heading=heading or gettext_lazy("Timeline"), **kwargs)

    def clone_kwargs(self):
        return {**super().clone_kwargs(), "limit": self.limit}

    class BoundPanel(Panel.BoundPanel):
        template_name = "wagtail_flows/admin/panels/contact_timeline.html"

        def get_context_data(self, parent_context=None):
            context = super().get_context_data(parent_context)
            user = self.request.user if self.request else None
            context["entries"] = contact_timeline(self.instance, self.panel.limit, user)
            context["limit"] = self.panel.limit
            lists = self.instance.lists.values_list("name", flat=True) if self.instance.pk else []
            context["lists"] = list(lists)
            return context
