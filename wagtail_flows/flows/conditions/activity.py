"""Conditions on what a contact did: form answers, events, orders, email opens and clicks."""

from decimal import Decimal

from django.db import models
from django.db.models import Count, Q

from wagtail_flows.flows.conditions.common import EVERYTHING, NOTHING, since
from wagtail_flows.flows.conditions.page_views import (
    contacts_with_visits,
    count_visits,
    filter_page_type,
)
from wagtail_flows.flows.conditions.properties import (
    NEGATED,
    PROPERTY_NAME_RE,
    eval_json_value,
    q_json_positive,
)
from wagtail_flows.models.contacts import Event, EventKind


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
    return eval_json_value(answers if isinstance(answers, dict) else {}, field, operator, text)


def _answering_events(field, operator, text):
    """Form submissions whose answer meets the condition (its opposite, if NEGATED)."""
    events = Event.objects.filter(kind=EventKind.FORM_SUBMITTED, contact__isnull=False)
    return events.filter(q_json_positive(field, operator, text, "data")).order_by()


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
    start = since(value, now)
    if start:
        events = events.filter(created_at__gte=start)
    if value.get("name"):
        events = events.filter(name=value["name"])
    page = value.get("page")
    if page is not None:
        if value.get("include_descendants"):
            events = events.filter(page__path__startswith=page.path)
        else:
            events = events.filter(page=page)
    events = filter_page_type(events, value.get("page_type"))
    if value.get("sku"):
        events = events.filter(ItemsHaveSku(value["sku"]))
    if value.get("min_total") is not None:
        events = events.filter(value__gte=Decimal(value["min_total"]))
    return events.order_by()


def _contacts_with_events(events, min_count):
    grouped = events.values("contact_id").annotate(n=Count("pk")).filter(n__gte=min_count)
    return Q(pk__in=grouped.values("contact_id"))


def _counts_visits(value):
    """The page views of one visit count once ("Count visits, not page views")."""
    return bool(value.get("count_visits")) and value.get("kind") == EventKind.PAGE_VIEWED


def _eval_did_event(value, contact, now):
    events = event_queryset(value, now).filter(contact=contact)
    if _counts_visits(value):
        return count_visits(events) >= _min_count(value)
    return events.count() >= _min_count(value)


def _q_did_event(value, now):
    events = event_queryset(value, now)
    if _counts_visits(value):
        return Q(pk__in=contacts_with_visits(events, _min_count(value)))
    return _contacts_with_events(events, _min_count(value))


def _min_count(value):
    return max(value.get("min_count") or 1, 1)


def _eval_has_ordered(value, contact, now):
    return event_queryset(value, now, EventKind.ORDER_PLACED).filter(contact=contact).exists()


def _q_has_ordered(value, now):
    return _contacts_with_events(event_queryset(value, now, EventKind.ORDER_PLACED), 1)


def _messages(value, now, timestamp):
    from wagtail_flows.models.messages import Message

    messages = Message.objects.filter(**{f"{timestamp}__isnull": False})
    start = since(value, now)
    if start:
        messages = messages.filter(**{f"{timestamp}__gte": start})
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
    "form_answer": _eval_form_answer,
    "did_event": _eval_did_event,
    "opened_email": _eval_opened,
    "clicked_email": _eval_clicked,
    "has_ordered": _eval_has_ordered,
}

TO_Q = {
    "form_answer": _q_form_answer,
    "did_event": _q_did_event,
    "opened_email": _q_opened,
    "clicked_email": _q_clicked,
    "has_ordered": _q_has_ordered,
}

# Conditions a run answers from its own context (what its trigger captured).
IN_RUN = {"form_answer": _answer_in_run}
