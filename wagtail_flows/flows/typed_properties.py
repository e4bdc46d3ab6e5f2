"""The ``property`` condition on a property defined in the admin (``ContactProperty``).

Compared as its type: numbers as numbers, dates as dates (before, after, in the last or next
N days), yes/no, choices. ``q`` reads the typed table (an index range on PropertyValue, as a
``pk__in`` subquery); ``evaluate`` reads the contact's JSON copy through the same parser, so
a value the table has no row for (it did not read as the type) is "not set" in both.
"""

from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from wagtail_flows.models.properties import (
    ContactProperty,
    PropertyValue,
    column_of,
    parse_or_none,
)
from wagtail_flows.vocabulary import PropertyType

ORDERED_TYPES = (PropertyType.NUMBER, PropertyType.DATE)
TEXT_TYPES = (PropertyType.TEXT, PropertyType.CHOICE)
ORDERING = {"gt", "gte", "lt", "lte"}
WINDOWS = {"in_last_days", "in_next_days"}
# Operators of the opposite of another: the contacts without a value are among them.
NEGATED = {"not_equals": "equals", "is_not_set": "is_set"}
COMPARE = {
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
}


def defined(name):
    """The property defined under ``name``, or None (one query)."""
    return ContactProperty.objects.filter(key=name).first()


def window(operator, text, now):
    """(first day, last day) of "in the last/next N days", or None for a bad N."""
    text = str(text or "").strip()
    if not text.isdigit():
        return None
    today = timezone.localdate(now)
    days = timedelta(days=int(text))
    return (today - days, today) if operator == "in_last_days" else (today, today + days)


def _target(prop, operator, text, now):
    """What the stored value is compared with, or None when nothing can match."""
    if operator in WINDOWS:
        return window(operator, text, now) if prop.type == PropertyType.DATE else None
    if operator == "contains":
        return text if prop.type in TEXT_TYPES else None
    if operator in ORDERING and prop.type not in ORDERED_TYPES:
        return None
    return parse_or_none(prop, text)


def evaluate(prop, operator, text, contact, now):
    props = contact.properties if isinstance(contact.properties, dict) else {}
    stored = parse_or_none(prop, props.get(prop.key))
    positive = NEGATED.get(operator, operator)
    result = _holds(prop, positive, text, stored, now)
    return not result if operator in NEGATED else result


def _holds(prop, operator, text, stored, now):
    if stored is None:
        return False
    if operator == "is_set":
        return True
    target = _target(prop, operator, text, now)
    if target is None:
        return False
    if operator == "contains":
        return target.lower() in stored.lower()
    if operator in WINDOWS:
        return target[0] <= stored <= target[1]
    if operator in ORDERING:
        return COMPARE[operator](stored, target)
    return stored == target  # equals


def q(prop, operator, text, now):
    positive = NEGATED.get(operator, operator)
    rows = _rows(prop, positive, text, now)
    if rows is None:
        return Q(pk__isnull=False) if operator in NEGATED else Q(pk__in=[])
    selected = Q(pk__in=rows.values("contact_id"))
    return ~selected if operator in NEGATED else selected


def _rows(prop, operator, text, now):
    column = column_of(prop)
    rows = PropertyValue.objects.filter(property=prop, **{f"{column}__isnull": False})
    if operator == "is_set":
        return rows
    target = _target(prop, operator, text, now)
    if target is None:
        return None
    if operator == "contains":
        return rows.filter(**{f"{column}__icontains": target})
    if operator in WINDOWS:
        return rows.filter(**{f"{column}__range": target})
    if operator in ORDERING:
        return rows.filter(**{f"{column}__{operator}": target})
    return rows.filter(**{column: target})


def count_alone(prop, operator, text, now):
    """How many contacts a lone condition on ``prop`` selects, counted on the typed table's
    index alone (each row is one contact's value: no visit to the contacts); None for the
    negated operators, which count the contacts without a value too."""
    if operator in NEGATED:
        return None
    rows = _rows(prop, operator, text, now)
    return 0 if rows is None else rows.count()
