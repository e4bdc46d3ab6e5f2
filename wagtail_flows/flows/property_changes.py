"""The ``property_changed`` trigger: a contact property changed, optionally from one value and
to another.

The event is the one ``models.properties.set_values`` records for each changed key (name = the
key, data ``{"from": old, "to": new}``, JSON values as the contact keeps them): the contact's
page in the admin, form answers mapped to properties, and a developer's ``set_values`` record
it; an import records none (an import starts no flow). Contact fields (first_name, stage,
score…) are not properties: their changes are not such events.

The "from" and "to" values are compared as the property condition's *is* compares: a property
defined in the admin as its type (numbers as numbers, dates as dates, yes/no, a choice in any
case), any other key as JSON (text exactly, ``5`` = ``5.0``, ``true``/``false``). Empty: any
value (a first value set, or one removed, included).
"""

from types import SimpleNamespace

from django.utils import timezone

from wagtail_flows.flows import typed_properties
from wagtail_flows.flows.conditions.properties import eval_json_value


def trigger_args(value):
    return (
        (value.get("name") or "").strip(),
        value.get("from_value") or "",
        value.get("to_value") or "",
    )


def property_changed_matches(value, event):
    name, old_text, new_text = trigger_args(value)
    if not name or event.name != name:
        return False
    wanted = [(side, text) for side, text in (("from", old_text), ("to", new_text)) if text]
    if not wanted:
        return True
    data = event.data if isinstance(event.data, dict) else {}
    prop = typed_properties.defined(name)
    return all(value_is(prop, name, data.get(side), text) for side, text in wanted)


def value_is(prop, name, stored, text):
    """``stored`` (a property's JSON value; None when it had none) *is* ``text``."""
    if prop is not None:
        holder = SimpleNamespace(properties={name: stored})
        return typed_properties.evaluate(prop, "equals", text, holder, timezone.now())
    return eval_json_value({name: stored}, name, "equals", text)
