"""D. Retention and feedback (FLOW_CATALOG.md 18–22)."""

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
    form_answer,
    has_tag,
    heading,
    quote,
    remove_from_list,
    send,
    text,
    wait,
    wait_until,
)


def back_to_active():
    return [remove_from_list("Inactive"), add_to_list("Active")]


def engaged_again():
    """Any sign of life this week: a click in an email, a visit, a form sent (opens are
    left out: mail privacy features fake them)."""
    return [
        clicked_email(within_days=7),
        did_event("page_viewed", within_days=7),
        did_event("form_submitted", within_days=7),
    ]


RE_ENGAGEMENT = FlowTemplate(
    slug="re-engagement",
    title=_("Re-engagement (wake-up)"),
    group="retention",
    description=_(
        "Contacts with no visit, form, open or click for 90 days move to the “Inactive” list "
        "and get an offer. If they come back (a click, a visit or a form) they return to "
        "“Active”; if not, a last-chance email follows and they are tagged “dormant” so other "
        "flows can leave them alone. A contact tagged “dormant” is never re-targeted."
    ),
    params=(
        Param("days", _("Inactive for (days)"), "int", default=90),
        Param("coupon_code", _("Comeback code"), "text", default="MISSYOU20", required=True),
    ),
    triggers=(block("inactive", days=P("days"), activity="any"),),
    never_enter_if=(has_tag("dormant"),),
    steps=(
        add_to_list("Inactive"),
        remove_from_list("Active"),
        send("offer"),
        branch(
            engaged_again(),
            match="any",
            wait_up_to=(7, "days"),
            yes=back_to_active(),
            no=[
                send("last-chance"),
                branch(
                    engaged_again(),
                    match="any",
                    wait_up_to=(7, "days"),
                    yes=back_to_active(),
                    no=[add_tag("dormant")],
                ),
            ],
        ),
    ),
    fields={"reentry": "after_exit"},
    emails=(
        email(
            "offer",
            "1. We miss you",
            "We miss you, {{ contact.first_name|default:'friend' }}: here's 20% off",
            "A little something to welcome you back.",
            heading("It's been a while!"),
            text("We haven't seen you for some time, so here's 20% off your next order:"),
            coupon(P("coupon_code"), "20% off, valid for two weeks"),
            button("Come back and see what's new"),
        ),
        email(
            "last-chance",
            "2. Last chance",
            "Should we stop writing to you?",
            "One click keeps you on the list.",
            heading("Still interested?"),
            text(
                "We don't want to crowd your inbox. If you'd like to keep hearing from us, "
                "click below; otherwise we'll write much less often."
            ),
            button("Yes, keep me posted"),
        ),
    ),
)

NPS = FlowTemplate(
    slug="nps-feedback",
    title=_("Customer satisfaction (NPS)"),
    group="retention",
    description=_(
        "After a customer answers your “how likely are you to recommend us” form: fans "
        "(9–10) are thanked and asked for a review, unhappy customers (0–6) get an apology "
        "and an offer, and everyone is tagged. A return or complaint cancels a pending email."
    ),
    params=(
        Param(
            "form_page",
            _("NPS form"),
            "form_page",
            required=True,
            help_text=_("The form page that asks the 0–10 question."),
        ),
        Param(
            "score_field",
            _("Score field"),
            "text",
            default="nps_score",
            required=True,
            help_text=_(
                "The name of the form's 0–10 field, as the page's “Form answers” screen lists it."
            ),
        ),
    ),
    triggers=(block("form_submitted", form_page=P("form_page")),),
    steps=(
        wait(1, "hours"),
        branch(
            [form_answer(P("score_field"), "gte", "9")],
            yes=[add_tag("promoter"), send("thanks")],
            no=[
                branch(
                    [form_answer(P("score_field"), "lte", "6")],
                    yes=[add_tag("detractor"), send("sorry")],
                    no=[add_tag("passive")],
                )
            ],
        ),
    ),
    exit_conditions=(
        did_event("custom", name="return_requested", within_days=7),
        did_event("custom", name="complaint", within_days=7),
    ),
    fields={"reentry": "always"},
    emails=(
        email(
            "thanks",
            "Thanks, promoter",
            "Thank you, {{ contact.first_name|default:'friend' }}!",
            "Would you share that in a review?",
            heading("You made our day"),
            text(
                "Thank you for the great score. Would you tell others in a short review? "
                "As a thank-you, your next order ships free."
            ),
            button("Write a review"),
        ),
        email(
            "sorry",
            "Sorry, detractor",
            "We're sorry, and we want to make it right",
            "Tell us what went wrong; here's something for your trouble.",
            heading("We're sorry we let you down"),
            text(
                "Thank you for your honest answer. Just reply to this email and tell us what "
                "went wrong: a real person reads every reply."
            ),
            coupon("SORRY15", "15% off your next order"),
        ),
    ),
)

PRODUCT_ENGAGEMENT = FlowTemplate(
    slug="product-engagement",
    title=_("Product engagement"),
    group="retention",
    description=_(
        "Your product reports usage as a custom event. Heavy users are invited to share their "
        "success story; light users get tips to get more out of it."
    ),
    params=(
        Param("event_name", _("Usage event name"), "text", default="feature_used", required=True),
        Param("min_uses", _("Uses in 30 days for a power user"), "int", default=5),
    ),
    triggers=(block("custom_event", name=P("event_name")),),
    steps=(
        branch(
            [did_event("custom", name=P("event_name"), min_count=P("min_uses"), within_days=30)],
            yes=[add_tag("power-user"), send("story")],
            no=[wait(7), send("tips")],
        ),
    ),
    fields={"reentry": "after_days", "reentry_days": 30},
    emails=(
        email(
            "story",
            "Success story invite",
            "You're a power user! Share your story?",
            "We'd love to feature you.",
            heading("You're getting a lot out of it"),
            text(
                "You use the product more than almost anyone. Would you share how in a "
                "short interview? We'd love to feature your story."
            ),
            button("Tell us your story"),
        ),
        email(
            "tips",
            "Feature tips",
            "3 tips to get more done",
            "Small features, big time savers.",
            heading("Getting more out of it"),
            bullets(
                "Use keyboard shortcuts for the common actions.",
                "Save your settings as a template.",
                "Invite your team to share the work.",
            ),
            button("Learn more"),
        ),
    ),
)

EVENT_WEBINAR = FlowTemplate(
    slug="event-webinar",
    title=_("Event (webinar/meet-up)"),
    group="retention",
    description=_(
        "People who register for your event get a confirmation at once, a reminder the day "
        "before (at 9:00 their time) and, the day after, a thank-you with an invitation to "
        "the next one."
    ),
    params=(
        Param("registration_form", _("Registration form"), "form_page", required=True),
        Param(
            "date_field",
            _("Form field holding the event date"),
            "text",
            default="event_date",
            required=True,
        ),
    ),
    triggers=(block("form_submitted", form_page=P("registration_form")),),
    steps=(
        send("confirmation"),
        wait_until("context", P("date_field"), offset_days=-1),
        send("reminder"),
        wait_until("context", P("date_field"), offset_days=1),
        send("follow-up"),
    ),
    fields={"reentry": "always"},
    emails=(
        email(
            "confirmation",
            "1. Registration confirmed",
            "You're registered!",
            "Save the date; we'll remind you the day before.",
            heading("See you there, {{ contact.first_name|default:'friend' }}"),
            text(
                "Your place is booked. We'll send you a reminder with the link the day "
                "before the event."
            ),
        ),
        email(
            "reminder",
            "2. Tomorrow",
            "Tomorrow: see you at our event",
            "The details you need for tomorrow.",
            heading("It's tomorrow!"),
            text("A quick reminder that our event is tomorrow. Bring your questions!"),
            button("Event details"),
        ),
        email(
            "follow-up",
            "3. Thanks for coming",
            "Thanks for joining us, and what's next",
            "The recording, the slides and our next date.",
            heading("Thank you for joining"),
            text(
                "The recording and slides are online. Our next event is already planned; "
                "save your seat now."
            ),
            button("Register for the next one"),
        ),
    ),
)


def digest():
    return [wait(13, "weeks"), send("digest")]


NEWSLETTER = FlowTemplate(
    slug="newsletter-cadence",
    title=_("Recurring newsletter cadence"),
    group="retention",
    description=_(
        "New newsletter subscribers get an introduction on day 1, your services on day 3, "
        "testimonials on day 7 and a promotion on day 10, then a digest every 3 months for a "
        "year."
    ),
    params=(Param("list", _("Newsletter list"), "text", default="Newsletter", required=True),),
    triggers=(block("list_joined", list=L(P("list"))),),
    steps=(
        send("intro"),
        wait(2),
        send("services"),
        wait(4),
        send("testimonials"),
        wait(3),
        send("promotion"),
        *digest(),
        *digest(),
        *digest(),
        *digest(),
    ),
    emails=(
        email(
            "intro",
            "Day 1: introduction",
            "Nice to meet you, {{ contact.first_name|default:'friend' }}",
            "Who we are and what to expect.",
            heading("Nice to meet you"),
            text(
                "Thanks for subscribing. We're a small team that loves what we do; here's "
                "what you can expect from our newsletter."
            ),
        ),
        email(
            "services",
            "Day 3: services",
            "What we can do for you",
            "Our services at a glance.",
            heading("How we can help"),
            bullets("Advice tailored to you", "Fast, friendly support", "Fair prices"),
            button("Explore our services"),
        ),
        email(
            "testimonials",
            "Day 7: testimonials",
            "What our customers say",
            "Stories from people like you.",
            quote("The best decision we made this year.", "Jan", "Customer since 2020"),
            button("Read more stories"),
        ),
        email(
            "promotion",
            "Day 10: promotion",
            "A welcome offer for subscribers",
            "15% off, this week only.",
            heading("A thank-you for subscribing"),
            coupon("NEWS15", "15% off, this week only"),
            button("Shop now"),
        ),
        email(
            "digest",
            "Quarterly digest",
            "Your quarterly digest",
            "The best of the last three months.",
            heading("The quarter in a nutshell"),
            text(
                "Here's what happened over the last three months: our most-read articles, "
                "new products and what's coming next."
            ),
            button("Read the digest"),
        ),
    ),
)

TEMPLATES = [RE_ENGAGEMENT, NPS, PRODUCT_ENGAGEMENT, EVENT_WEBINAR, NEWSLETTER]
