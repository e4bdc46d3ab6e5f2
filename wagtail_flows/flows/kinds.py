"""Which event kinds each trigger and condition block listens to.

Read from the block types alone (a StreamValue, raw stream JSON or ``(type, value)`` pairs),
so the listening index, dispatch and validation need no database and no parsing.
Sweep triggers (``cart_abandoned``, ``inactive``, ``engagement``, ``date_reached``,
``segment_entered``, ``segment_left``) are detected by the sweep, not by events, and
``manual`` by a person: they listen to no kind.
"""

from wagtail_flows.vocabulary import EventKind

SWEEP_TRIGGERS = frozenset(
    {
        "cart_abandoned",
        "inactive",
        "engagement",
        "date_reached",
        "segment_entered",
        "segment_left",
    }
)
# Fired when a contact enters or leaves the segment they name (engine/segment_triggers.py).
SEGMENT_TRIGGERS = frozenset({"segment_entered", "segment_left"})

EVENT_KINDS = {
    "page_viewed": {EventKind.PAGE_VIEWED.value},
    "document_downloaded": {EventKind.DOCUMENT_DOWNLOADED.value},
    "form_submitted": {EventKind.FORM_SUBMITTED.value},
    "order_placed": {EventKind.ORDER_PLACED.value},
    "list_joined": {EventKind.LIST_JOINED.value},
    "tag_added": {EventKind.TAG_ADDED.value},
    "stage_changed": {EventKind.STAGE_CHANGED.value},
    "score_reached": {EventKind.SCORE_CHANGED.value},
    "email_engaged": {EventKind.EMAIL_OPENED.value, EventKind.LINK_CLICKED.value},
    "custom_event": {EventKind.CUSTOM.value},
    "grade_becomes": {EventKind.GRADE_CHANGED.value},
    "property_changed": {EventKind.PROPERTY_CHANGED.value},
}

CHANGED_BY = {
    "in_list": {EventKind.LIST_JOINED.value},
    "has_tag": {EventKind.TAG_ADDED.value},
    "stage_is": {EventKind.STAGE_CHANGED.value},
    "score_at_least": {EventKind.SCORE_CHANGED.value},
    "grade_is": {EventKind.GRADE_CHANGED.value},
    "opened_email": {EventKind.EMAIL_OPENED.value},
    "clicked_email": {EventKind.LINK_CLICKED.value},
    "has_ordered": {EventKind.ORDER_PLACED.value},
    "property": {EventKind.PROPERTY_CHANGED.value},
    "is_subscribed": set(),
}
# ``group`` and ``none_of`` listen to the kinds of the conditions they hold (a NOT can also
# become true when a tag or list membership goes: the next event or sweep then rechecks it).


def trigger_event_kinds(block_type):
    """The event kinds a trigger of this type listens to (empty for sweep/manual triggers)."""
    return set(EVENT_KINDS.get(block_type, ()))


def conditions_event_kinds(stream):
    """Event kinds that can make these conditions become true (goals and exits listen)."""
    kinds = set()
    for block_type, value in _pairs(stream):
        if block_type in ("group", "none_of"):
            kinds |= conditions_event_kinds(value.get("conditions"))
        elif block_type == "did_event":
            kinds.add(value.get("kind"))
        else:
            kinds |= CHANGED_BY.get(block_type, set())
    return kinds


def _pairs(stream):
    for child in stream or ():
        if isinstance(child, dict):  # raw stream JSON
            yield child.get("type"), child.get("value") or {}
        elif isinstance(child, tuple):
            yield child
        else:
            yield child.block_type, child.value
