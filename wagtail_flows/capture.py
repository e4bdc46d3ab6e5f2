"""Capture sources beyond page serving: Wagtail form submissions, shop signals, logins and
the JS beacon. Each turns its input into one event through ``wagtail_flows.tracking``."""

import json
import logging

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import HttpResponse, JsonResponse
from django.utils import timezone

from wagtail_flows import tracking
from wagtail_flows.conf import flows_settings
from wagtail_flows.models import Contact, Event
from wagtail_flows.models.base import base_page_class
from wagtail_flows.models.contacts import EventKind

logger = logging.getLogger("wagtail_flows.capture")


# --- Wagtail form builder ------------------------------------------------------------------


class FlowsFormMixin:
    """Optional, for form pages served outside Wagtail's page view (headless, custom views):
    ``class ContactPage(FlowsFormMixin, AbstractEmailForm)`` links each submission to the
    submitting browser even where the ``on_serve_page`` hook does not run."""

    def serve(self, request, *args, **kwargs):
        with tracking.bind_request(request):
            response = super().serve(request, *args, **kwargs)
        return tracking.set_visitor_cookie(request, response)


def capture_form_submission(submission):
    """A Wagtail form submission from any form page → ``form_submitted`` on its contact."""
    page = submission.page.specific
    data = dict(submission.form_data)
    fields = list(page.get_form_fields()) if hasattr(page, "get_form_fields") else []
    email_name = _email_field(fields, data)
    email = data.pop(email_name, "") if email_name else ""
    contact = _form_contact(email, data, page)
    if contact is not None and _has_consent(fields, data):
        contact.subscribe()
    visitor = _form_visitor(tracking.current_request(), contact)
    return tracking.record_event(
        EventKind.FORM_SUBMITTED,
        contact=contact,
        visitor=visitor,
        page=page,
        name=page.title,
        object_id=submission.pk,
        data=_form_data(data),
    )


def _email_field(fields, data):
    for field in fields:
        if field.field_type == "email" and field.clean_name in data:
            return field.clean_name
    return next((n for n in flows_settings.EMAIL_FIELD_NAMES if n in data), None)


def _form_contact(email, data, page):
    if not email:
        return None
    try:
        contact, created = tracking.get_or_create_contact(
            email, source=f"form: {page.title}"[:255]
        )
    except ValidationError:
        logger.warning("Form %s submitted without a valid email; no contact.", page.pk)
        return None
    _fill_names(contact, data)
    return contact


def _fill_names(contact, data):
    changed = []
    for name in ("first_name", "last_name"):
        value = str(data.get(name) or "").strip()[:150]
        if value and not getattr(contact, name):
            setattr(contact, name, value)
            changed.append(name)
    if changed:
        contact.save(update_fields=changed)


def _has_consent(fields, data):
    for field in fields:
        if field.field_type != "checkbox" or not data.get(field.clean_name):
            continue
        words = f"_{field.clean_name}_"
        if any(f"_{name}_" in words for name in flows_settings.CONSENT_FIELD_NAMES):
            return True
    return False


def _form_visitor(request, contact):
    """The submitting browser, identified as the contact unless it belongs to another one."""
    if request is None or not tracking.capture_allowed(request):
        return None
    if contact is None:
        return tracking.visitor_from_request(request, create=True).id
    if tracking.identify(request, contact, trusted=False):
        return tracking.visitor_from_request(request).id
    return None


def _form_data(data):
    try:
        return tracking.clean_data(data)
    except ValidationError:
        return {"fields": sorted(data)[:50], "truncated": True}


# --- shops -----------------------------------------------------------------------------------


def capture_order(
    sender,
    *,
    order_id,
    total=None,
    currency="",
    items=(),
    email=None,
    user=None,
    request=None,
    **kwargs,
):
    """``signals.order_placed`` → ``order_placed``; a repeated signal for one order is ignored."""
    contact = shop_contact(email, user)
    if contact is None:
        logger.warning("order_placed for order %s names no email or user; ignored.", order_id)
        return None
    order_id = str(order_id)
    if Event.objects.filter(
        contact=contact, kind=EventKind.ORDER_PLACED, object_id=order_id
    ).exists():
        return None
    data = {"order_id": order_id, "total": total, "currency": currency, "items": items}
    return tracking.record_event(
        EventKind.ORDER_PLACED,
        contact=contact,
        visitor=_shop_visitor(request, contact),
        object_id=order_id,
        value=tracking.clean_value(total),
        data=_shop_data(data),
    )


def capture_cart(
    sender,
    *,
    cart_id,
    items=(),
    total=None,
    currency="",
    request=None,
    visitor=None,
    email=None,
    user=None,
    **kwargs,
):
    """``signals.cart_updated`` → ``cart_updated`` on the shopper (email, user or browser).

    A shopper named by email or user keeps the browser only if it is theirs (or anonymous,
    and then becomes theirs): an event never ties one contact's visitor to another contact."""
    contact = shop_contact(email, user)
    if contact is not None:
        visitor_id = _shoppers_visitor(contact, visitor, request)
    else:
        visitor_id = _anonymous_shopper(visitor, request)
        contact = tracking.contact_of_visitor(visitor_id)
    if contact is None and visitor_id is None:
        logger.info("cart_updated for cart %s names no shopper; ignored.", cart_id)
        return None
    data = {"cart_id": str(cart_id), "total": total, "currency": currency, "items": items}
    return tracking.record_event(
        EventKind.CART_UPDATED,
        contact=contact,
        visitor=visitor_id,
        object_id=cart_id,
        value=tracking.clean_value(total),
        data=_shop_data(data),
    )


def shop_contact(email=None, user=None):
    """The shopper's contact: by address (created if new), else by the logged-in user."""
    if user is not None and not getattr(user, "is_authenticated", False):
        user = None
    if email:
        contact, _created = tracking.get_or_create_contact(email)
        if user is not None and contact.user_id is None:
            Contact.objects.filter(pk=contact.pk).update(user=user)
            contact.user = user
        return contact
    if user is None:
        return None
    contact = Contact.objects.filter(user=user).first()
    if contact is None and getattr(user, "email", ""):
        contact, _created = tracking.get_or_create_contact(user.email, user=user)
    return contact


def _shop_visitor(request, contact):
    if request is None or not tracking.capture_allowed(request):
        return None
    if tracking.identify(request, contact, trusted=False):
        return tracking.visitor_from_request(request).id
    return None


def _shoppers_visitor(contact, visitor, request):
    """The named shopper's browser: a visitor given by the shop, else the request's."""
    visitor_id = getattr(visitor, "pk", visitor)
    if visitor_id is None:
        return _shop_visitor(request, contact)
    return visitor_id if tracking.link_visitor(visitor_id, contact) else None


def _anonymous_shopper(visitor, request):
    visitor_id = getattr(visitor, "pk", visitor)
    if visitor_id is None and request is not None and tracking.capture_allowed(request):
        visitor_id = tracking.visitor_from_request(request, create=True).id
    return visitor_id


def _shop_data(data):
    data["items"] = [_item(item) for item in (data.get("items") or ())]
    try:
        return tracking.clean_data(data)
    except ValidationError:  # too many items to keep: keep the order, count the items
        data["items_count"] = len(data.pop("items"))
        return tracking.clean_data(data)


def _item(item):
    item = dict(item)
    return {key: item.get(key) for key in ("sku", "name", "quantity", "price") if key in item}


# --- login -----------------------------------------------------------------------------------


def capture_login(sender, request, user, **kwargs):
    """A login identifies the browser as the user's contact (an existing one only)."""
    if request is None or not tracking.capture_allowed(request):
        return
    contact = Contact.objects.filter(user=user).first()
    if contact is None and getattr(user, "email", ""):
        contact = Contact.objects.with_email(user.email).first()
        if contact is not None and contact.user_id is None:
            Contact.objects.filter(pk=contact.pk).update(user=user)
    if contact is not None:
        tracking.identify(request, contact, trusted=True)


# --- the JS beacon ---------------------------------------------------------------------------

BEACON_KINDS = (EventKind.PAGE_VIEWED, EventKind.CUSTOM)


class BeaconError(Exception):
    def __init__(self, field, message, status=400):
        super().__init__(message)
        self.field, self.message, self.status = field, message, status


def handle_beacon(request):
    """POST JSON ``{kind, page|path, name, data}`` from the site's own pages."""
    try:
        if not tracking.same_origin(request):
            raise BeaconError("origin", "Only this site's pages may send events.", 403)
        if not tracking.capture_allowed(request):
            return HttpResponse(status=204)
        payload = _beacon_payload(request)
        state = tracking.visitor_from_request(request, create=True)
        _rate_limit(request, state)
        tracking.record_visit(state=state, **payload)
        return tracking.set_visitor_cookie(request, HttpResponse(status=204))
    except BeaconError as error:
        return JsonResponse({"errors": {error.field: error.message}}, status=error.status)
    except Exception:
        logger.exception("wagtail-flows beacon failed")
        return JsonResponse({"recorded": False}, status=202)


def _beacon_payload(request):
    limit = flows_settings.MAX_EVENT_DATA_BYTES
    if len(request.body) > limit + 2048:
        raise BeaconError("data", f"The request is larger than {limit} bytes.", 413)
    try:
        payload = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        raise BeaconError("body", "Send a JSON object.") from None
    if not isinstance(payload, dict):
        raise BeaconError("body", "Send a JSON object.")
    data = payload.get("data") or {}
    if "email" in payload or (isinstance(data, dict) and "email" in data):
        raise BeaconError("email", "The beacon never accepts an email address.")
    kind = payload.get("kind")
    if kind not in BEACON_KINDS:
        raise BeaconError("kind", f"kind must be one of {', '.join(BEACON_KINDS)}.")
    if kind == EventKind.CUSTOM:
        name = _custom_name(payload.get("name"))
        return {"kind": kind, "name": name, "data": _beacon_data(data)}
    page = _beacon_page(request, payload)
    path = payload.get("path") if isinstance(payload.get("path"), str) else ""
    return {"kind": kind, "page": page, "data": _beacon_data(data, path=path[:500])}


def _beacon_data(data, **ours):
    """The caller's data with what we add, checked whole: what is stored is what was
    checked (an event that passed here is never refused later for its size)."""
    try:
        return tracking.clean_data({**data, **ours} if isinstance(data, dict) else data)
    except ValidationError as error:
        raise BeaconError("data", error.message_dict["data"][0]) from None


def _custom_name(name):
    try:
        return tracking.clean_custom_name(name)
    except ValidationError as error:
        raise BeaconError("name", error.message_dict["name"][0]) from None


def _beacon_page(request, payload):
    Page = base_page_class()
    page_id, path = payload.get("page"), payload.get("path")
    page = None
    if isinstance(page_id, int) and not isinstance(page_id, bool):
        page = Page.objects.live().public().filter(pk=page_id).first()
    elif isinstance(path, str) and path.startswith("/") and len(path) <= 500:
        page = Page.find_for_request(request, path)
        page = page if page is not None and page.live else None
        if page is not None and page.get_view_restrictions().exists():
            page = None
    if page is None:
        raise BeaconError("page", "Name a live public page by its id (page) or path.")
    return page


def _rate_limit(request, state):
    """At most BEACON_RATE_LIMIT events a minute per visitor; a browser without our cookie is
    counted by address, so dropping the cookie does not lift the limit."""
    minute = int(timezone.now().timestamp() // 60)
    who = request.META.get("REMOTE_ADDR", "") if state.new else state.id.hex
    key = f"wagtail_flows:beacon:{who}:{minute}"
    cache.add(key, 0, timeout=120)
    try:
        count = cache.incr(key)
    except ValueError:  # evicted between add and incr
        count = 1
        cache.set(key, count, timeout=120)
    if count > flows_settings.BEACON_RATE_LIMIT:
        raise BeaconError("rate", "Too many events; try again in a minute.", 429)
