"""Navigation in a flow's step tree by StreamField block id.

A flow's steps are a stream; ``branch`` steps hold the streams ``yes`` and ``no``, ``split``
steps a list of variants, each with a stream ``steps``. The engine never uses indexes: a
contact is "at" a block id, and the step after it is its next sibling, or when its stream
ends, the step after the branch or split that holds it.
"""

import hashlib
import json
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Variant:
    id: str
    label: str
    weight: int
    steps: list = field(default_factory=list)


@dataclass
class Step:
    id: str
    type: str
    value: Any
    sides: dict = field(default_factory=dict)  # branch: {"yes": [Step], "no": [Step]}
    variants: list = field(default_factory=list)  # split: [Variant]

    def get(self, name, default=None):
        try:
            result = self.value.get(name, default)
        except AttributeError:
            return default
        return default if result is None else result


def _stream_children(stream):
    """(id, type, value) of each child of a StreamValue, or of raw stream JSON."""
    for child in stream or ():
        if isinstance(child, dict):
            yield child.get("id") or "", child["type"], child.get("value")
        else:
            yield child.id or "", child.block_type, child.value


def _list_items(list_value):
    """(id, value) of each item of a ListValue, or of raw ListBlock JSON."""
    bound = getattr(list_value, "bound_blocks", None)
    if bound is not None:
        for item in bound:
            yield item.id or "", item.value
        return
    for item in list_value or ():
        if isinstance(item, dict) and "value" in item and item.get("type") == "item":
            yield item.get("id") or "", item["value"]
        else:
            yield "", item


class FlowTree:
    """The steps of one flow, indexed by block id."""

    def __init__(self, stream):
        self.by_id = {}
        self.successor = {}  # step id -> the id of the step after it (None: the end)
        self.root = self._build(stream)
        self._link(self.root, after=None)

    def _build(self, stream):
        return [self._node(id_, type_, value) for id_, type_, value in _stream_children(stream)]

    def _node(self, id_, type_, value):
        step = Step(id=id_, type=type_, value=value)
        self.by_id[id_] = step
        if type_ == "branch":
            step.sides = {side: self._build(step.get(side)) for side in ("yes", "no")}
        elif type_ == "split":
            for item_id, item in _list_items(step.get("variants", ())):
                item_step = Step(id=item_id, type="variant", value=item)
                step.variants.append(
                    Variant(
                        id=item_id,
                        label=item_step.get("label", ""),
                        weight=int(item_step.get("weight", 0) or 0),
                        steps=self._build(item_step.get("steps")),
                    )
                )
        return step

    def _link(self, steps, after):
        for index, step in enumerate(steps):
            following = steps[index + 1].id if index + 1 < len(steps) else after
            self.successor[step.id] = following
            for side in step.sides.values():
                self._link(side, following)
            for variant in step.variants:
                self._link(variant.steps, following)

    # --- navigation ----------------------------------------------------------------------

    def get(self, step_id):
        return self.by_id.get(step_id)

    def first(self):
        return self.root[0] if self.root else None

    def next_after(self, step_id):
        following = self.successor.get(step_id)
        return self.by_id.get(following) if following else None

    def start_of(self, steps, parent_id):
        """The first step of a branch side or split variant (or the step after the parent)."""
        return steps[0] if steps else self.next_after(parent_id)

    def route_from(self, step_id):
        """The ids this contact runs from ``step_id`` on, not entering branches or splits."""
        route = []
        while step_id and step_id in self.by_id and len(route) < len(self.by_id):
            route.append(step_id)
            step_id = self.successor.get(step_id)
        return route

    def resolve(self, current, route):
        """The step a contact at ``current`` is at now: itself while it exists, else the
        next surviving step of the route it was on (None: the flow is over for it)."""
        if not current:
            return self.first()
        if current in self.by_id:
            return self.by_id[current]
        old = list(route or ())
        later = old[old.index(current) + 1 :] if current in old else old
        for step_id in later:
            if step_id in self.by_id:
                return self.by_id[step_id]
        return None

    def walk(self, steps=None):
        """Every step, depth first, in document order."""
        for step in self.root if steps is None else steps:
            yield step
            for side in step.sides.values():
                yield from self.walk(side)
            for variant in step.variants:
                yield from self.walk(variant.steps)


_cache = OrderedDict()
_CACHE_SIZE = 256


def tree_for(flow):
    """The flow's tree, cached per process by the flow and its steps' JSON."""
    raw = json.dumps(flow.steps.get_prep_value(), sort_keys=True, default=str)
    key = (flow.pk, hashlib.blake2b(raw.encode(), digest_size=16).digest())
    tree = _cache.get(key)
    if tree is None:
        tree = FlowTree(flow.steps)
        _cache[key] = tree
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return tree


def email_page_ids(stream):
    """The email page ids the send steps of ``stream`` use, in order of first use, each once.
    Read from the stream's JSON: the pages are not loaded into the stream (a page published
    afterwards would still be the unpublished copy there)."""
    ids = []
    raw = list(stream.raw_data) if hasattr(stream, "raw_data") else stream
    for step in FlowTree(raw).walk():
        page = step.get("page") if step.type == "send_email" else None
        page_id = getattr(page, "pk", page)
        if page_id and page_id not in ids:
            ids.append(page_id)
    return ids
