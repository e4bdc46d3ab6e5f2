"""Conditions on a contact, evaluated on one contact or as a database filter.

``evaluate(stream, contact)`` answers for one contact; ``to_q(stream)`` gives the same answer
for every contact at once as a ``Q`` over ``Contact`` (segments, audiences). Both read the
same block values (see ``blocks.ConditionsBlock``) and agree — ``tests/test_conditions.py``
checks that with generated contacts, events and conditions.

Per-contact evaluation reads the contact's own fields, its tags and list memberships
(``prefetch_related("tagged_items__tag", "memberships")`` evaluates many contacts without a
query each); event, email and order conditions count rows with one query each.
"""

from django.db.models import Q
from django.utils import timezone

from wagtail_flows.flows import typed_properties
from wagtail_flows.flows.conditions import activity, contact, properties
from wagtail_flows.flows.conditions.common import EVERYTHING, negate
from wagtail_flows.flows.conditions.properties import (
    NUMBER_FIELDS,
    PROPERTY_NAME_RE,
    TEXT_FIELDS,
    property_args,
)
from wagtail_flows.flows.kinds import conditions_event_kinds

# --- public API ---------------------------------------------------------------------------

event_kinds = conditions_event_kinds  # goals and exits listen to these kinds


def evaluate(stream, contact, *, match="all", now=None, context=None):
    """True if ``contact`` meets the conditions (all of them, or any with ``match="any"``)."""
    children = _children(stream)
    if not children:
        return True
    now = now or timezone.now()
    results = (_evaluate_one(c, contact, now, context) for c in children)
    return all(results) if match != "any" else any(results)


def _evaluate_one(child, contact, now, context):
    """A run started by an event (its context names it) answers from what it captured."""
    if child.block_type in GROUPS:
        return GROUPS[child.block_type](child.value, contact, now, context)
    if child.block_type in IN_RUN and isinstance(context, dict) and "event" in context:
        return IN_RUN[child.block_type](child.value, context)
    return EVALUATE[child.block_type](child.value, contact, now)


def to_q(stream, *, match="all", now=None):
    """A ``Q`` over ``Contact`` selecting exactly the contacts ``evaluate`` accepts."""
    children = _children(stream)
    if not children:
        return Q()
    now = now or timezone.now()
    combined = None
    for child in children:
        q = TO_Q[child.block_type](child.value, now)
        if combined is None:
            combined = q
        elif match == "any":
            combined |= q
        else:
            combined &= q
    return combined


def _eval_group(value, contact, now, context):
    match = value.get("match") or "all"
    return evaluate(value.get("conditions"), contact, match=match, now=now, context=context)


def _eval_none_of(value, contact, now, context):
    """True when none of the nested conditions holds (true when there are none)."""
    children = _children(value.get("conditions"))
    return not any(_evaluate_one(c, contact, now, context) for c in children)


def _q_group(value, now):
    children = _children(value.get("conditions"))
    if not children:
        return EVERYTHING
    return to_q(children, match=value.get("match") or "all", now=now)


def _q_none_of(value, now):
    """NOT as ``pk NOT IN (contacts meeting any)``: right with NULLs, unlike ``~Q(column)``."""
    children = _children(value.get("conditions"))
    if not children:
        return EVERYTHING
    return negate(to_q(children, match="any", now=now))


# Groups evaluate their nested stream with the run's context (form answers inside a group).
GROUPS = {"group": _eval_group, "none_of": _eval_none_of}


def count(stream, *, match="all", now=None):
    """How many contacts ``to_q`` selects. A lone condition on a property defined in the
    admin is counted on its index alone (a segment over 1M contacts in well under a second)."""
    from wagtail_flows.models.contacts import Contact

    children = _children(stream)
    now = now or timezone.now()
    if len(children) == 1 and children[0].block_type == "property":
        name, operator, text = property_args(children[0].value)
        prop = typed_properties.defined(name) if PROPERTY_NAME_RE.fullmatch(name) else None
        counted = typed_properties.count_alone(prop, operator, text, now) if prop else None
        if counted is not None and name not in TEXT_FIELDS | NUMBER_FIELDS:
            return counted
    return Contact.objects.filter(to_q(stream, match=match, now=now)).count()


def _children(stream):
    if stream is None:
        return []
    stream = list(stream)
    if stream and isinstance(stream[0], dict):  # raw stream JSON
        from wagtail_flows.flows.blocks import ConditionsBlock

        stream = ConditionsBlock().to_python(stream)
    children = []
    for child in stream:
        if isinstance(child, tuple):
            block_type, value = child
            child = _Child(block_type, value)
        children.append(child)
    return children


class _Child:
    def __init__(self, block_type, value):
        self.block_type = block_type
        self.value = value


EVALUATE = {**contact.EVALUATE, **properties.EVALUATE, **activity.EVALUATE}
TO_Q = {
    **contact.TO_Q,
    **properties.TO_Q,
    **activity.TO_Q,
    "group": _q_group,
    "none_of": _q_none_of,
}
IN_RUN = activity.IN_RUN
