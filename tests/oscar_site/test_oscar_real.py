"""A django-oscar shop with ``wagtail_flows.contrib.oscar``: real oscar, real signals.

The customer adds to the basket through oscar's own add-to-basket view (which sends
``basket_addition``) and the order is placed by oscar's ``OrderCreator`` (which sends
``order_placed``), with products and stock made by ``oscar.test.factories`` as oscar's own
tests make them. Run by ``make test-oscar`` in ``.venv-oscar``; the main suite skips this
package (tests/conftest.py).
"""

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from oscar.apps.basket.models import Basket
from oscar.apps.partner.strategy import Selector
from oscar.test import factories

from wagtail_flows.models import Contact, Event
from wagtail_flows.models.contacts import EventKind

pytestmark = [pytest.mark.oscar, pytest.mark.django_db]

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
LENSES = {"sku": "LENS-6", "name": "Daily lenses", "quantity": 2, "price": "29.50"}


@pytest.fixture
def lenses():
    return factories.create_product(
        title="Daily lenses",
        upc="8712345",
        price=Decimal("29.50"),
        partner_sku="LENS-6",
        num_in_stock=10,
    )


@pytest.fixture
def customer():
    return get_user_model().objects.create_user("kim", "kim@example.com", "not-used")


def add_to_basket(client, product, quantity):
    response = client.post(
        reverse("basket:add", kwargs={"pk": product.pk}),
        {"quantity": quantity},
        HTTP_USER_AGENT=FIREFOX,
    )
    assert response.status_code == 302  # oscar redirects back after a successful add
    return response


def place_order(customer):
    """Checkout's last step: oscar's OrderCreator.place_order on the customer's basket."""
    basket = Basket.objects.get(owner=customer, status=Basket.OPEN)
    basket.strategy = Selector().strategy(user=customer)
    return factories.create_order(basket=basket, user=customer)


def test_a_customers_basket_addition_records_cart_updated(client, customer, lenses):
    client.force_login(customer)
    add_to_basket(client, lenses, 2)
    basket = Basket.objects.get(owner=customer)
    event = Event.objects.get(kind=EventKind.CART_UPDATED)
    assert event.contact.email == "kim@example.com"
    assert event.object_id == str(basket.pk)
    assert event.value == Decimal("59.00")
    assert event.data["currency"] == "EUR"
    assert event.data["total"] == "59.00"
    assert event.data["items"] == [LENSES]


def test_placing_the_order_records_order_placed_on_the_same_contact(client, customer, lenses):
    client.force_login(customer)
    add_to_basket(client, lenses, 2)
    order = place_order(customer)
    event = Event.objects.get(kind=EventKind.ORDER_PLACED)
    contact = Contact.objects.get(email="kim@example.com")
    assert event.contact == contact
    assert event.object_id == str(order.number)
    assert event.value == order.total_incl_tax == Decimal("59.00")
    assert (event.data["currency"], event.data["total"]) == ("EUR", "59.00")
    assert event.data["items"] == [LENSES]
    assert (contact.orders_count, contact.revenue_total) == (1, Decimal("59.00"))
    assert list(contact.events.values_list("kind", flat=True).order_by("pk")) == [
        EventKind.CART_UPDATED,
        EventKind.ORDER_PLACED,
    ]


def test_an_anonymous_basket_addition_is_kept_on_the_browsers_visitor(client, lenses):
    """A shopper who read a Wagtail page first carries our visitor cookie into the shop."""
    assert client.get("/", HTTP_USER_AGENT=FIREFOX).status_code == 200
    page_view = Event.objects.get(kind=EventKind.PAGE_VIEWED)
    add_to_basket(client, lenses, 1)
    event = Event.objects.get(kind=EventKind.CART_UPDATED)
    assert event.contact is None
    assert event.visitor_id == page_view.visitor_id is not None
    assert event.data["items"] == [{**LENSES, "quantity": 1}]
    assert event.value == Decimal("29.50")


def test_a_shopper_who_starts_in_the_shop_gets_the_cookie_their_cart_names(client, lenses):
    """No Wagtail page first: the visitor cookie comes back on oscar's own basket response
    (``VisitorCookieMiddleware``), so the pages read next join the same visitor."""
    add_to_basket(client, lenses, 1)
    cart = Event.objects.get(kind=EventKind.CART_UPDATED)
    assert client.get("/", HTTP_USER_AGENT=FIREFOX).status_code == 200
    page_view = Event.objects.get(kind=EventKind.PAGE_VIEWED)
    assert page_view.visitor_id == cart.visitor_id is not None
