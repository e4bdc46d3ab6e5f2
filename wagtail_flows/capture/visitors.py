"""The visitor cookie, identification, and the browser's visits.

The Visitor row is created only when the browser identifies itself (the event names the
cookie's id without a database constraint), and the event's contact comes from a subquery on
that row inside the same INSERT, so no lookup runs before it.

A visit is the browsing of ``VISIT_MINUTES`` (30) from its first page view. The cookie carries
the minute the browser's current visit started (anonymous browsers too), so capture knows
without a query which visit each page view belongs to and notes it in the view's
``data["visit"]`` (``flows.conditions.page_views`` counts visits from it). The cookie is sent
again only when a visit starts, once per visit; an identified browser's contact has its
``last_visit_at`` moved forward then too (one UPDATE per visit).
"""

import logging
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Max, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from wagtail_flows.conf import flows_settings
from wagtail_flows.flows.conditions.page_views import VISIT_KEY, VISIT_MINUTES
from wagtail_flows.models.contacts import Contact, Event, Visitor, normalize_email
from wagtail_flows.models.events import (
    VISIT_KINDS,
    append_event,
    is_listened,
    latest,
    record_event,
    touch_contact,
)
from wagtail_flows.vocabulary import EventKind

logger = logging.getLogger("wagtail_flows.capture")


def record_visit(kind, state, *, page=None, name="", object_id="", data=None):
    """A page view, download or beacon event from a browser: one INSERT when idle. A page
    view notes its visit (``data["visit"]``, whatever the caller's data said)."""
    at = timezone.now()
    new_visit = state is not None and state.enter_visit(at)
    if kind == EventKind.PAGE_VIEWED:
        data = {**(data or {}), VISIT_KEY: state.stamp} if state is not None else data
    fields = {"page": page, "name": name, "object_id": object_id, "data": data}
    if state is not None and is_listened(kind):
        contact = None if state.new else contact_of_visitor(state.id)
        return record_event(kind, contact=contact, visitor=state.id, at=at, **fields)
    event = Event(
        kind=kind,
        visitor_id=state.id if state else None,
        page=page,
        name=(name or "")[:100],
        object_id=str(object_id or "")[:255],
        data=data or {},
        created_at=at,
    )
    append_event(event, contact_of_visitor=state.id if state and not state.new else None)
    if new_visit and state.identified:
        _touch_visit(state, at)
    return event


def _touch_visit(state, at):
    """Once per visit an identified browser moves its contact's last_visit_at forward."""
    contact_id = Visitor.objects.filter(pk=state.id).values("contact_id")
    Contact.objects.filter(pk=Subquery(contact_id)).update(
        last_visit_at=latest("last_visit_at", at),
        last_activity_at=latest("last_activity_at", at),
    )


def contact_of_visitor(visitor_id):
    return Contact.objects.filter(visitors__pk=visitor_id).first() if visitor_id else None


# --- the visitor cookie ----------------------------------------------------------------------


@dataclass
class VisitorCookie:
    """The first-party cookie: a signed visitor id and the minute its visit started.

    Signed text: ``<id hex>.<minute>`` once identified, ``<id hex>-<minute>`` anonymous
    (``<id hex>`` alone: a cookie from before visits were kept, or no visit yet)."""

    id: uuid.UUID
    identified: bool = False
    stamp: int = 0  # the minute (since the epoch) the browser's current visit started
    new: bool = False  # created in this request: no Visitor row can exist
    dirty: bool = False  # must be (re)sent with the response

    def enter_visit(self, at):
        """Is a browser active at ``at`` starting a visit? Then the visit starts now, and the
        cookie is sent again (once per visit). A stamp in the future (a clock put back)
        starts one too."""
        minute = int(at.timestamp() // 60)
        if 0 <= minute - self.stamp < VISIT_MINUTES:
            return False
        self.stamp, self.dirty = minute, True
        return True

    def dumps(self):
        if self.identified:
            value = f"{self.id.hex}.{self.stamp}"
        else:
            value = f"{self.id.hex}-{self.stamp}" if self.stamp else self.id.hex
        return _signer().sign(value)

    @classmethod
    def loads(cls, raw):
        try:
            value = _signer().unsign(raw or "")
            identified = "." in value
            hex_id, _sep, stamp = value.partition("." if identified else "-")
            return cls(uuid.UUID(hex=hex_id), identified=identified, stamp=int(stamp or 0))
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
        # The visit goes on (its start was moved to the contact's last_visit_at by
        # link_visitor); a browser new to us starts one at its next page view.
        state.identified, state.dirty = True, True
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
