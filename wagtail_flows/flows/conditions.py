"""Conditions on a contact, evaluated on one contact or as a database filter.

``evaluate(stream, contact)`` answers for one contact; ``to_q(stream)`` gives the same answer
for every contact at once as a ``Q`` over ``Contact`` (segments, audiences). Both read the
same block values (see ``blocks.ConditionsBlock``) and agree — ``tests/test_conditions.py``
checks that with generated contacts, events and conditions.

Per-contact evaluation reads the contact's own fields, its tags and list memberships
(``prefetch_related("tagged_items__tag", "memberships")`` evaluates many contacts without a
query each); event, email and order conditions count rows with one query each.
"""

import functools
import re
from datetime import timedelta
from decimal import Decimal

from django.db import models
from django.db.models import Case, Count, Q, When
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.db.models.lookups import (
    GreaterThan,
    GreaterThanOrEqual,
    In,
    LessThan,
    LessThanOrEqual,
    Regex,
)
from django.utils import timezone

from wagtail_flows.flows import typed_properties
from wagtail_flows.flows.kinds import conditions_event_kinds
from wagtail_flows.models.contacts import (
    ContactStatus,
    Event,
    EventKind,
    ListMembership,
    TaggedContact,
)
from wagtail_flows.models.form_mapping import PROPERTY_KEY_RE

NOTHING = Q(pk__in=[])
# Not Q(): an empty Q vanishes from an OR, and "any" with a vacuous condition must match all.
EVERYTHING = Q(pk__isnull=False)
TEXT_FIELDS = frozenset({"email", "first_name", "last_name", "source", "timezone"})
NUMBER_FIELDS = frozenset({"score", "orders_count"})
# Type names of SQLite's JSON_TYPE() and PostgreSQL's jsonb_typeof(), per JSON type.
NUMBER_TYPES = ("integer", "real", "number")
STRING_TYPES = ("text", "string")
BOOLEAN_TYPES = ("true", "false", "boolean")
CONTAINER_TYPES = ("object", "array")
_NUMBER_RE = re.compile(r"\s*-?\d+(\.\d+)?\s*")
# Stored text that orders as a number ("4" from a form's number field): the same pattern in
# Python and in the database's regex (\A and \Z in both Python and PostgreSQL).
NUMERIC_TEXT = r"\A-?[0-9]+(\.[0-9]+)?\Z"
_NUMERIC_TEXT_RE = re.compile(NUMERIC_TEXT)
# Property names usable as JSON keys in a database lookup: a letter, then letters, digits or
# single underscores (``__`` would read as a nested lookup, a digit as an array index).
PROPERTY_NAME_RE = PROPERTY_KEY_RE


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


def count(stream, *, match="all", now=None):
    """How many contacts ``to_q`` selects. A lone condition on a property defined in the
    admin is counted on its index alone (a segment over 1M contacts in well under a second)."""
    from wagtail_flows.models.contacts import Contact

    children = _children(stream)
    now = now or timezone.now()
    if len(children) == 1 and children[0].block_type == "property":
        name, operator, text = _property_args(children[0].value)
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


def _since(value, now):
    days = value.get("within_days")
    return now - timedelta(days=days) if days else None


# --- lists, tags, stage, score, consent ---------------------------------------------------


def _eval_in_list(value, contact, now):
    wanted = value.get("list")
    ids = {m.contact_list_id for m in contact.memberships.all()}
    return wanted.pk in ids if wanted else bool(ids)


def _q_in_list(value, now):
    members = ListMembership.objects.all()
    if value.get("list"):
        members = members.filter(contact_list=value["list"])
    return Q(pk__in=members.values("contact_id"))


def _tag_names(contact):
    # Prefetched with prefetch_related("tagged_items__tag"): no query; else one.
    if "tagged_items" in getattr(contact, "_prefetched_objects_cache", {}):
        return [item.tag.name for item in contact.tagged_items.all()]
    tagged = TaggedContact.objects.filter(content_object=contact)
    return list(tagged.values_list("tag__name", flat=True))


def _eval_has_tag(value, contact, now):
    names = {name.upper() for name in _tag_names(contact)}
    return value["tag"].upper() in names if value.get("tag") else bool(names)


def _q_has_tag(value, now):
    tagged = TaggedContact.objects.all()
    if value.get("tag"):
        tagged = tagged.filter(tag__name__iexact=value["tag"])
    return Q(pk__in=tagged.values("content_object_id"))


def _eval_stage_is(value, contact, now):
    return not value.get("stage") or contact.stage == value["stage"]


def _q_stage_is(value, now):
    return Q(stage=value["stage"]) if value.get("stage") else EVERYTHING


def _eval_score_at_least(value, contact, now):
    return contact.score >= (value.get("score") or 0)


def _q_score_at_least(value, now):
    return Q(score__gte=value.get("score") or 0)


def _grades(value):
    return [g for g in (value.get("grades") or []) if g]


def _eval_grade_is(value, contact, now):
    grades = _grades(value)
    return not grades or contact.grade in grades


def _q_grade_is(value, now):
    grades = _grades(value)
    return Q(grade__in=grades) if grades else EVERYTHING


def _eval_is_subscribed(value, contact, now):
    return contact.status == ContactStatus.SUBSCRIBED


def _q_is_subscribed(value, now):
    return Q(status=ContactStatus.SUBSCRIBED)


# --- property -----------------------------------------------------------------------------


class JSONTypeOf(models.Func):
    """The JSON type of ``column[key]`` (SQL NULL when the key is missing)."""

    output_field = models.CharField()

    def __init__(self, key, column="properties"):
        self.key = key
        super().__init__(models.F(column))

    def as_sqlite(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        path = "$." + _json_dumps(self.key)
        return f"JSON_TYPE({sql}, %s)", (*params, path)

    def as_postgresql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"jsonb_typeof({sql} -> %s)", (*params, self.key)


def _json_dumps(key):
    import json

    return json.dumps(key)


def _number(text):
    text = str(text or "")
    if not _NUMBER_RE.fullmatch(text):
        return None
    return float(text) if "." in text else int(text)


def _json_type(stored, present):
    if not present:
        return None
    if stored is None:
        return "null"
    if isinstance(stored, bool):
        return "boolean"
    if isinstance(stored, (int, float)):
        return "number"
    if isinstance(stored, str):
        return "string"
    return "object"


def _compare(stored, operator, number):
    ops = {
        "gt": stored > number,
        "gte": stored >= number,
        "lt": stored < number,
        "lte": stored <= number,
    }
    return ops[operator]


def _eval_json_property(name, operator, text, contact):
    props = contact.properties if isinstance(contact.properties, dict) else {}
    return _eval_json_value(props, name, operator, text)


def _eval_json_value(values, name, operator, text):
    """``values[name]`` (JSON: a contact's properties, a form's answers) against ``text``."""
    stored = values.get(name)
    kind = _json_type(stored, name in values)
    number = _number(text)
    is_set = kind not in (None, "null") and stored != ""
    if operator in ("equals", "not_equals"):
        equal = (
            (kind == "string" and stored == text)
            or (kind == "number" and number is not None and stored == number)
            or (kind == "boolean" and text in ("true", "false") and stored == (text == "true"))
        )
        return equal if operator == "equals" else not equal
    if operator == "contains":
        return kind == "string" and text.lower() in stored.lower()
    if operator in ("gt", "gte", "lt", "lte"):
        if kind == "string" and _NUMERIC_TEXT_RE.fullmatch(stored):
            stored, kind = float(stored), "number"
        return kind == "number" and number is not None and _compare(stored, operator, number)
    return is_set if operator == "is_set" else not is_set


def _lookup(key, name, rhs, column="properties"):
    return Q(**{f"{column}__{key}__{name}": rhs})


def _typed(key, types, column="properties"):
    return Q(In(JSONTypeOf(key, column), list(types)))


def _numeric_text(key, column):
    """``column[key]`` as a number when it is text that reads as one, else NULL (CASE keeps
    PostgreSQL from casting other text)."""
    text = KeyTextTransform(key, column)
    readable = _typed(key, STRING_TYPES, column) & Q(Regex(text, NUMERIC_TEXT))
    return Case(When(readable, then=Cast(text, models.FloatField())), default=None)


ORDERING_LOOKUPS = {
    "gt": GreaterThan,
    "gte": GreaterThanOrEqual,
    "lt": LessThan,
    "lte": LessThanOrEqual,
}


def _not(q):
    from wagtail_flows.models.contacts import Contact

    return ~Q(pk__in=Contact.objects.filter(q).values("pk"))


def _q_json_property(name, operator, text):
    q = _q_json_positive(name, operator, text, "properties")
    return _not(q) if operator in NEGATED else q


# The operators answered as the opposite of another: "is not" is not "is", and so on.
NEGATED = {"not_equals": "equals", "is_not_set": "is_set"}


def _q_json_positive(name, operator, text, column):
    """A ``Q`` on ``column[name]`` for ``operator``, or for its opposite if NEGATED."""
    operator = NEGATED.get(operator, operator)
    number = _number(text)
    typed = functools.partial(_typed, name, column=column)
    lookup = functools.partial(_lookup, name, column=column)
    if operator == "equals":
        q = typed(STRING_TYPES) & lookup("exact", text)
        if number is not None:
            q |= typed(NUMBER_TYPES) & lookup("exact", number)
        if text in ("true", "false"):
            q |= typed(BOOLEAN_TYPES) & lookup("exact", text == "true")
        return q
    if operator == "contains":
        return typed(STRING_TYPES) & lookup("icontains", text)
    if operator in ORDERING_LOOKUPS:
        if number is None:
            return NOTHING
        as_text = Q(ORDERING_LOOKUPS[operator](_numeric_text(name, column), number))
        return (typed(NUMBER_TYPES) & lookup(operator, number)) | as_text
    non_empty_text = typed(STRING_TYPES) & lookup("gt", "")
    return typed(NUMBER_TYPES + BOOLEAN_TYPES + CONTAINER_TYPES) | non_empty_text


def _eval_field(name, operator, text, contact):
    stored = getattr(contact, name)
    if name in TEXT_FIELDS:
        results = {
            "equals": stored == text,
            "not_equals": stored != text,
            "contains": text.lower() in stored.lower(),
            "is_set": stored != "",
            "is_not_set": stored == "",
        }
        return results.get(operator, False)
    number = _number(text)
    if operator in ("is_set", "is_not_set"):
        return operator == "is_set"
    if operator in ("equals", "not_equals"):
        equal = number is not None and stored == number
        return equal if operator == "equals" else not equal
    if operator in ("gt", "gte", "lt", "lte"):
        return number is not None and _compare(stored, operator, number)
    return False


def _q_field(name, operator, text):
    if name in TEXT_FIELDS:
        queries = {
            "equals": Q(**{name: text}),
            "not_equals": ~Q(**{name: text}),
            "contains": Q(**{f"{name}__icontains": text}),
            "is_set": ~Q(**{name: ""}),
            "is_not_set": Q(**{name: ""}),
        }
        return queries.get(operator, NOTHING)
    number = _number(text)
    if operator in ("is_set", "is_not_set"):
        return EVERYTHING if operator == "is_set" else NOTHING
    if operator in ("equals", "not_equals"):
        if number is None:
            return NOTHING if operator == "equals" else EVERYTHING
        return Q(**{name: number}) if operator == "equals" else ~Q(**{name: number})
    if operator in ("gt", "gte", "lt", "lte") and number is not None:
        return Q(**{f"{name}__{operator}": number})
    return NOTHING


def _property_args(value):
    operator = value.get("operator") or "equals"
    return (
        (value.get("name") or "").strip(),
        DATE_ALIASES.get(operator, operator),
        value.get("value") or "",
    )


# "is before" / "is after" read as "is less / greater than" (numbers and dates alike).
DATE_ALIASES = {"before": "lt", "after": "gt"}


def _eval_property(value, contact, now):
    name, operator, text = _property_args(value)
    if not name:
        return True
    if not PROPERTY_NAME_RE.fullmatch(name):
        return False
    if name in TEXT_FIELDS or name in NUMBER_FIELDS:
        return _eval_field(name, operator, text, contact)
    prop = typed_properties.defined(name)  # a property defined in the admin: as its type
    if prop is not None:
        return typed_properties.evaluate(prop, operator, text, contact, now)
    if operator in typed_properties.WINDOWS:
        return False  # "in the last/next N days" is for date properties
    return _eval_json_property(name, operator, text, contact)


def _q_property(value, now):
    name, operator, text = _property_args(value)
    if not name:
        return EVERYTHING
    if not PROPERTY_NAME_RE.fullmatch(name):
        return NOTHING
    if name in TEXT_FIELDS or name in NUMBER_FIELDS:
        return _q_field(name, operator, text)
    prop = typed_properties.defined(name)
    if prop is not None:
        return typed_properties.q(prop, operator, text, now)
    if operator in typed_properties.WINDOWS:
        return NOTHING
    return _q_json_property(name, operator, text)


# --- form answers -------------------------------------------------------------------------


def _answer_args(value):
    return (
        (value.get("field") or "").strip(),
        value.get("operator") or "equals",
        value.get("value") or "",
    )


def _answer_in_run(value, context):
    """The answer in the form submission that started the run (none if a form did not)."""
    field, operator, text = _answer_args(value)
    if not field:
        return True
    answers = context.get("form")
    return _eval_json_value(answers if isinstance(answers, dict) else {}, field, operator, text)


def _answering_events(field, operator, text):
    """Form submissions whose answer meets the condition (its opposite, if NEGATED)."""
    events = Event.objects.filter(kind=EventKind.FORM_SUBMITTED, contact__isnull=False)
    return events.filter(_q_json_positive(field, operator, text, "data")).order_by()


def _eval_form_answer(value, contact, now):
    field, operator, text = _answer_args(value)
    if not field:
        return True
    if not PROPERTY_NAME_RE.fullmatch(field):
        return False
    found = _answering_events(field, operator, text).filter(contact=contact).exists()
    return not found if operator in NEGATED else found


def _q_form_answer(value, now):
    field, operator, text = _answer_args(value)
    if not field:
        return EVERYTHING
    if not PROPERTY_NAME_RE.fullmatch(field):
        return NOTHING
    q = Q(pk__in=_answering_events(field, operator, text).values("contact_id"))
    return ~q if operator in NEGATED else q


# --- events, orders and email activity ----------------------------------------------------


class ItemsHaveSku(models.Func):
    """True when an event's ``data["items"]`` holds an item whose ``sku`` is the given one."""

    output_field = models.BooleanField()

    def __init__(self, sku):
        self.sku = sku
        super().__init__(models.F("data"))

    def as_sqlite(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        return (
            f"EXISTS (SELECT 1 FROM json_each({sql}, '$.items') AS item "  # noqa: S608
            "WHERE json_extract(item.value, '$.sku') = %s)",
            (*params, self.sku),
        )

    def as_postgresql(self, compiler, connection, **extra):
        import json

        sql, params = compiler.compile(self.source_expressions[0])
        return f"({sql} -> 'items') @> %s::jsonb", (*params, json.dumps([{"sku": self.sku}]))


def event_queryset(value, now, kind=None):
    """Events matching a ``did_event``/``has_ordered`` condition's filters (any contact)."""
    kind = kind or value.get("kind")
    events = Event.objects.filter(kind=kind, contact__isnull=False)
    since = _since(value, now)
    if since:
        events = events.filter(created_at__gte=since)
    if value.get("name"):
        events = events.filter(name=value["name"])
    page = value.get("page")
    if page is not None:
        if value.get("include_descendants"):
            events = events.filter(page__path__startswith=page.path)
        else:
            events = events.filter(page=page)
    if value.get("sku"):
        events = events.filter(ItemsHaveSku(value["sku"]))
    if value.get("min_total") is not None:
        events = events.filter(value__gte=Decimal(value["min_total"]))
    return events.order_by()


def _contacts_with_events(events, min_count):
    grouped = events.values("contact_id").annotate(n=Count("pk")).filter(n__gte=min_count)
    return Q(pk__in=grouped.values("contact_id"))


def _eval_did_event(value, contact, now):
    return event_queryset(value, now).filter(contact=contact).count() >= _min_count(value)


def _q_did_event(value, now):
    return _contacts_with_events(event_queryset(value, now), _min_count(value))


def _min_count(value):
    return max(value.get("min_count") or 1, 1)


def _eval_has_ordered(value, contact, now):
    return event_queryset(value, now, EventKind.ORDER_PLACED).filter(contact=contact).exists()


def _q_has_ordered(value, now):
    return _contacts_with_events(event_queryset(value, now, EventKind.ORDER_PLACED), 1)


def _messages(value, now, timestamp):
    from wagtail_flows.models.messages import Message

    messages = Message.objects.filter(**{f"{timestamp}__isnull": False})
    since = _since(value, now)
    if since:
        messages = messages.filter(**{f"{timestamp}__gte": since})
    if value.get("email") is not None:
        messages = messages.filter(page_id=value["email"].pk)
    return messages.order_by()


def _eval_opened(value, contact, now):
    return _messages(value, now, "first_opened_at").filter(contact=contact).exists()


def _q_opened(value, now):
    return Q(pk__in=_messages(value, now, "first_opened_at").values("contact_id"))


def _eval_clicked(value, contact, now):
    return _messages(value, now, "first_clicked_at").filter(contact=contact).exists()


def _q_clicked(value, now):
    return Q(pk__in=_messages(value, now, "first_clicked_at").values("contact_id"))


EVALUATE = {
    "in_list": _eval_in_list,
    "has_tag": _eval_has_tag,
    "stage_is": _eval_stage_is,
    "score_at_least": _eval_score_at_least,
    "grade_is": _eval_grade_is,
    "property": _eval_property,
    "form_answer": _eval_form_answer,
    "did_event": _eval_did_event,
    "opened_email": _eval_opened,
    "clicked_email": _eval_clicked,
    "has_ordered": _eval_has_ordered,
    "is_subscribed": _eval_is_subscribed,
}

TO_Q = {
    "in_list": _q_in_list,
    "has_tag": _q_has_tag,
    "stage_is": _q_stage_is,
    "score_at_least": _q_score_at_least,
    "grade_is": _q_grade_is,
    "property": _q_property,
    "form_answer": _q_form_answer,
    "did_event": _q_did_event,
    "opened_email": _q_opened,
    "clicked_email": _q_clicked,
    "has_ordered": _q_has_ordered,
    "is_subscribed": _q_is_subscribed,
}

# Conditions a run answers from its own context (what its trigger captured).
IN_RUN = {"form_answer": _answer_in_run}
