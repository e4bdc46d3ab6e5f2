"""The property condition: a contact field or a free-form JSON property, compared as text,
number or date, the same way in Python and in SQLite's or PostgreSQL's JSON."""

import functools
import re

from django.db import models
from django.db.models import Case, Q, When
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

from wagtail_flows.flows import typed_properties
from wagtail_flows.flows.conditions.common import EVERYTHING, NOTHING, negate
from wagtail_flows.models.form_mapping import PROPERTY_KEY_RE

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
    return eval_json_value(props, name, operator, text)


def eval_json_value(values, name, operator, text):
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


def q_json_property(name, operator, text):
    q = q_json_positive(name, operator, text, "properties")
    return negate(q) if operator in NEGATED else q


# The operators answered as the opposite of another: "is not" is not "is", and so on.
NEGATED = {"not_equals": "equals", "is_not_set": "is_set"}


def q_json_positive(name, operator, text, column):
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


def property_args(value):
    operator = value.get("operator") or "equals"
    return (
        (value.get("name") or "").strip(),
        DATE_ALIASES.get(operator, operator),
        value.get("value") or "",
    )


# "is before" / "is after" read as "is less / greater than" (numbers and dates alike).
DATE_ALIASES = {"before": "lt", "after": "gt"}


def _eval_property(value, contact, now):
    name, operator, text = property_args(value)
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
    name, operator, text = property_args(value)
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
    return q_json_property(name, operator, text)


EVALUATE = {
    "property": _eval_property,
}

TO_Q = {
    "property": _q_property,
}
