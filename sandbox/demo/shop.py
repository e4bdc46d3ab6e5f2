"""The demo shop's cart, kept in the session, and the orders placed from it.

The shop talks to wagtail-flows the way any shop would, through the public signals:
``cart_updated`` whenever the cart changes and ``order_placed`` at checkout.
"""

import uuid
from decimal import Decimal

from django.conf import settings

from demo.models import LandingPage, Order, ProductPage
from wagtail_flows import signals

SESSION_KEY = "demo_cart"
CENTS = Decimal("0.01")


class Cart:
    """A session cart: ``{"id": <uuid>, "lines": {sku: quantity}}``."""

    def __init__(self, request):
        self.request = request
        self.data = request.session.get(SESSION_KEY) or {"id": uuid.uuid4().hex, "lines": {}}

    @property
    def cart_id(self):
        return self.data["id"]

    @property
    def currency(self):
        return settings.SANDBOX_CURRENCY

    def __len__(self):
        return sum(self.data["lines"].values())

    def lines(self):
        """The cart's lines, with live product pages: ``[(product, quantity)]``."""
        products = ProductPage.objects.live().filter(sku__in=self.data["lines"])
        return [(p, self.data["lines"][p.sku]) for p in products.order_by("title")]

    def items(self):
        return [
            {"sku": p.sku, "name": p.title, "quantity": qty, "price": p.price}
            for p, qty in self.lines()
        ]

    def total(self):
        return sum((item["price"] * item["quantity"] for item in self.items()), Decimal("0"))

    def set_quantity(self, product, quantity):
        if quantity > 0:
            self.data["lines"][product.sku] = quantity
        else:
            self.data["lines"].pop(product.sku, None)
        self._save_and_announce()

    def add(self, product, quantity=1):
        self.set_quantity(product, self.data["lines"].get(product.sku, 0) + quantity)

    def clear(self):
        self.request.session.pop(SESSION_KEY, None)

    def _save_and_announce(self):
        session = self.request.session
        session[SESSION_KEY] = self.data
        known = {"email": session["demo_email"]} if "demo_email" in session else {}
        signals.cart_updated.send(
            sender=Cart,
            request=self.request,
            **known,
            cart_id=self.cart_id,
            items=self.items(),
            total=self.total(),
            currency=self.currency,
        )


def discount_for(code):
    """The percentage a discount code of a live landing page gives, or 0."""
    code = (code or "").strip().upper()
    if not code:
        return 0
    page = LandingPage.objects.live().filter(discount_code__iexact=code).first()
    return page.discount_percent if page else 0


def place_order(request, cart, email, discount_code=""):
    """Turn the cart into an Order, tell wagtail-flows (``order_placed``), empty the cart."""
    items = cart.items()
    subtotal = cart.total()
    percent = discount_for(discount_code)
    total = (subtotal * (100 - percent) / 100).quantize(CENTS)
    order = Order.objects.create(
        email=email,
        items=[{**item, "price": str(item["price"])} for item in items],
        subtotal=subtotal,
        discount_code=discount_code.strip().upper() if percent else "",
        total=total,
        currency=cart.currency,
    )
    cart.clear()
    request.session["demo_email"] = email
    signals.order_placed.send(
        sender=Order,
        request=request,
        email=email,
        order_id=order.number,
        total=total,
        currency=order.currency,
        items=items,
    )
    return order
