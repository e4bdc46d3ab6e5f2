"""C. Commerce (FLOW_CATALOG.md 13–17)."""

from django.utils.translation import gettext_lazy as _

from wagtail_flows.flow_templates.spec import (
    HOME,
    FlowTemplate,
    Or,
    P,
    Param,
    block,
    bullets,
    button,
    coupon,
    did_event,
    each,
    email,
    has_ordered,
    heading,
    products,
    send,
    text,
    wait,
)

PRODUCT_SKU = _("Product (SKU)")


def sku_param(label=PRODUCT_SKU):
    return Param("sku", label, "text", required=True, help_text=_("As your shop sends it."))


def order_placed(sku=""):
    return block("order_placed", min_total=None, sku=sku, first_order_only=False)


ABANDONED_CART = FlowTemplate(
    slug="abandoned-cart",
    title=_("Abandoned cart"),
    group="commerce",
    description=_(
        "A shopper leaves items in their cart and doesn't order within a few hours: they get "
        "a reminder with their products, a second one a day later with a discount, then "
        "answers to common questions. Ordering ends their run as converted (revenue "
        "recovered)."
    ),
    params=(
        Param("after_hours", _("Cart left for (hours)"), "int", default=4),
        Param(
            "coupon_code",
            _("Discount code in the second reminder"),
            "text",
            default="COMEBACK5",
            required=True,
        ),
    ),
    triggers=(block("cart_abandoned", after_hours=P("after_hours")),),
    steps=(send("reminder"), wait(1), send("offer"), wait(2), send("faq")),
    goal=(did_event("order_placed"),),
    fields={"reentry": "after_exit"},
    emails=(
        email(
            "reminder",
            "1. You left something behind",
            "You left something in your cart",
            "Your items are saved; complete your order in one click.",
            heading("Still thinking about it?"),
            text("Hi {{ contact.first_name|default:'there' }}, your cart is saved for you:"),
            products("cart", "In your cart"),
            button("Return to my cart"),
        ),
        email(
            "offer",
            "2. A little extra",
            "A little extra for what's in your cart",
            "A small thank-you if you complete your order today.",
            heading("Here's a discount to help you decide"),
            text(
                "Your cart is still waiting. Complete your order today and this code takes "
                "a little off the price:"
            ),
            coupon(P("coupon_code"), "Your discount on the items in your cart"),
            products("cart", "Your cart"),
            button("Complete my order"),
        ),
        email(
            "faq",
            "3. Questions answered",
            "Questions before you buy?",
            "Shipping, returns and payment in a nutshell.",
            heading("Good to know before you order"),
            bullets(
                "<b>Shipping</b>: free from €50, delivered in 2–3 working days.",
                "<b>Returns</b>: 30 days, no questions asked.",
                "<b>Payment</b>: card, PayPal or bank transfer.",
            ),
            button("Back to my cart"),
        ),
    ),
)

NEW_CUSTOMER = FlowTemplate(
    slug="new-customer-onboarding",
    title=_("New customer welcome / onboarding"),
    group="commerce",
    description=_(
        "When a contact becomes a customer (their first order) they are welcomed as a "
        "customer, get a product guide after 3 days and tips a week later."
    ),
    triggers=(block("stage_changed", stage="customer"),),
    steps=(send("welcome"), wait(3), send("guide"), wait(7), send("tips")),
    emails=(
        email(
            "welcome",
            "1. Welcome, customer",
            "Welcome to the family, {{ contact.first_name|default:'friend' }}!",
            "Thank you for your first order.",
            heading("Thank you for your order!"),
            text(
                "We're thrilled to have you as a customer. Over the next days we'll share "
                "how to get the most out of your purchase."
            ),
            button("Track my order"),
        ),
        email(
            "guide",
            "2. Product guide",
            "Your quick-start guide",
            "Everything you need in five minutes.",
            heading("Getting started"),
            text("Here is our quick-start guide: set-up, care and the features people love most."),
            button("Open the guide"),
        ),
        email(
            "tips",
            "3. Tips",
            "3 tips from our most experienced customers",
            "Small things that make a big difference.",
            heading("Tips and tricks"),
            bullets(
                "Register your product for the extended warranty.",
                "Join our community to swap ideas.",
                "Follow us for early access to new products.",
            ),
        ),
    ),
)

UPSELL = FlowTemplate(
    slug="upsell",
    title=_("Upsell / cross-sell"),
    group="commerce",
    description=_(
        "A week after someone buys a given product they get recommendations of products that "
        "go well with it. Name the recommended products and nobody who already has one is "
        "sent the recommendation; buying one meanwhile ends the run as converted."
    ),
    params=(
        sku_param("Bought product (SKU)"),
        Param("wait_days", _("Wait (days)"), "int", default=7),
        Param(
            "recommended_skus",
            _("Recommended products (SKU, optional)"),
            "skus",
            help_text=_(
                "Separated by commas, as your shop sends them. Who has ordered one of "
                "them never enters; ordering one during the wait is the flow's goal."
            ),
        ),
    ),
    triggers=(order_placed(P("sku")),),
    never_enter_if=(each("recommended_skus", lambda sku: has_ordered(sku=sku)),),
    goal=(each("recommended_skus", lambda sku: has_ordered(sku=sku)),),
    fields={"reentry": "after_exit", "goal_match": "any"},
    steps=(wait(P("wait_days")), send("recommend")),
    emails=(
        email(
            "recommend",
            "Recommendations",
            "Goes perfectly with your recent purchase",
            "Hand-picked for you.",
            heading("You might also like"),
            text("Customers who bought what you did also loved these:"),
            products("order", "Your order"),
            button("See the recommendations"),
        ),
    ),
)

REPLENISHMENT = FlowTemplate(
    slug="replenishment-reminder",
    title=_("Replenishment reminder"),
    group="commerce",
    description=_(
        "For products that run out (contact lenses, coffee, filters): a reminder some time "
        "after the order, before the supply ends. A new order restarts the count."
    ),
    params=(
        sku_param(),
        Param("remind_after_days", _("Remind after (days)"), "int", default=150),
    ),
    triggers=(order_placed(P("sku")),),
    steps=(wait(P("remind_after_days")), send("reminder")),
    fields={"reentry": "always"},
    emails=(
        email(
            "reminder",
            "Time to restock",
            "Running low? Time to restock",
            "Reorder in one click before you run out.",
            heading("Your supply is nearly used up"),
            text(
                "By our count you'll run out in a few weeks. Reorder now and it arrives in time."
            ),
            products("order", "Your last order"),
            button("Reorder"),
        ),
    ),
)

APPOINTMENT = FlowTemplate(
    slug="appointment-reminder",
    title=_("Check-up / appointment reminders"),
    group="commerce",
    description=_(
        "Reminds contacts some days before a date stored on them (next appointment, renewal). "
        "When the date changes, the pending reminder moves with it."
    ),
    params=(
        Param(
            "date_property",
            _("Date property of the contact"),
            "text",
            default="next_appointment",
            required=True,
        ),
        Param("days_before", _("Remind (days before)"), "int", default=3),
        Param("booking_page", _("Rescheduling page (optional)"), "page"),
    ),
    triggers=(
        block(
            "date_reached",
            date_source="property",
            property_name=P("date_property"),
            offset_days=P("days_before"),
            direction="before",
        ),
    ),
    steps=(send("reminder"),),
    fields={"reentry": "always"},
    emails=(
        email(
            "reminder",
            "Appointment reminder",
            "Reminder: your appointment is coming up",
            "Need another time? Rescheduling takes a minute.",
            heading("See you soon"),
            text(
                "This is a friendly reminder of your upcoming appointment. If the time no "
                "longer suits you, choose another one online."
            ),
            button("Reschedule", page=Or((P("booking_page"), HOME))),
        ),
    ),
)

TEMPLATES = [ABANDONED_CART, NEW_CUSTOMER, UPSELL, REPLENISHMENT, APPOINTMENT]
