"""A. Acquisition and welcome (FLOW_CATALOG.md 1–5)."""

from django.utils.translation import gettext_lazy as _

from wagtail_flows.flow_templates.spec import (
    FlowTemplate,
    L,
    P,
    Param,
    add_tag,
    add_to_list,
    block,
    branch,
    bullets,
    button,
    clicked_email,
    coupon,
    did_event,
    email,
    has_ordered,
    heading,
    notify,
    quote,
    remove_from_list,
    send,
    set_stage,
    text,
    wait,
    when,
)

VISITORS = "Visitor subscribers"
CUSTOMERS = "Customers"


SIGN_UP_FORM = _("Sign-up form")


def form_param(name="form_page", label=SIGN_UP_FORM, required=False, help_text=""):
    return Param(
        name,
        label,
        "form_page",
        required=required,
        help_text=help_text or _("Leave empty to start on any form of the site."),
    )


def sales_team_param():
    from wagtail_flows.flow_templates.builder import default_recipients

    return Param(
        "sales_team",
        _("Sales team's email addresses"),
        "emails",
        default=default_recipients,
        required=True,
        help_text=_("Comma-separated; they get the lead's details."),
    )


def coupon_param(default="WELCOME10"):
    return Param("coupon_code", _("Discount code"), "text", default=default, required=True)


WELCOME_SERIES = FlowTemplate(
    slug="welcome-series",
    title=_("Welcome series (new subscriber)"),
    group="acquisition",
    description=_(
        "Greets every new subscriber at once, then sends your best content over the next "
        "week. Those who click along join your “Primary subscribers” list. Make one per "
        "sign-up form (blog, landing page) to give each source its own welcome."
    ),
    params=(
        form_param(help_text=_("Your newsletter or blog sign-up form; empty: any form.")),
        Param(
            "join_list",
            _("Add them to the list (optional)"),
            "text",
            help_text=_("e.g. Newsletter; created if missing."),
        ),
        Param(
            "source_tag",
            _("Tag them with the sign-up source (optional)"),
            "text",
            help_text=_(
                "e.g. signup-blog: one flow per sign-up form gives each source its "
                "own welcome emails, and the tag tells them apart later."
            ),
        ),
    ),
    triggers=(block("form_submitted", form_page=P("form_page")),),
    steps=(
        when("join_list", add_to_list(P("join_list"))),
        when("source_tag", add_tag(P("source_tag"))),
        send("welcome"),
        wait(3),
        send("best-of"),
        wait(4),
        send("next"),
        branch([clicked_email(within_days=14)], yes=[add_to_list("Primary subscribers")]),
    ),
    emails=(
        email(
            "welcome",
            "1. Welcome",
            "Welcome aboard, {{ contact.first_name|default:'friend' }}!",
            "Here is what you will get from us, and how to change it.",
            heading("Thanks for subscribing!"),
            text(
                "Hi {{ contact.first_name|default:'there' }}, we are glad you are here.",
                "About twice a month you will get our newest articles, practical guides and "
                "the occasional offer. You can choose what you receive at any time from "
                "your subscription preferences (the link is at the bottom of every email).",
            ),
            button("Start with our most popular article"),
        ),
        email(
            "best-of",
            "2. Best of",
            "Our readers' favourite pieces",
            "Five articles people keep coming back to.",
            heading("The best of our archive"),
            text("New here? These are the pieces our readers share most:"),
            bullets(
                "The beginner's guide",
                "Ten mistakes we made so you don't have to",
                "Our yearly trends report",
            ),
            button("Read them now"),
        ),
        email(
            "next",
            "3. What's next",
            "What would you like to read next?",
            "Tell us in one click and we will tailor your emails.",
            heading("Help us write for you"),
            text(
                "You have been with us for a week. Which topics interest you most? "
                "Click the one that fits and we will send more of it.",
            ),
            button("Pick my topics"),
        ),
    ),
)

VISITOR_CONVERSION = FlowTemplate(
    slug="visitor-conversion",
    title=_("Visitor conversion (landing page + discount)"),
    group="acquisition",
    description=_(
        "A visitor signs up on your landing page (“subscribe for 10% off”): they join the "
        "“Visitor subscribers” list and get a welcome email with their discount code."
    ),
    params=(
        form_param(label=_("Landing page form"), help_text=_("Empty: any form of the site.")),
        coupon_param(),
    ),
    triggers=(block("form_submitted", form_page=P("form_page")),),
    steps=(add_to_list(VISITORS), send("discount")),
    emails=(
        email(
            "discount",
            "Your discount",
            "Here is your 10% off, {{ contact.first_name|default:'friend' }}",
            "Your code is inside: use it on your first order.",
            heading("Welcome! Here is your discount"),
            text("Thanks for joining us. As promised, here is 10% off your first order."),
            coupon(P("coupon_code"), "10% off your first order"),
            button("Start shopping"),
        ),
    ),
)

LEAD_CONVERSION = FlowTemplate(
    slug="lead-conversion-7-day",
    title=_("Lead conversion, 7-day cycle"),
    group="acquisition",
    description=_(
        "For a week after someone joins “Visitor subscribers”: a discount reminder on day 3, "
        "reviews from happy customers on day 6 (only to those who have not bought) and free "
        "shipping on day 7. An order ends their run as converted."
    ),
    params=(
        coupon_param(),
        Param("runs_for_days", _("Run the campaign for (days)"), "int", default=90),
    ),
    runs_for_days_param="runs_for_days",
    triggers=(block("list_joined", list=L(VISITORS)),),
    steps=(
        wait(3),
        send("reminder"),
        wait(3),
        branch([has_ordered()], no=[send("testimonials")]),
        wait(1),
        send("free-shipping"),
    ),
    goal=(did_event("order_placed"),),
    emails=(
        email(
            "reminder",
            "Day 3: discount reminder",
            "Your 10% off is still waiting",
            "Don't let your welcome discount go to waste.",
            heading("Still thinking it over?"),
            text("Your welcome discount is still valid. Use it at checkout:"),
            coupon(P("coupon_code"), "10% off your first order"),
            button("Use my discount"),
        ),
        email(
            "testimonials",
            "Day 6: what customers say",
            "Why thousands of customers love us",
            "Real reviews from real customers.",
            heading("Don't take our word for it"),
            quote("Fast delivery and the quality is excellent. I'm ordering again.", "Sophie"),
            quote("Great service: they answered my question within the hour.", "Mark"),
            button("See what they bought"),
        ),
        email(
            "free-shipping",
            "Day 7: free shipping",
            "Free shipping, today only",
            "On any order, no minimum.",
            heading("Free shipping on us"),
            text("Today only, we ship your order for free, whatever its size."),
            button("Shop now"),
        ),
    ),
)

PURCHASE_LIST_MOVE = FlowTemplate(
    slug="purchase-list-move",
    title=_("Purchase confirmation / list move"),
    group="acquisition",
    description=_(
        "When someone places an order they leave “Visitor subscribers”, join “Customers” and "
        "their lifecycle stage becomes customer."
    ),
    triggers=(block("order_placed", min_total=None, sku="", first_order_only=False),),
    steps=(remove_from_list(VISITORS), add_to_list(CUSTOMERS), set_stage("customer")),
    fields={"reentry": "after_exit"},
)

CONTENT_DOWNLOAD = FlowTemplate(
    slug="content-download-follow-up",
    title=_("Demo / content download follow-up"),
    group="acquisition",
    description=_(
        "Someone downloads your e-book (or asks for a demo): they get the content by email at "
        "once and your sales team is told who it was, with their details."
    ),
    params=(
        Param(
            "document",
            _("Document (e-book, white paper)"),
            "document",
            help_text=_("Leave empty for any document download."),
        ),
        form_param("demo_form", _("Demo request form"), help_text=_("Optional.")),
        sales_team_param(),
    ),
    triggers=(
        block("document_downloaded", document=P("document"), collection=None),
        when("demo_form", block("form_submitted", form_page=P("demo_form"))),
    ),
    steps=(
        send("content"),
        notify(
            "New lead: content downloaded",
            "A lead just downloaded content or asked for "
            "a demo. Please get in touch within the day.",
        ),
    ),
    fields={"reentry": "after_exit"},
    emails=(
        email(
            "content",
            "Your download",
            "Here is your copy, {{ contact.first_name|default:'friend' }}",
            "Keep it handy: the link works any time.",
            heading("Thanks for your interest"),
            text(
                "Here is the content you asked for. If you'd like to see how it applies to "
                "your business, reply to this email and one of our specialists will help.",
            ),
            button("Open my copy"),
        ),
    ),
)

TEMPLATES = [
    WELCOME_SERIES,
    VISITOR_CONVERSION,
    LEAD_CONVERSION,
    PURCHASE_LIST_MOVE,
    CONTENT_DOWNLOAD,
]
