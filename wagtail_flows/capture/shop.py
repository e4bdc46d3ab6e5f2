"""Shop signals (``order_placed``, ``cart_updated``) and logins, each turned into one event."""

import logging

from django.core.exceptions import ValidationError

from wagtail_flows.capture.visitors import (
    capture_allowed,
    contact_of_visitor,
    get_or_create_contact,
    identify,
    link_visitor,
    visitor_from_request,
)
from wagtail_flows.models import Contact, Event
from wagtail_flows.models.events import clean_data, clean_value, record_event
from wagtail_flows.vocabulary import EventKind

logger = logging.getLogger("wagtail_flows.capture")


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
    return record_event(
        EventKind.ORDER_PLACED,
        contact=contact,
        visitor=_shop_visitor(request, contact),
        object_id=order_id,
        value=clean_value(total),
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
        contact = contact_of_visitor(visitor_id)
    if contact is None and visitor_id is None:
        logger.info("cart_updated for cart %s names no shopper; ignored.", cart_id)
        return None
    data = {"cart_id": str(cart_id), "total": total, "currency": currency, "items": items}
    return record_event(
        EventKind.CART_UPDATED,
        contact=contact,
        visitor=visitor_id,
        object_id=cart_id,
        value=clean_value(total),
        data=_shop_data(data),
    )


def shop_contact(email=None, user=None):
    """The shopper's contact: by address (created if new), else by the logged-in user."""
    if user is not None and not getattr(user, "is_authenticated", False):
        user = None
    if email:
        contact, _created = get_or_create_contact(email)
        if user is not None and contact.user_id is None:
            Contact.objects.filter(pk=contact.pk).update(user=user)
            contact.user = user
        return contact
    if user is None:
        return None
    contact = Contact.objects.filter(user=user).first()
    if contact is None and getattr(user, "email", ""):
        contact, _created = get_or_create_contact(user.email, user=user)
    return contact


def _shop_visitor(request, contact):
    if request is None or not capture_allowed(request):
        return None
    if identify(request, contact, trusted=False):
        return visitor_from_request(request).id
    return None


def _shoppers_visitor(contact, visitor, request):
    """The named shopper's browser: a visitor given by the shop, else the request's."""
    visitor_id = getattr(visitor, "pk", visitor)
    if visitor_id is None:
        return _shop_visitor(request, contact)
    return visitor_id if link_visitor(visitor_id, contact) else None


def _anonymous_shopper(visitor, request):
    visitor_id = getattr(visitor, "pk", visitor)
    if visitor_id is None and request is not None and capture_allowed(request):
        visitor_id = visitor_from_request(request, create=True).id
    return visitor_id


def _shop_data(data):
    data["items"] = [_item(item) for item in (data.get("items") or ())]
    try:
        return clean_data(data)
    except ValidationError:  # too many items to keep: keep the order, count the items
        data["items_count"] = len(data.pop("items"))
        return clean_data(data)


def _item(item):
    item = dict(item)
    return {key: item.get(key) for key in ("sku", "name", "quantity", "price") if key in item}


def capture_login(sender, request, user, **kwargs):
    """A login identifies the browser as the user's contact (an existing one only)."""
    if request is None or not capture_allowed(request):
        return
    contact = Contact.objects.filter(user=user).first()
    if contact is None and getattr(user, "email", ""):
        contact = Contact.objects.with_email(user.email).first()
        if contact is not None and contact.user_id is None:
            Contact.objects.filter(pk=contact.pk).update(user=user)
    if contact is not None:
        identify(request, contact, trusted=True)
