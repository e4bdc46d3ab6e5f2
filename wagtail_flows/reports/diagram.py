"""The flow drawn as its steps, with how many contacts wait at each (the flow editor's
diagram panel, the report page and the template gallery's preview)."""

from django.db.models import Count
from django.utils.translation import gettext as _

from wagtail_flows.flows.describe import describe, describe_conditions
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


def step_nodes(stream, counts):
    return [step_node(child, counts) for child in stream or ()]


def step_node(child, counts):
    node = {
        "id": child.id,
        "type": child.block_type,
        "label": describe(child),
        "icon": STEP_ICONS.get(child.block_type, "cog"),
        "waiting": counts.get(child.id, 0),
        "columns": [],
    }
    value = child.value
    if child.block_type == "branch":
        node["columns"] = [
            {"label": _("Yes"), "steps": step_nodes(value.get("yes"), counts)},
            {"label": _("No"), "steps": step_nodes(value.get("no"), counts)},
        ]
    elif child.block_type == "split":
        node["columns"] = variant_columns(value.get("variants") or [], counts)
    return node


def variant_columns(variants, counts):
    total = sum(max(v.get("weight") or 0, 0) for v in variants) or 1
    columns = []
    for index, variant in enumerate(variants):
        share = round(100 * max(variant.get("weight") or 0, 0) / total)
        name = variant.get("label") or chr(ord("A") + index)
        columns.append(
            {"label": f"{name} ({share}%)", "steps": step_nodes(variant.get("steps"), counts)}
        )
    return columns


def flow_diagram(flow):
    counts = waiting_counts(flow)
    return {
        "triggers": [describe(child) for child in flow.triggers],
        "entry": describe_conditions(flow.entry_conditions, flow.entry_match)
        if flow.entry_conditions
        else "",
        "starting": counts.get("", 0),
        "steps": step_nodes(flow.steps, counts),
        "goal": describe_conditions(flow.goal, flow.goal_match) if flow.goal else "",
        "exits": [describe(child) for child in flow.exit_conditions],
    }
