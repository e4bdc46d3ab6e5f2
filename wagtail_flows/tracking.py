"""Capture: turn requests and developer calls into Events; the visitor cookie; identification.

Cost rule: with no live flow listening for a kind, a page view or download is one INSERT and
nothing else. The Visitor row is created only when the browser identifies itself (the event
names the cookie's id without a database constraint), and the event's contact comes from a
subquery on that row inside the same INSERT, so no lookup runs before it.
"""

import contextlib
import contextvars
import json
import logging
import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.db.models import DateTimeField, F, Max, Subquery, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone
from django.utils.translation import gettext as _

from wagtail_flows.conf import flows_settings
from wagtail_flows.models import Contact, Event, Visitor
from wagtail_flows.models.contacts import EventKind, normalize_email
from wagtail_flows.signals import event_recorded

logger = logging.getLogger("wagtail_flows.capture")

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
VISIT_MINUTES = 30  # an identified browser's last_visit_at is refreshed once per visit
_CURRENT_REQUEST = contextvars.ContextVar("wagtail_flows_request", default=None)
_SIGNALS_HELD = contextvars.ContextVar("wagtail_flows_signals_held", default=False)


# --- recording -----------------------------------------------------------------------------


def _dispatch():
    from wagtail_flows.engine import dispatch  # imported late: the engine imports models

    return dispatch


def is_listened(kind):
    return _dispatch().is_listened(kind)


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
    return _insert_event(contact=contact, visitor=visitor, page=page, at=at, **fields)


def record_events(kind, rows, *, at):
    """Many events of one kind in one INSERT (the sweep's abandoned carts), each checked as
    ``record_event`` checks one; marked for dispatch when a flow listens, with one dispatch
    task for all of them after commit. ``rows``: dicts of contact, name, object_id, value,
    data. Only for kinds that are no activity (``touch_contact`` is per contact)."""
    if kind in ACTIVITY_FIELDS:
        raise ValueError(f"{kind} moves the contact's activity dates: use record_event")
    listened = is_listened(kind)
    events = Event.objects.bulk_create(
        [
            Event(
                contact=row["contact"],
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
        transaction.on_commit(lambda: _dispatch().enqueue_dispatches(ids))
    if not _SIGNALS_HELD.get():
        for event in events:
            event_recorded.send(sender=Event, event=event)
    return events


def clean_event(kind, *, name="", object_id="", value=None, data=None):
    """The checks ``track()`` and the beacon apply, for a kind named exactly."""
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
        "data": clean_data(data),
    }


def _insert_event(kind, *, contact, visitor, page, name, object_id, value, data, at):
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
    return _save(event, contact_pk=contact.pk if contact else None)


def _save(event, *, contact_pk=None):
    listened = is_listened(event.kind)
    event.pending_dispatch = listened
    event.save(force_insert=True)
    if hasattr(event.contact_id, "resolve_expression"):  # set by a subquery in the INSERT
        event.__dict__.pop("contact_id")  # deferred: read from the row if asked
    if contact_pk is not None:
        touch_contact(contact_pk, event.kind, event.created_at, event.value)
    if listened:
        pk = event.pk
        transaction.on_commit(lambda: _dispatch().enqueue_dispatch(pk))
    if not _SIGNALS_HELD.get():
        event_recorded.send(sender=Event, event=event)
    return event


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
    updates = {"last_activity_at": _latest("last_activity_at", at)}
    field = ACTIVITY_FIELDS[kind]
    if field:
        updates[field] = _latest(field, at)
    if kind == EventKind.ORDER_PLACED:
        updates["orders_count"] = F("orders_count") + 1
        updates["revenue_total"] = F("revenue_total") + (value or 0)
    Contact.objects.filter(pk=contact_pk).update(**updates)


def _latest(field, at):
    at = Value(at, output_field=DateTimeField())
    return Greatest(Coalesce(F(field), at), at)


def record_visit(kind, state, *, page=None, name="", object_id="", data=None):
    """A page view, download or beacon event from a browser: one INSERT when idle."""
    fields = {"page": page, "name": name, "object_id": object_id, "data": data}
    if state is not None and is_listened(kind):
        contact = None if state.new else contact_of_visitor(state.id)
        return record_event(kind, contact=contact, visitor=state.id, **fields)
    at = timezone.now()
    event = Event(
        kind=kind,
        visitor_id=state.id if state else None,
        page=page,
        name=(name or "")[:100],
        object_id=str(object_id or "")[:255],
        data=data or {},
        created_at=at,
    )
    if state is not None and not state.new:
        event.contact_id = Subquery(Visitor.objects.filter(pk=state.id).values("contact_id"))
    _save(event)
    if state is not None:
        _touch_visit(state, at)
    return event


def _touch_visit(state, at):
    """Once per visit an identified browser moves its contact's last_visit_at forward."""
    minute = int(at.timestamp() // 60)
    if not state.identified or minute - state.stamp < VISIT_MINUTES:
        return
    contact_id = Visitor.objects.filter(pk=state.id).values("contact_id")
    Contact.objects.filter(pk=Subquery(contact_id)).update(
        last_visit_at=_latest("last_visit_at", at),
        last_activity_at=_latest("last_activity_at", at),
    )
    state.stamp, state.dirty = minute, True


def contact_of_visitor(visitor_id):
    return Contact.objects.filter(visitors__pk=visitor_id).first() if visitor_id else None


# --- the visitor cookie ----------------------------------------------------------------------


@dataclass
class VisitorCookie:
    """The first-party cookie: a signed visitor id, plus a visit stamp once identified."""

    id: uuid.UUID
    identified: bool = False
    stamp: int = 0  # minute of the last last_visit_at refresh (identified browsers)
    new: bool = False  # created in this request: no Visitor row can exist
    dirty: bool = False  # must be (re)sent with the response

    def dumps(self):
        value = f"{self.id.hex}.{self.stamp}" if self.identified else self.id.hex
        return _signer().sign(value)

    @classmethod
    def loads(cls, raw):
        try:
            value = _signer().unsign(raw or "")
            hex_id, _sep, stamp = value.partition(".")
            return cls(uuid.UUID(hex=hex_id), identified=bool(_sep), stamp=int(stamp or 0))
        except (signing.BadSignature, ValueError):
            return None


def _signer():
    return signing.Signer(salt="wagtail_flows.visitor")


def visitor_from_request(request, *, create=False):
    """The browser's visitor cookie, or a new one (sent with the response) if ``create``."""
    state = getattr(request, "_flows_visitor", None)
    if state is None:
        state = VisitorCookie.loads(request.COOKIES.get(flows_settings.VISITOR_COOKIE))
    if state is None and create:
        state = VisitorCookie(uuid.uuid4(), new=True, dirty=True)
    if state is not None:
        request._flows_visitor = state
    return state


def set_visitor_cookie(request, response):
    """Send the visitor cookie if this request created or changed it. Views outside Wagtail
    page serving that call ``identify`` or ``track(request=...)`` call this on their response."""
    state = getattr(request, "_flows_visitor", None)
    if state is None or not state.dirty:
        return response
    response.set_cookie(
        flows_settings.VISITOR_COOKIE,
        state.dumps(),
        max_age=flows_settings.VISITOR_COOKIE_AGE_DAYS * 86400,
        samesite="Lax",
        httponly=True,
        secure=request.is_secure(),
    )
    state.dirty = False
    return response


# --- consent, Do-Not-Track, bots ---------------------------------------------------------------

FALSE_CONSENT = ("", "0", "false", "no", "deny", "denied", "off")


def capture_allowed(request):
    """May this browser be tracked anonymously (page views, downloads, beacon, cookie)?"""
    mode = flows_settings.TRACKING_CONSENT
    if mode == "off":
        return False
    if mode == "consent-cookie":
        value = request.COOKIES.get(flows_settings.CONSENT_COOKIE, "")
        if value.strip().lower() in FALSE_CONSENT:
            return False
    if flows_settings.HONOUR_DNT and (
        request.headers.get("DNT") == "1" or request.headers.get("Sec-GPC") == "1"
    ):
        return False
    return not is_bot(request)


def is_bot(request):
    agent = request.headers.get("User-Agent", "").lower()
    return not agent or any(marker in agent for marker in flows_settings.BOT_USER_AGENTS)


# --- page serving, documents ---------------------------------------------------------------


def wrap_page_serving(next_serve):
    """The ``on_serve_page`` wrapper: runs inside Wagtail's view-restriction check."""

    def serve_and_capture(page, request, args, kwargs):
        token = _CURRENT_REQUEST.set(request)  # read by the form-submission receiver
        try:
            response = next_serve(page, request, args, kwargs)
        finally:
            _CURRENT_REQUEST.reset(token)
        capture_safely(capture_page_view, page, request, response)
        capture_safely(set_visitor_cookie, request, response)
        return response

    return serve_and_capture


def current_request():
    return _CURRENT_REQUEST.get()


class bind_request:
    """Make ``request`` the current one for capture (FlowsFormMixin, custom views)."""

    def __init__(self, request):
        self.request = request

    def __enter__(self):
        self.token = _CURRENT_REQUEST.set(self.request)
        return self.request

    def __exit__(self, *exc):
        _CURRENT_REQUEST.reset(self.token)


def capture_safely(func, *args, **kwargs):
    """Capture never breaks the page: errors are logged and swallowed. Under ATOMIC_REQUESTS a
    savepoint keeps a failed INSERT from poisoning the request's transaction."""
    try:
        if connection.settings_dict.get("ATOMIC_REQUESTS") and connection.in_atomic_block:
            with transaction.atomic():
                return func(*args, **kwargs)
        return func(*args, **kwargs)
    except Exception:
        logger.exception("wagtail-flows capture failed in %s", getattr(func, "__name__", func))
        return None


def capture_page_view(page, request, response):
    if request.method != "GET" or response.status_code != 200:
        return None
    if getattr(request, "is_preview", False) or not capture_allowed(request):
        return None
    state = visitor_from_request(request, create=True)
    return record_visit(EventKind.PAGE_VIEWED, state, page=page, data=_visit_data(request))


def _visit_data(request):
    data = {"path": request.path[:500]}
    for key in ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term"):
        if key in request.GET:
            data[key] = request.GET[key][:200]
    return data


def capture_document_download(document, request):
    if request.method != "GET" or not capture_allowed(request):
        return None
    # The file response is not ours to change: no cookie is set, an existing one is used.
    state = visitor_from_request(request)
    return record_visit(
        EventKind.DOCUMENT_DOWNLOADED,
        state,
        name=document.title,
        object_id=document.pk,
        data={"filename": document.filename[:255], "collection_id": document.collection_id},
    )


# --- contacts and identification -------------------------------------------------------------


def clean_email(email):
    email = normalize_email(email)
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError({"email": _("Enter a valid email address.")}) from None
    if len(email) > 254:
        raise ValidationError({"email": _("An email address has at most 254 characters.")})
    return email


def get_or_create_contact(email, **defaults):
    email = clean_email(email)
    contact = Contact.objects.with_email(email).first()
    if contact is not None:
        return contact, False
    try:
        with transaction.atomic():
            return Contact.objects.create(email=email, **defaults), True
    except IntegrityError:  # created concurrently
        return Contact.objects.with_email(email).get(), False


def identify(request, contact, *, trusted=True):
    """Tie this browser to ``contact`` and move its anonymous events to the contact.

    Rule: only anonymous history moves, and a browser already tied to another contact is never
    re-tied by an untrusted identification (a form with an email anyone can type): that
    returns False and nothing moves. A trusted one (login, a click in our email) gives the
    browser a fresh visitor for the new contact; the other contact's history stays with it.
    A browser that may not be tracked (consent, DNT/GPC, bots, link scanners) is not tied.
    """
    if not capture_allowed(request):
        return False
    state = visitor_from_request(request, create=True)
    if not link_visitor(state.id, contact):
        if not trusted:
            return False
        state = VisitorCookie(uuid.uuid4(), new=True)
        request._flows_visitor = state
        link_visitor(state.id, contact)
    state.new = False  # its Visitor row exists now
    if not state.identified:
        state.identified, state.stamp, state.dirty = True, 0, True
    return True


def link_visitor(visitor_id, contact):
    """Give the visitor row to ``contact`` (False if another contact holds it)."""
    with transaction.atomic():
        visitor, created = Visitor.objects.select_for_update().get_or_create(
            pk=visitor_id, defaults={"contact": contact}
        )
        if not created and visitor.contact_id not in (None, contact.pk):
            return False
        if visitor.contact_id is None:
            visitor.contact = contact
        visitor.last_seen_at = timezone.now()
        visitor.save(update_fields=["contact", "last_seen_at"])
        anonymous = Event.objects.filter(visitor_id=visitor_id, contact__isnull=True)
        last_visit = anonymous.filter(kind__in=VISIT_KINDS).aggregate(at=Max("created_at"))["at"]
        anonymous.update(contact=contact)
        if last_visit:
            touch_contact(contact.pk, EventKind.PAGE_VIEWED, last_visit)
    return True


# --- the developer's call --------------------------------------------------------------------


def track(kind_or_name, *, request=None, contact=None, email=None, value=None, **data):
    """Record an event: a known kind, or any other name as a ``custom`` event.

    Name the person by ``contact``, ``email`` (found or created) or ``request`` (the
    browser's visitor). Bad input raises ValidationError naming the field; nothing is written.
    Returns the Event, or None when the browser may not be tracked (consent, DNT, bot).
    """
    kind, name = clean_kind(kind_or_name)
    fields = clean_event(kind, name=name, value=value, data=data)
    if contact is None and email is not None:
        email = clean_email(email)
    if contact is None and email is None and request is None:
        raise ValidationError({"contact": _("Name a contact, an email or a request.")})
    state = None
    if request is not None and capture_allowed(request):
        state = visitor_from_request(request, create=True)
    elif contact is None and email is None:
        return None
    if contact is None and email is not None:
        contact, _created = get_or_create_contact(email)
        if state is not None and not identify(request, contact, trusted=False):
            state = None  # that browser belongs to someone else: do not tie it to this event
    elif contact is None:
        contact = contact_of_visitor(state.id) if not state.new else None
    visitor = state.id if state else None
    return _insert_event(contact=contact, visitor=visitor, page=None, at=None, **fields)


def clean_kind(kind_or_name):
    """``(kind, name)``: a known kind as itself, any other string as a named custom event."""
    if not isinstance(kind_or_name, str) or not kind_or_name.strip():
        raise ValidationError({"kind": _("Name the event kind or a custom event name.")})
    if kind_or_name in EventKind.values:
        return kind_or_name, ""
    return EventKind.CUSTOM, clean_custom_name(kind_or_name)


def clean_custom_name(name):
    name = name.strip() if isinstance(name, str) else ""
    if not name:
        raise ValidationError({"name": _("A custom event needs a name.")})
    if len(name) > 100:
        raise ValidationError({"name": _("A custom event name has at most 100 characters.")})
    return name


def clean_data(data):
    """JSON-safe copy of ``data`` (Decimals, dates as strings) within MAX_EVENT_DATA_BYTES."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValidationError({"data": _("Event data must be an object of names and values.")})
    try:
        encoded = json.dumps(data, cls=DjangoJSONEncoder)
    except (TypeError, ValueError):
        raise ValidationError(
            {"data": _("Event data must be JSON: text, numbers, lists.")}
        ) from None
    limit = flows_settings.MAX_EVENT_DATA_BYTES
    if len(encoded.encode()) > limit:
        raise ValidationError({"data": _("Event data is larger than %(n)d bytes.") % {"n": limit}})
    return json.loads(encoded)


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


def same_origin(request):
    """CSRF defence for the beacon: the browser's Origin (or Referer) is this site."""
    source = request.headers.get("Origin") or request.headers.get("Referer") or ""
    parts = urlsplit(source)
    if not parts.scheme or not parts.netloc:
        return False
    if parts.netloc == request.get_host():
        return True
    origin = f"{parts.scheme}://{parts.netloc}"
    return origin in getattr(settings, "CSRF_TRUSTED_ORIGINS", ())
