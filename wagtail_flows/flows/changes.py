"""What changed between two versions of a flow, in the marketer's words, side by side.

``flow_changes(published, draft)`` compares what decides who is emailed and when — kind,
triggers, entry conditions and "never enter if", exit conditions, goal, timing — and
``step_changes`` the steps, matched by block id (the id a contact's run is at): added,
removed, changed or unchanged.
"""

import json
from dataclasses import dataclass, field

from wagtail_flows.flows.describe import describe, describe_conditions
from wagtail_flows.flows.tree import FlowTree

WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


@dataclass
class Section:
    label: str
    before: list
    after: list
    changed: bool


@dataclass
class StepChange:
    change: str  # "added", "removed", "changed", "unchanged"
    depth: int
    before: str = ""
    after: str = ""
    where: str = ""  # "Yes", "No" or a variant's label inside a branch or split


@dataclass
class FlowChanges:
    sections: list = field(default_factory=list)
    steps: list = field(default_factory=list)

    @property
    def changed_sections(self):
        return [section for section in self.sections if section.changed]

    @property
    def changed_steps(self):
        return [step for step in self.steps if step.change != "unchanged"]

    @property
    def has_changes(self):
        return bool(self.changed_sections or self.changed_steps)

    def counts(self):
        counts = {"added": 0, "removed": 0, "changed": 0}
        for step in self.changed_steps:
            counts[step.change] += 1
        return counts


def flow_changes(published, draft):
    sections = [
        _section("Name", published, draft, lambda f: [f.name], ("name",)),
        _section("Description", published, draft, lambda f: [f.description], ("description",)),
        _section("Kind", published, draft, lambda f: [f.get_kind_display()], ("kind",)),
        _section("Triggers", published, draft, _triggers, ("triggers",)),
        _section(
            "Who may enter",
            published,
            draft,
            lambda f: [describe_conditions(f.entry_conditions, f.entry_match)],
            ("entry_conditions", "entry_match"),
        ),
        _section("Never enters if", published, draft, _never_enters, ("never_enter_if",)),
        _section("Re-entry", published, draft, _reentry, ("reentry", "reentry_days")),
        _section("Goal", published, draft, _goal, ("goal", "goal_match")),
        _section("Exit when", published, draft, _exits, ("exit_conditions",)),
        _section("Dates", published, draft, _dates, ("starts_at", "ends_at")),
        _section(
            "Send window",
            published,
            draft,
            _window,
            ("send_window_start", "send_window_end", "send_weekdays", "send_window_timezone"),
        ),
        _section("Frequency cap", published, draft, _cap, ("cap_emails", "cap_days")),
        _section(
            "Overdue emails on resume",
            published,
            draft,
            lambda f: [f.get_on_resume_display()],
            ("on_resume",),
        ),
        _section(
            "Inactive contacts", published, draft, _sunset, ("sunset_months", "sunset_flow_id")
        ),
    ]
    return FlowChanges(sections=sections, steps=step_changes(published, draft))


def _cap(flow):
    if not flow.cap_emails:
        return ["The site's cap only"]
    return [f"At most {flow.cap_emails} of its emails per contact in {flow.cap_days} days"]


def _sunset(flow):
    if not flow.sunset_months:
        return ["Sent to everyone"]
    line = f"Skipped after {flow.sunset_months} months without an open or click"
    if flow.sunset_flow_id:
        line += f", offered “{flow.sunset_flow}”"
    return [line]


def _section(label, published, draft, lines, fields):
    changed = any(_raw(published, name) != _raw(draft, name) for name in fields)
    return Section(label, lines(published), lines(draft), changed)


def _raw(flow, name):
    """A field's value as stored, block ids left out (a copied trigger is the same)."""
    value = getattr(flow, name)
    if hasattr(value, "get_prep_value"):
        return json.dumps(_without_ids(value.get_prep_value()), sort_keys=True, default=str)
    return value


def _without_ids(data):
    if isinstance(data, list):
        return [_without_ids(item) for item in data]
    if isinstance(data, dict):
        return {key: _without_ids(value) for key, value in data.items() if key != "id"}
    return data


def _triggers(flow):
    return [describe(child) for child in flow.triggers] or ["No trigger"]


def _reentry(flow):
    text = flow.get_reentry_display()
    if flow.reentry_days:
        text += f" ({flow.reentry_days} days)"
    return [text]


def _goal(flow):
    return [describe_conditions(flow.goal, flow.goal_match)] if flow.goal else ["No goal"]


def _never_enters(flow):
    return [describe(child) for child in flow.never_enter_if] or ["No one kept out"]


def _exits(flow):
    return [describe(child) for child in flow.exit_conditions] or ["Only at the end"]


def _dates(flow):
    starts = flow.starts_at.strftime("%Y-%m-%d %H:%M") if flow.starts_at else "now"
    ends = flow.ends_at.strftime("%Y-%m-%d %H:%M") if flow.ends_at else "no end"
    return [f"From {starts}, until {ends}"]


def _window(flow):
    if flow.send_window_start and flow.send_window_end:
        hours = f"{flow.send_window_start:%H:%M}–{flow.send_window_end:%H:%M}"
    else:
        hours = "any time"
    days = "/".join(WEEKDAYS[int(day)] for day in flow.send_weekdays or []) or "every day"
    return [f"{hours}, {days}, {flow.get_send_window_timezone_display()}"]


# --- steps --------------------------------------------------------------------------------


def step_changes(published, draft):
    """Every step of both versions in the draft's order; a removed step shows below the
    step it followed in the published version."""
    old, new = _steps(published), _steps(draft)
    removed_after, anchor = {}, None  # surviving step id (None: the top) -> removed ids
    for step_id in old:
        if step_id in new:
            anchor = step_id
        else:
            removed_after.setdefault(anchor, []).append(step_id)

    def removed(after):
        return [
            StepChange("removed", old[sid][0], before=old[sid][2], where=old[sid][1])
            for sid in removed_after.get(after, ())
        ]

    rows = removed(None)
    for step_id, (depth, where, text, own) in new.items():
        if step_id not in old:
            rows.append(StepChange("added", depth, after=text, where=where))
        else:
            change = "unchanged" if old[step_id][3] == own else "changed"
            rows.append(StepChange(change, depth, old[step_id][2], text, where))
        rows += removed(step_id)
    return rows


def _steps(flow):
    """{step id: (depth, where, description, own settings)} in document order."""
    described = FlowTree(flow.steps)
    raw = FlowTree(flow.steps.get_prep_value())
    found = {}

    def visit(steps, depth, where):
        for step in steps:
            own = raw.get(step.id)
            found[step.id] = (depth, where, describe((step.type, step.value)), _own(own))
            for side, children in step.sides.items():
                visit(children, depth + 1, side.capitalize())
            for variant in step.variants:
                visit(variant.steps, depth + 1, variant.label or "Variant")

    visit(described.root, 0, "")
    return found


def _own(raw_step):
    """A step's settings without the steps it holds (those are compared on their own)."""
    value = dict(raw_step.value or {}) if isinstance(raw_step.value, dict) else raw_step.value
    if raw_step.type == "branch":
        value = {k: v for k, v in value.items() if k not in ("yes", "no")}
    elif raw_step.type == "split":
        value = dict(value)
        value["variants"] = [
            {**item, "value": {k: v for k, v in item["value"].items() if k != "steps"}}
            if isinstance(item, dict) and isinstance(item.get("value"), dict)
            else item
            for item in value.get("variants") or []
        ]
    return json.dumps(value, sort_keys=True, default=str)
