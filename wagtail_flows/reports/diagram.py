"""The flow drawn as its steps, with how many contacts wait at each (the flow editor's
live diagram, the report page and the template gallery's preview).

Given ``errors`` (``validation.errors_by_block``), each node carries the activation errors of
its block and the drawing those of the flow as a whole; ``editor`` makes nodes buttons that
open their block in the form.
"""

from django.db.models import Count
from django.utils.translation import gettext as _

from wagtail_flows.flows.describe import describe, describe_conditions, describe_never_enter_if
from wagtail_flows.models import Enrollment
from wagtail_flows.models.enrollments import OPEN_STATUSES

STEP_ICONS = {
    "send_email": "mail",
    "wait": "time",
    "wait_until": "calendar",
    "branch": "help",
    "split": "order",
    "add_to_list": "list-ul",
    "remove_from_list": "list-ul",
    "add_tag": "tag",
    "remove_tag": "tag",
    "set_stage": "user",
    "change_score": "plus",
    "notify": "comment",
    "webhook": "link-external",
    "exit": "logout",
}


def waiting_counts(flow):
    """{block id: open enrollments at it}; "" is the start of the flow."""
    if not flow.pk:
        return {}
    rows = (
        Enrollment.objects.filter(flow_id=flow.pk, status__in=OPEN_STATUSES)
        .values_list("current_step")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return dict(rows)


def step_nodes(stream, counts, errors=None):
    return [step_node(child, counts, errors or {}) for child in stream or ()]


def label_of(child):
    """The block's sentence; a half-filled block in the editor may hold values its describer
    does not expect, and is then named by its type."""
    try:
        return describe(child)
    except (TypeError, ValueError, AttributeError, KeyError, IndexError):
        return str(getattr(child.block, "label", None) or child.block_type)


def step_node(child, counts, errors):
    node = {
        "id": child.id,
        "type": child.block_type,
        "label": label_of(child),
        "icon": STEP_ICONS.get(child.block_type, "cog"),
        "waiting": counts.get(child.id, 0),
        "errors": errors.get(child.id, []),
        "columns": [],
    }
    value = child.value
    if child.block_type == "branch":
        node["columns"] = [
            {"label": _("Yes"), "steps": step_nodes(value.get("yes"), counts, errors)},
            {"label": _("No"), "steps": step_nodes(value.get("no"), counts, errors)},
        ]
    elif child.block_type == "split":
        node["columns"] = variant_columns(value.get("variants") or [], counts, errors)
    return node


def _weight(variant):
    weight = variant.get("weight")
    return max(weight, 0) if isinstance(weight, (int, float)) else 0


def variant_columns(variants, counts, errors=None):
    total = sum(_weight(v) for v in variants) or 1
    columns = []
    for index, variant in enumerate(variants):
        share = round(100 * _weight(variant) / total)
        name = variant.get("label") or chr(ord("A") + index)
        steps = step_nodes(variant.get("steps"), counts, errors)
        columns.append({"label": f"{name} ({share}%)", "steps": steps})
    return columns


def _conditions(stream, match):
    try:
        return describe_conditions(stream, match) if stream else ""
    except (TypeError, ValueError, AttributeError, KeyError, IndexError):
        return _("Conditions not complete yet")


def _never_enters(stream):
    try:
        return describe_never_enter_if(stream)
    except (TypeError, ValueError, AttributeError, KeyError, IndexError):
        return _("Never enters if: conditions not complete yet")


def flow_diagram(flow, errors=None, editor=False):
    counts = waiting_counts(flow)
    flow_errors, block_errors = errors or ([], {})
    return {
        "editor": editor,
        "errors": flow_errors,
        "error_count": len(flow_errors) + sum(len(m) for m in block_errors.values()),
        "triggers": [
            {"id": child.id, "label": label_of(child), "errors": block_errors.get(child.id, [])}
            for child in flow.triggers
        ],
        "entry": _conditions(flow.entry_conditions, flow.entry_match),
        "never": _never_enters(flow.never_enter_if),
        "starting": counts.get("", 0),
        "steps": step_nodes(flow.steps, counts, block_errors),
        "goal": _conditions(flow.goal, flow.goal_match),
        "exits": [label_of(child) for child in flow.exit_conditions],
    }
