"""Oscar's signals → wagtail-flows shop events (see the package docstring)."""

import importlib
import logging

from wagtail_flows.capture.pages import capture_safely
from wagtail_flows.capture.shop import capture_cart, capture_order

logger = logging.getLogger("wagtail_flows.capture")


def connect():
    """Connect to oscar's signals; False (and nothing connected) when oscar is absent."""
    try:
        order_signals = importlib.import_module("oscar.apps.order.signals")
        basket_signals = importlib.import_module("oscar.apps.basket.signals")
    except ImportError:
        return False
    order_signals.order_placed.connect(
        on_order_placed, weak=False, dispatch_uid="wagtail_flows_oscar_order"
    )
    basket_signals.basket_addition.connect(
        on_basket_addition, weak=False, dispatch_uid="wagtail_flows_oscar_basket"
    )
    return True


def on_order_placed(sender, order, user=None, **kwargs):
    capture_safely(_order_placed, sender, order, user)


def on_basket_addition(sender, product, user=None, request=None, **kwargs):
    capture_safely(_basket_addition, sender, user, request)


def _order_placed(sender, order, user):
    return capture_order(sender, **order_kwargs(order, user))


def _basket_addition(sender, user, request):
    basket = getattr(request, "basket", None)
    if basket is None:
        logger.info("oscar basket_addition without request.basket; ignored.")
        return None
    return capture_cart(sender, **basket_kwargs(basket, user, request))


def order_kwargs(order, user=None):
    """An oscar Order as ``signals.order_placed`` keyword arguments."""
    return {
        "order_id": order.number,
        "email": order.email or getattr(user, "email", "") or None,
        "user": user if getattr(user, "is_authenticated", False) else None,
        "total": order.total_incl_tax,
        "currency": order.currency,
        "items": [
            {
                "sku": line.partner_sku or line.upc or "",
                "name": line.title,
                "quantity": line.quantity,
                "price": line.unit_price_incl_tax,
            }
            for line in order.lines.all()
        ],
    }


def basket_kwargs(basket, user=None, request=None):
    """An oscar Basket as ``signals.cart_updated`` keyword arguments."""
    authenticated = getattr(user, "is_authenticated", False)
    return {
        "cart_id": basket.id,
        "user": user if authenticated else None,
        "request": request,
        "total": basket.total_incl_tax,
        "currency": basket.currency,
        "items": [
            {
                "sku": _basket_sku(line),
                "name": line.product.get_title(),
                "quantity": line.quantity,
                "price": line.unit_price_incl_tax,
            }
            for line in basket.all_lines()
        ],
    }


def _basket_sku(line):
    """The partner SKU, as oscar copies it onto the order line (so cart and order conditions
    on one SKU agree); the product's UPC when the line has no stock record."""
    stockrecord = getattr(line, "stockrecord", None)
    return getattr(stockrecord, "partner_sku", "") or getattr(line.product, "upc", "") or ""
