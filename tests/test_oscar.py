"""The django-oscar adapter maps oscar's signals to shop events.

django-oscar brings some twenty apps of its own, so the main suite does not install it: the
real shop is tested by ``make test-oscar`` (tests/oscar_site/, CI runs it). The tests below
stand in oscar's two signal modules (same names, same ``send`` arguments as
``oscar.apps.order.utils.OrderCreator`` and ``oscar.apps.basket.views.BasketAddView``) and
send fake orders and baskets with the attributes oscar's models have.
"""

import sys
import types
from decimal import Decimal

import pytest
from django.dispatch import Signal
from django.test import RequestFactory

from wagtail_flows.contrib.oscar import receivers
from wagtail_flows.models import Contact, Event

pytestmark = pytest.mark.django_db


@pytest.fixture
def oscar(monkeypatch):
    """oscar.apps.order.signals and oscar.apps.basket.signals, as oscar defines them."""
    order_signals = types.ModuleType("oscar.apps.order.signals")
    order_signals.order_placed = Signal()
    basket_signals = types.ModuleType("oscar.apps.basket.signals")
    basket_signals.basket_addition = Signal()
    for name in ("oscar", "oscar.apps", "oscar.apps.order", "oscar.apps.basket"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    monkeypatch.setitem(sys.modules, "oscar.apps.order.signals", order_signals)
    monkeypatch.setitem(sys.modules, "oscar.apps.basket.signals", basket_signals)
    assert receivers.connect() is True
    return types.SimpleNamespace(order=order_signals, basket=basket_signals)


class Lines(list):
    def all(self):
        return self


def oscar_order(email="guest@example.com"):
    line = types.SimpleNamespace(
        partner_sku="LENS-6",
        upc="123",
        title="Lenses",
        quantity=2,
        unit_price_incl_tax=Decimal("29.50"),
    )
    return types.SimpleNamespace(
        number="100042",
        email=email,
        total_incl_tax=Decimal("59.00"),
        currency="GBP",
        lines=Lines([line]),
    )


def oscar_basket(partner_sku="LENS-6"):
    product = types.SimpleNamespace(upc="123", get_title=lambda: "Lenses")
    stockrecord = types.SimpleNamespace(partner_sku=partner_sku) if partner_sku else None
    line = types.SimpleNamespace(
        product=product, stockrecord=stockrecord, quantity=1, unit_price_incl_tax=Decimal("29.50")
    )
    return types.SimpleNamespace(
        id=7, total_incl_tax=Decimal("29.50"), currency="GBP", all_lines=lambda: [line]
    )


class AnonymousUser:
    is_authenticated = False


def test_without_oscar_nothing_is_connected(monkeypatch):
    monkeypatch.setitem(sys.modules, "oscar", None)
    assert receivers.connect() is False


def test_an_oscar_order_becomes_an_order_placed_event(oscar):
    oscar.order.order_placed.send(sender=object(), order=oscar_order(), user=AnonymousUser())
    contact = Contact.objects.get()
    event = contact.events.get(kind="order_placed")
    assert contact.email == "guest@example.com"
    assert (event.object_id, event.value) == ("100042", Decimal("59.00"))
    assert event.data["currency"] == "GBP"
    assert event.data["items"] == [
        {"sku": "LENS-6", "name": "Lenses", "quantity": 2, "price": "29.50"}
    ]
    assert contact.orders_count == 1


def test_a_registered_customers_order_links_their_user(oscar, django_user_model):
    user = django_user_model.objects.create_user("olga", "olga@example.com", "pw")
    order = oscar_order("olga@example.com")
    oscar.order.order_placed.send(sender=object(), order=order, user=user)
    assert Contact.objects.get().user == user


@pytest.mark.parametrize(("partner_sku", "sku"), [("LENS-6", "LENS-6"), (None, "123")])
def test_a_basket_addition_becomes_a_cart_updated_event(oscar, partner_sku, sku):
    """Cart items carry the partner SKU, as the order's lines do, so a flow's SKU filter
    matches the cart and the order alike; a line without stock record falls back to the UPC."""
    request = RequestFactory(headers={"user-agent": "Mozilla/5.0 Firefox"}).post("/basket/add/7/")
    request.basket = oscar_basket(partner_sku)
    oscar.basket.basket_addition.send(
        sender=object(), product=object(), user=AnonymousUser(), request=request
    )
    event = Event.objects.get(kind="cart_updated")
    assert event.object_id == "7" and event.visitor_id == request._flows_visitor.id
    item = {"sku": sku, "name": "Lenses", "quantity": 1, "price": "29.50"}
    assert event.data["items"] == [item]


def test_a_broken_order_object_never_breaks_oscars_checkout(oscar, caplog):
    oscar.order.order_placed.send(sender=object(), order=object(), user=None)
    assert not Event.objects.exists()
    assert "capture failed" in caplog.text
