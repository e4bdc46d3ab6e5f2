"""Appending events to the timeline: the one write path for every Event.

Cost rule: with no live flow listening for a kind, an event is one INSERT and nothing else.
An event a flow listens for is marked ``pending_dispatch`` in the same INSERT and announced
after commit through ``signals.events_to_dispatch`` (the engine's dispatch receives it; the
sweep picks up any the process did not hand over).
"""

import contextlib
import contextvars
import html
import json
import math
import re
import unicodedata
import uuid
from decimal import Decimal, InvalidOperation
from urllib.parse import unquote

from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connections, models, router, transaction
from django.db.models import DateTimeField, F, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone
from django.utils.timezone import now
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from wagtail_flows.conf import flows_settings
from wagtail_flows.models.base import PAGE_MODEL
from wagtail_flows.models.listening import is_listened
from wagtail_flows.signals import event_recorded, events_to_dispatch
from wagtail_flows.vocabulary import EventKind


class Visitor(models.Model):
    """An anonymous browser, known by a first-party cookie."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    contact = models.ForeignKey(
        "wagtail_flows.Contact",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="visitors",
    )
    created_at = models.DateTimeField(default=now)
    last_seen_at = models.DateTimeField(default=now)

    class Meta:
        verbose_name = gettext_lazy("visitor")

    def __str__(self):
        return str(self.id)


class Event(models.Model):
    """One fact on a contact's (or visitor's) timeline. Append-only."""

    # Both foreign keys are served by the composite indexes below (leading column), so they
    # carry no index of their own: one less index to maintain on every page-view INSERT.
    contact = models.ForeignKey(
        "wagtail_flows.Contact",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="events",
        db_index=False,
    )
    # No database constraint: an anonymous visitor's events name its cookie id before any
    # Visitor row exists (the row is created on identification), so a page view is one INSERT.
    visitor = models.ForeignKey(
        Visitor,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="events",
        db_constraint=False,
        db_index=False,
    )
    kind = models.CharField(gettext_lazy("kind"), max_length=32, choices=EventKind.choices)
    name = models.CharField(gettext_lazy("name"), max_length=100, blank=True)
    page = models.ForeignKey(
        PAGE_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    object_id = models.CharField(gettext_lazy("object id"), max_length=255, blank=True)
    value = models.DecimalField(
        gettext_lazy("value"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    data = models.JSONField(gettext_lazy("data"), default=dict, blank=True)
    created_at = models.DateTimeField(gettext_lazy("at"), default=now)
    # Set when a live flow listens for this kind; cleared by dispatch. A sweep re-dispatches
    # events still pending after a crash, so no committed event is lost.
    pending_dispatch = models.BooleanField(default=False)

    class Meta:
        verbose_name = gettext_lazy("event")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["contact", "kind", "created_at"], name="wf_event_contact_kind"),
            models.Index(fields=["visitor", "created_at"], name="wf_event_visitor"),
            models.Index(fields=["kind", "created_at"], name="wf_event_kind"),
            models.Index(
                fields=["created_at"],
                condition=models.Q(pending_dispatch=True),
                name="wf_event_pending",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.name}".strip()


ACTIVITY_FIELDS = {
    EventKind.PAGE_VIEWED: "last_visit_at",
    EventKind.DOCUMENT_DOWNLOADED: "last_visit_at",
    EventKind.FORM_SUBMITTED: "last_form_at",
    EventKind.EMAIL_OPENED: "last_open_at",
    EventKind.LINK_CLICKED: "last_click_at",
    EventKind.ORDER_PLACED: "last_order_at",
    EventKind.CART_UPDATED: None,  # activity, without a date of its own
}

VISIT_KINDS = (EventKind.PAGE_VIEWED, EventKind.DOCUMENT_DOWNLOADED)
_SIGNALS_HELD = contextvars.ContextVar("wagtail_flows_signals_held", default=False)


def record_event(
    kind,
    *,
    contact=None,
    visitor=None,
    page=None,
    name="",
    object_id="",
    value=None,
    data=None,
    at=None,
):
    """Append one event (one INSERT), keep the contact's activity dates current, and hand it
    to the engine after commit when a live flow listens for its kind.

    Bad input (an unknown kind, a custom event name over 100 characters, data that is not
    JSON or over ``MAX_EVENT_DATA_BYTES``, a value that is not a number, an object id over 255
    characters) raises ValidationError naming the field, before anything is written."""
    fields = clean_event(kind, name=name, object_id=object_id, value=value, data=data)
    return insert_event(contact=contact, visitor=visitor, page=page, at=at, **fields)


def record_events(kind, rows, *, at):
    """Many events of one kind in one INSERT (the sweep's abandoned carts), each checked as
    ``record_event`` checks one; marked for dispatch when a flow listens, with one dispatch
    task for all of them after commit. ``rows``: dicts of contact, name, object_id, value,
    data, page_id (optional). Only for kinds that are no activity (``touch_contact`` is per
    contact)."""
    if kind in ACTIVITY_FIELDS:
        raise ValueError(f"{kind} moves the contact's activity dates: use record_event")
    listened = is_listened(kind)
    events = Event.objects.bulk_create(
        [
            Event(
                contact=row["contact"],
                page_id=row.get("page_id"),
                created_at=at,
                pending_dispatch=listened,
                **clean_event(
                    kind,
                    name=row.get("name", ""),
                    object_id=row.get("object_id", ""),
                    value=row.get("value"),
                    data=row.get("data"),
                ),
            )
            for row in rows
        ]
    )
    if listened and events:
        ids = [event.pk for event in events]
        transaction.on_commit(lambda: _announce(ids, batch=True))
    if not _SIGNALS_HELD.get():
        for event in events:
            event_recorded.send(sender=Event, event=event)
    return events


def clean_event(kind, *, name="", object_id="", value=None, data=None, refuse_emails=False):
    """The checks ``track()`` and the beacon apply, for a kind named exactly.

    ``refuse_emails``: the data may hold no email address (``track()``, the beacon)."""
    if kind not in EventKind.values:
        raise ValidationError({"kind": _("Unknown event kind %(kind)r.") % {"kind": kind}})
    name = "" if name is None else str(name).strip()
    if kind == EventKind.CUSTOM and name:
        name = clean_custom_name(name)  # the name is the event's identity: never cut it
    name = name[:100]  # other kinds: a label (page title, list name) for the timeline
    object_id = "" if object_id is None else str(object_id)
    if len(object_id) > 255:
        raise ValidationError({"object_id": _("An object id has at most 255 characters.")})
    return {
        "kind": kind,
        "name": name,
        "object_id": object_id,
        "value": clean_value(value),
        "data": clean_data(data, refuse_emails=refuse_emails),
    }


def insert_event(kind, *, contact, visitor, page, name, object_id, value, data, at):
    event = Event(
        kind=kind,
        contact=contact,
        visitor_id=getattr(visitor, "pk", visitor),
        page=page,
        name=name,
        object_id=object_id,
        value=value,
        data=data,
        created_at=at or timezone.now(),
    )
    return save_event(event, contact_pk=contact.pk if contact else None)


def save_event(event, *, contact_pk=None):
    listened = is_listened(event.kind)
    event.pending_dispatch = listened
    event.save(force_insert=True)
    if hasattr(event.contact_id, "resolve_expression"):  # set by a subquery in the INSERT
        event.__dict__.pop("contact_id")  # deferred: read from the row if asked
    if contact_pk is not None:
        touch_contact(contact_pk, event.kind, event.created_at, event.value)
    return _written(event, listened)


def _written(event, listened, using=None):
    """After an event's INSERT: announce it after commit if a flow listens, and signal it."""
    if listened:
        pk = event.pk
        transaction.on_commit(lambda: _announce([pk]), using=using)
    if not _SIGNALS_HELD.get():
        event_recorded.send(sender=Event, event=event)
    return event


def append_event(event, *, contact_of_visitor=None):
    """``save_event`` for the events of browsing (page views, downloads, the beacon), in one
    precompiled INSERT: the same row, marks and signal, without the ORM's compilation of the
    statement on every page view. ``contact_of_visitor``: a visitor id whose Visitor row (if
    any) names the event's contact, read by a subquery inside the INSERT.

    On PostgreSQL, when the INSERT is its own transaction (autocommit: not inside
    ``atomic()`` or ATOMIC_REQUESTS) and ``CAPTURE_ASYNC_COMMIT`` is on, that transaction
    commits without waiting for the WAL to reach the disk (``synchronous_commit`` off for
    it alone; not for a kind a flow listens for): a crash of the database server can lose
    its last moments of page views, never anything else.
    """
    event.pending_dispatch = listened = is_listened(event.kind)
    connection = connections[router.db_for_write(Event)]
    async_commit = (  # an event a flow waits for is written as carefully as any other
        connection.vendor == "postgresql"
        and flows_settings.CAPTURE_ASYNC_COMMIT
        and not listened
        and not connection.in_atomic_block
    )
    sql, fields, returning = _insert_statement(connection, contact_of_visitor, async_commit)
    params = []
    for field in fields:
        if field.attname == "contact_id" and contact_of_visitor is not None:
            params.append(_VISITOR_ID.get_db_prep_value(contact_of_visitor, connection))
        else:
            params.append(field.get_db_prep_save(getattr(event, field.attname), connection))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if returning:
            event.pk = cursor.fetchone()[0]
        else:
            event.pk = connection.ops.last_insert_id(cursor, Event._meta.db_table, "id")
    event._state.adding, event._state.db = False, connection.alias
    if contact_of_visitor is not None:
        event.__dict__.pop("contact_id", None)  # deferred: read from the row if asked
    return _written(event, listened, using=connection.alias)


_VISITOR_ID = Visitor._meta.pk
_INSERTS = {}  # (vendor, returning, subquery, async commit) -> (sql, fields, returning)


def _insert_statement(connection, contact_of_visitor, async_commit):
    returning = connection.features.can_return_columns_from_insert
    key = (connection.vendor, returning, contact_of_visitor is not None, async_commit)
    statement = _INSERTS.get(key)
    if statement is None:
        # Every name below is the models' own (quoted); every value is a parameter.
        qn = connection.ops.quote_name
        fields = [field for field in Event._meta.concrete_fields if not field.primary_key]
        values = ["%s"] * len(fields)
        if contact_of_visitor is not None:
            visitors, visitor_id = qn(Visitor._meta.db_table), qn(_VISITOR_ID.column)
            contact = f"(SELECT {qn('contact_id')} FROM {visitors} WHERE {visitor_id} = %s)"  # noqa: S608
            values[[field.attname for field in fields].index("contact_id")] = contact
        columns = ", ".join(qn(field.column) for field in fields)
        sql = f"INSERT INTO {qn(Event._meta.db_table)} ({columns}) VALUES ({', '.join(values)})"  # noqa: S608
        if returning:
            sql += f" RETURNING {qn(Event._meta.pk.column)}"
            if async_commit:  # set for this INSERT's own transaction, read at its commit
                sql += ", set_config('synchronous_commit', 'off', true)"
        statement = _INSERTS[key] = (sql, fields, returning)
    return statement


@contextlib.contextmanager
def signals_held():
    """Inside, events are written but ``event_recorded`` is not sent: the simulator runs the
    real engine in a transaction it rolls back, and the site's receivers must not hear of
    events that never happened."""
    token = _SIGNALS_HELD.set(True)
    try:
        yield
    finally:
        _SIGNALS_HELD.reset(token)


def touch_contact(contact_pk, kind, at, value=None):
    """Move the denormalised activity dates forward (never back: backfilled events)."""
    if kind not in ACTIVITY_FIELDS:
        return
    updates = {"last_activity_at": latest("last_activity_at", at)}
    field = ACTIVITY_FIELDS[kind]
    if field:
        updates[field] = latest(field, at)
    if kind == EventKind.ORDER_PLACED:
        updates["orders_count"] = F("orders_count") + 1
        updates["revenue_total"] = F("revenue_total") + (value or 0)
    _contacts().filter(pk=contact_pk).update(**updates)


def latest(field, at):
    at = Value(at, output_field=DateTimeField())
    return Greatest(Coalesce(F(field), at), at)


def clean_custom_name(name):
    name = name.strip() if isinstance(name, str) else ""
    if not name:
        raise ValidationError({"name": _("A custom event needs a name.")})
    if len(name) > 100:
        raise ValidationError({"name": _("A custom event name has at most 100 characters.")})
    if problem := text_problem(name):
        raise ValidationError(
            {"name": _("A custom event name %(problem)s.") % {"problem": problem}}
        )
    if email_address_in(name) is not None:
        # Names are shown in reports and trigger pickers: an address there escapes the
        # contact's GDPR export and erase.
        raise ValidationError({"name": _("A custom event name may not hold an email address.")})
    return name


MAX_DATA_DEPTH = 8  # levels of objects and lists in one event's data


def clean_data(data, *, refuse_emails=False):
    """JSON-safe copy of ``data`` (Decimals, dates as strings) within MAX_EVENT_DATA_BYTES,
    at most MAX_DATA_DEPTH levels deep, with text every database can store; with
    ``refuse_emails``, holding no email address (see ``email_address_in``)."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValidationError({"data": _("Event data must be an object of names and values.")})
    if problem := data_problem(data):
        raise ValidationError({"data": _("Event data %(problem)s.") % {"problem": problem}})
    if refuse_emails and (place := email_address_in(data)) is not None:
        raise ValidationError(
            {
                "data": _(
                    "Event data may not hold an email address (found at %(place)s): "
                    "name the person by contact or email instead."
                )
                % {"place": place or "data"}
            }
        )
    try:
        encoded = json.dumps(data, cls=DjangoJSONEncoder, allow_nan=False)
    except (TypeError, ValueError):
        raise ValidationError(
            {"data": _("Event data must be JSON: text, numbers, lists.")}
        ) from None
    limit = flows_settings.MAX_EVENT_DATA_BYTES
    if len(encoded.encode()) > limit:
        raise ValidationError({"data": _("Event data is larger than %(n)d bytes.") % {"n": limit}})
    return json.loads(encoded)


def data_problem(data, max_depth=MAX_DATA_DEPTH):
    """What makes ``data`` unstorable, as a phrase ("is nested deeper than 8 levels"), or
    None. Iterative and bounded by the depth, so neither deep nor circular data recurses."""
    for _place, key, item, depth in walk_data(data, max_depth):
        if depth >= max_depth and isinstance(item, (dict, list, tuple)):
            return _("is nested deeper than %(n)d levels") % {"n": max_depth}
        for text in (key, item):
            if isinstance(text, str) and (problem := text_problem(text)):
                return problem
        if isinstance(item, float) and not math.isfinite(item):
            return _("holds a number that is not finite (NaN or infinity)")
    return None


def text_problem(text):
    """Why no database can store ``text`` (PostgreSQL refuses NUL; a lone surrogate is no
    Unicode), as a phrase, or None."""
    if "\x00" in text:
        return _("holds a NUL character")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _("holds text that is not valid Unicode (a lone surrogate)")
    return None


def walk_data(value, max_depth=MAX_DATA_DEPTH):
    """``(place, key, item, depth)`` for ``value`` and everything inside its objects and
    lists, down to ``max_depth`` levels (iterative: no recursion limit to hit). ``place``
    reads like ``user.emails[0]``; ``key`` is the item's key in its object, else None."""
    stack = [("", None, value, 0)]
    while stack:
        place, key, item, depth = stack.pop()
        yield place, key, item, depth
        if depth >= max_depth:
            continue
        if isinstance(item, dict):
            stack.extend(
                (f"{place}.{k}" if place else str(k), k, v, depth + 1) for k, v in item.items()
            )
        elif isinstance(item, (list, tuple)):
            stack.extend((f"{place}[{i}]", None, v, depth + 1) for i, v in enumerate(item))


# The shape of an address (local@domain.tld), however it is dressed: any case, a fullwidth
# or percent-encoded "@", HTML entities. A TLD of letters keeps "pkg@1.2.3" and "@handle" out.
# The "@" is found first (a look-behind for one local-part character), so a long text
# without an address costs one pass, not one per starting position.
_EMAIL_ADDRESS = re.compile(
    r"(?<=[\w.!#$%&'*+/=?^`{|}~\"-])@[\w-]+(?:\.[\w-]+)*\.(?:[^\W\d_]{2,}|xn--[\w-]+)"
)
_CAMEL_HUMP = re.compile(r"([a-z])([A-Z])")
_WORDS = re.compile(r"[a-z]+")


def email_address_in(value, max_depth=MAX_DATA_DEPTH):
    """Where ``value`` (text, or data of objects and lists) holds an email address: text
    that looks like one (as a value or a key), or a key naming one (``email``, ``Email``,
    ``e-mail``, ``user_email``, ``emailAddress``, ``mail``). The place, e.g. ``user.email``
    (``""`` for ``value`` itself), or None."""
    for place, key, item, _depth in walk_data(value, max_depth):
        if isinstance(key, str) and (_names_email(key) or _looks_like_email(key)):
            return place
        if isinstance(item, str) and _looks_like_email(item):
            return place
    return None


def _plain(text):
    text = unicodedata.normalize("NFKC", text)
    return html.unescape(unquote(text)) if ("%" in text or "&" in text) else text


def _looks_like_email(text):
    if not any(mark in text for mark in "@%&\uff20\ufe6b"):  # "@" in any dress, cheaply
        return False
    return _EMAIL_ADDRESS.search(_plain(text)) is not None


def _names_email(key):
    words = _WORDS.findall(_CAMEL_HUMP.sub(r"\1 \2", unicodedata.normalize("NFKC", key)).lower())
    return any("email" in word or word == "mail" for word in words)


def clean_value(value):
    if value is None or value == "":
        return None
    try:
        value = Decimal(str(value))
    except InvalidOperation:
        raise ValidationError({"value": _("The value must be a number.")}) from None
    if not value.is_finite() or abs(value) >= Decimal("1e10"):
        raise ValidationError({"value": _("The value is out of range.")})
    return value.quantize(Decimal("0.01"))


def _announce(event_ids, batch=False):
    events_to_dispatch.send(sender=Event, event_ids=event_ids, batch=batch)


def _contacts():
    # Contact records its changes through this module, so this module reads Contact through
    # the event's foreign key rather than importing it.
    return Event._meta.get_field("contact").related_model.objects
