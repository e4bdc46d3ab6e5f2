"""Public signals.

Signals developers send (a shop tells us about orders and carts)::

    order_placed.send(sender=MyOrder, email="ann@example.com", order_id="1001",
                      total=Decimal("59.00"), currency="EUR",
                      items=[{"sku": "LENS-6", "name": "Lenses", "quantity": 1,
                              "price": Decimal("59.00")}])

Signals we send (connect to them to extend flows):
``contact_enrolled``, ``step_executed``, ``enrollment_finished``, ``message_sent``,
``event_recorded``.
"""

from django.dispatch import Signal

# --- sent by the site --------------------------------------------------------------------
# kwargs: email or user, order_id, total, currency, items, request (optional)
order_placed = Signal()
# kwargs: request or visitor or email/user, cart_id, items, total, currency
cart_updated = Signal()

# --- sent by wagtail-flows ---------------------------------------------------------------
event_recorded = Signal()  # event
flow_status_changed = Signal()  # flow, old, new, user
contact_enrolled = Signal()  # enrollment
step_executed = Signal()  # enrollment, step_id, step_type, outcome
enrollment_finished = Signal()  # enrollment, status
message_sent = Signal()  # message

# --- inside wagtail-flows (not for sites): capture hands events to the engine ---------------
events_to_dispatch = Signal()  # event_ids; sent after commit for events a live flow listens to
