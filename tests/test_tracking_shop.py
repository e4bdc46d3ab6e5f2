"""A shop tells wagtail-flows about orders and carts by sending two signals."""

import logging
from decimal import Decimal

import pytest
from django.test import RequestFactory

from tests.factories import ContactFactory
from wagtail_flows import capture as tracking
from wagtail_flows import signals
from wagtail_flows.models import Contact, Event

pytestmark = pytest.mark.django_db
ITEMS = [{"sku": "LENS-6", "name": "Lenses", "quantity": 2, "price": Decimal("29.50")}]


class Shop:
    """The sender a site would use (its order model)."""


def place_order(**kwargs):
    defaults = {"order_id": "1001", "total": Decimal("59.00"), "currency": "EUR", "items": ITEMS}
    signals.order_placed.send(sender=Shop, **{**defaults, **kwargs})


def test_an_order_by_email_is_recorded_on_a_new_customer():
    place_order(email="Kim@Example.com")
    contact = Contact.objects.get()
    event = contact.events.get(kind="order_placed")
    assert contact.email == "kim@example.com"
    assert (event.object_id, event.value) == ("1001", Decimal("59.00"))
    assert event.data == {
        "order_id": "1001",
        "total": "59.00",
        "currency": "EUR",
        "items": [{"sku": "LENS-6", "name": "Lenses", "quantity": 2, "price": "29.50"}],
    }
    assert (contact.orders_count, contact.revenue_total) == (1, Decimal("59.00"))
    assert contact.last_order_at == event.created_at


def test_an_order_by_a_logged_in_user_finds_their_contact(django_user_model):
    user = django_user_model.objects.create_user("lee", "lee@example.com", "pw")
    contact = ContactFactory(email="other@example.com", user=user)
    place_order(user=user)
    assert contact.events.filter(kind="order_placed").count() == 1


def test_an_order_by_a_user_without_contact_creates_one_from_their_address(django_user_model):
    user = django_user_model.objects.create_user("max", "max@example.com", "pw")
    place_order(user=user)
    assert Contact.objects.get().user == user


def test_the_same_order_sent_twice_is_counted_once():
    place_order(email="kim@example.com")
    place_order(email="kim@example.com")
    contact = Contact.objects.get()
    assert contact.events.filter(kind="order_placed").count() == 1
    assert contact.orders_count == 1


def test_an_order_naming_nobody_is_ignored_and_logged(caplog):
    with caplog.at_level(logging.WARNING, logger="wagtail_flows.capture"):
        place_order()
    assert not Event.objects.exists()
    assert "names no email or user" in caplog.text


def test_a_bad_order_never_breaks_the_checkout(caplog):
    with caplog.at_level(logging.ERROR, logger="wagtail_flows.capture"):
        place_order(email="not-an-email")  # the receiver must not raise into the shop
    assert not Event.objects.exists()
    assert "capture failed" in caplog.text


def test_a_huge_order_keeps_the_order_and_counts_the_items():
    items = [{"sku": f"SKU-{n}", "name": "x" * 100, "quantity": 1, "price": 1} for n in range(200)]
    place_order(email="kim@example.com", items=items)
    event = Event.objects.get()
    assert event.data["items_count"] == 200 and "items" not in event.data


def test_a_cart_update_from_the_browser_is_recorded_on_its_visitor():
    request = RequestFactory(headers={"user-agent": "Mozilla/5.0 Firefox"}).get("/cart/")
    signals.cart_updated.send(
        sender=Shop, request=request, cart_id=77, items=ITEMS, total=Decimal("59"), currency="EUR"
    )
    event = Event.objects.get(kind="cart_updated")
    assert event.visitor_id == request._flows_visitor.id and event.contact is None
    assert event.object_id == "77" and event.data["cart_id"] == "77"


def test_a_cart_update_of_an_identified_browser_lands_on_the_contact():
    contact = ContactFactory()
    request = RequestFactory(headers={"user-agent": "Mozilla/5.0 Firefox"}).get("/cart/")
    tracking.identify(request, contact)
    signals.cart_updated.send(sender=Shop, request=request, cart_id="c-1", items=ITEMS)
    event = contact.events.get(kind="cart_updated")
    contact.refresh_from_db()
    assert contact.last_activity_at == event.created_at


def test_a_cart_update_by_email_creates_the_contact():
    signals.cart_updated.send(sender=Shop, email="nia@example.com", cart_id="c-2", items=[])
    assert Contact.objects.get().events.get().kind == "cart_updated"


def test_a_cart_update_naming_nobody_is_ignored():
    signals.cart_updated.send(sender=Shop, cart_id="c-3", items=[])
    assert not Event.objects.exists()


# --- one event, one person: a shopper named by email keeps only a browser that is theirs -----


def browser_of(contact):
    request = RequestFactory(headers={"user-agent": "Mozilla/5.0 Firefox"}).get("/cart/")
    tracking.identify(request, contact)
    return request


def test_a_cart_for_someone_else_does_not_take_the_browser_and_survives_its_erasure():
    from wagtail_flows import gdpr

    ann, bea = ContactFactory(email="ann@example.com"), ContactFactory(email="bea@example.com")
    anns_browser = browser_of(ann)
    signals.cart_updated.send(
        sender=Shop, request=anns_browser, email="bea@example.com", cart_id="c-9", items=ITEMS
    )
    signals.cart_updated.send(
        sender=Shop, visitor=anns_browser._flows_visitor.id, email=bea.email, cart_id="c-10"
    )
    carts = bea.events.filter(kind="cart_updated")
    assert carts.count() == 2 and not carts.filter(visitor_id__isnull=False).exists()
    gdpr.erase_contact(ann)
    assert sorted(carts.values_list("object_id", flat=True)) == ["c-10", "c-9"]


def test_an_anonymous_browser_that_names_its_email_becomes_that_contact():
    request = RequestFactory(headers={"user-agent": "Mozilla/5.0 Firefox"}).get("/cart/")
    signals.cart_updated.send(sender=Shop, request=request, email="cy@example.com", cart_id="c")
    cy = Contact.objects.get(email="cy@example.com")
    event = cy.events.get(kind="cart_updated")
    assert event.visitor_id == request._flows_visitor.id
    assert cy.visitors.filter(pk=event.visitor_id).exists()  # erasing cy takes it along
