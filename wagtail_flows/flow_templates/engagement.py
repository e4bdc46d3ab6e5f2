"""B. Interest and engagement (FLOW_CATALOG.md 6–12)."""

from django.utils.translation import gettext_lazy as _

from wagtail_flows.flow_templates.acquisition import sales_team_param
from wagtail_flows.flow_templates.spec import (
    FlowTemplate,
    L,
    Or,
    P,
    Param,
    add_tag,
    add_to_list,
    block,
    branch,
    button,
    did_event,
    email,
    exit_flow,
    form_answer,
    group,
    has_tag,
    heading,
    in_list,
    notify,
    quote,
    score_at_least,
    send,
    set_stage,
    stage_is,
    text,
    wait,
    when,
)


def page_viewed(page_param, min_views=1, within_days=None, descendants=True):
    return block(
        "page_viewed",
        page=P(page_param),
        include_descendants=descendants,
        min_views=min_views,
        within_days=within_days,
    )


def engagement(min_visits, within_days, open_rate=None, click_rate=None, last_emails=10):
    return block(
        "engagement",
        min_visits=min_visits,
        within_days=within_days,
        min_open_rate=open_rate,
        min_click_rate=click_rate,
        last_emails=last_emails,
    )


TOPIC_ANSWER = Or((P("topic_answer"), P("topic")))


TOPIC = FlowTemplate(
    slug="topic-automation",
    title=_("Topic automation"),
    group="engagement",
    description=_(
        "Someone reads pages of one topic (a section of your site): they are tagged with the "
        "topic and get that topic's short email series. Make one flow per topic: a reader "
        "already getting another topic's series never gets this one too."
    ),
    params=(
        Param(
            "topic_page",
            _("Topic section"),
            "page",
            required=True,
            help_text=_("The page whose section is the topic; pages below it count too."),
        ),
        Param(
            "topic",
            _("Topic tag"),
            "text",
            default="topic",
            required=True,
            help_text=_("e.g. gardening"),
        ),
        Param("min_views", _("Pages read before it starts"), "int", default=2),
        Param("topic_document", _("Topic document (optional)"), "document"),
        Param(
            "topic_form",
            _("Topic form (optional)"),
            "form_page",
            help_text=_(
                "A form that asks which topic interests them: choosing this topic "
                "there starts the series too."
            ),
        ),
        Param(
            "topic_field",
            _("Topic field of the form"),
            "text",
            default="topic",
            help_text=_(
                "The form field that holds the chosen topic, as the page's “Form "
                "answers” screen lists it."
            ),
        ),
        Param(
            "topic_answer",
            _("Answer that picks this topic"),
            "text",
            help_text=_("As the form's choice reads, e.g. Gardening. Empty: the topic tag."),
        ),
        Param(
            "series_tag",
            _("Tag shared by all your topic flows"),
            "text",
            default="topic-series",
            required=True,
            help_text=_(
                "Every topic flow adds it; a contact who has it already gets a topic's "
                "series and is not sent another. Use the same tag in all your topic flows."
            ),
        ),
    ),
    triggers=(
        page_viewed("topic_page", min_views=P("min_views"), within_days=30),
        when(
            "topic_document",
            block("document_downloaded", document=P("topic_document"), collection=None),
        ),
        when("topic_form", block("form_submitted", form_page=P("topic_form"))),
    ),
    # A run the topic form started needs this topic chosen; one a page view or download
    # started has no form answer ("not set") and goes in as before.
    entry_conditions=(
        when("topic_form", form_answer(P("topic_field"), "equals", TOPIC_ANSWER)),
        when("topic_form", form_answer(P("topic_field"), "is_not_set")),
    ),
    fields={"entry_match": "any"},
    steps=(
        branch(
            [has_tag(P("series_tag"))],
            yes=[exit_flow("Already gets another topic's series")],
        ),
        add_tag(P("topic")),
        add_tag(P("series_tag")),
        send("intro"),
        wait(4),
        send("deep-dive"),
    ),
    emails=(
        email(
            "intro",
            "1. Topic introduction",
            "More on the topic you've been reading about",
            "A hand-picked reading list, just for you.",
            heading("You seem to like this topic"),
            text(
                "We noticed you have been reading about it, so here is where to go next: "
                "our three most useful guides on the subject."
            ),
            button("Read the guides"),
        ),
        email(
            "deep-dive",
            "2. Topic deep dive",
            "The deep dive: everything in one place",
            "Our most complete guide on the topic.",
            heading("The complete guide"),
            text(
                "Ready to go further? Our complete guide covers it from the basics to the "
                "expert tricks."
            ),
            button("Get the complete guide"),
        ),
    ),
)

WEBSITE_ACTIVITY = FlowTemplate(
    slug="website-activity-follow-up",
    title=_("Website-activity follow-up"),
    group="engagement",
    description=_(
        "Someone looks at your pricing (or another high-intent page): an hour later they get a "
        "direct, helpful follow-up. Visitors of your “about us” page get testimonials instead."
    ),
    params=(
        Param(
            "pricing_page",
            _("High-intent page (pricing, a product category)"),
            "page",
            required=True,
        ),
        Param("about_page", _("About-us page (optional)"), "page"),
    ),
    triggers=(
        page_viewed("pricing_page", descendants=False),
        when("about_page", page_viewed("about_page", descendants=False)),
    ),
    steps=(
        wait(1, "hours"),
        branch(
            [did_event("page_viewed", page=P("pricing_page"), within_days=1)],
            yes=[send("follow-up")],
            no=[send("testimonials")],
        ),
    ),
    fields={"reentry": "after_days", "reentry_days": 30},
    emails=(
        email(
            "follow-up",
            "Pricing follow-up",
            "Any questions about our plans, {{ contact.first_name|default:'there' }}?",
            "We'll help you pick the right one.",
            heading("Choosing a plan?"),
            text(
                "You were looking at our plans. Most customers start with the middle one; "
                "if you're unsure, book a 15-minute call and we'll work it out together."
            ),
            button("Book a call"),
        ),
        email(
            "testimonials",
            "About-us testimonials",
            "The people behind the product, and what customers say",
            "A few words from customers who know us well.",
            heading("Thanks for getting to know us"),
            quote(
                "They treat every customer like their only one.", "Priya", "Customer since 2021"
            ),
            button("Read more stories"),
        ),
    ),
)

SUPER_LEAD = FlowTemplate(
    slug="super-lead",
    title=_("Super-lead (hot lead) engagement"),
    group="engagement",
    description=_(
        "A contact visits your site again and again (10 visits in 7 days by default), or "
        "opens or clicks most of your emails: they join “Super leads”, get a personal note "
        "and your sales team is told."
    ),
    params=(
        Param("min_visits", _("Site visits at least"), "int", default=10),
        Param("within_days", _("Within (days)"), "int", default=7),
        Param(
            "min_open_rate",
            _("Or email open rate at least (%, optional)"),
            "percent",
            help_text=_(
                "Of their last emails (below); opens are inflated by mail privacy "
                "features, so prefer the click rate."
            ),
        ),
        Param("min_click_rate", _("Or email click rate at least (%, optional)"), "percent"),
        Param("last_emails", _("Rates over their last (emails)"), "int", default=10),
        sales_team_param(),
    ),
    triggers=(
        engagement(
            P("min_visits"),
            P("within_days"),
            open_rate=P("min_open_rate"),
            click_rate=P("min_click_rate"),
            last_emails=P("last_emails"),
        ),
    ),
    # Sales already knows customers, and a contact already in "Super leads" was passed on.
    never_enter_if=(stage_is("customer"), stage_is("evangelist"), in_list("Super leads")),
    steps=(
        add_to_list("Super leads"),
        send("personal"),
        notify(
            "Hot lead on the site",
            "This contact is visiting the site a lot: a good moment to call.",
        ),
    ),
    emails=(
        email(
            "personal",
            "Personal note",
            "Quick question, {{ contact.first_name|default:'there' }}",
            "Can I help you find what you're looking for?",
            text(
                "Hi {{ contact.first_name|default:'there' }},",
                "I saw you have been exploring our site this week. I'm happy to answer any "
                "question or show you around in a short call; just reply to this email.",
                "Best regards,<br>The team",
            ),
        ),
    ),
)

LEAD_NURTURING = FlowTemplate(
    slug="lead-nurturing",
    title=_("Lead nurturing to MQL"),
    group="engagement",
    description=_(
        "Contacts who filled in several of your forms get mid-funnel content (case study, "
        "demo invitation); when their score reaches the threshold they become a "
        "marketing-qualified lead (MQL)."
    ),
    params=(
        Param("min_forms", _("Forms submitted at least"), "int", default=2),
        Param("mql_score", _("Score that makes an MQL"), "int", default=50),
    ),
    triggers=(block("form_submitted", form_page=None),),
    entry_conditions=(did_event("form_submitted", min_count=P("min_forms"), within_days=30),),
    steps=(
        block("change_score", delta=10),
        send("case-study"),
        wait(3),
        send("demo"),
        branch([score_at_least(P("mql_score"))], yes=[set_stage("mql")], wait_up_to=(14, "days")),
    ),
    emails=(
        email(
            "case-study",
            "Case study",
            "How a company like yours doubled its results",
            "A 3-minute read with real numbers.",
            heading("A customer story"),
            text(
                "See how one of our customers solved the problem you are looking into, "
                "step by step, with the numbers to show for it."
            ),
            button("Read the case study"),
        ),
        email(
            "demo",
            "Free demo invitation",
            "See it in action: book your free demo",
            "30 minutes, tailored to your questions.",
            heading("Want to see it live?"),
            text(
                "Book a free, no-obligation demo and we'll show you exactly how it would "
                "work for you."
            ),
            button("Book my demo"),
        ),
    ),
)

SALES_NOTIFICATION = FlowTemplate(
    slug="sales-notification",
    title=_("Sales notification"),
    group="engagement",
    description=_(
        "A contact views your pricing page or sends the “contact sales” form: your sales team "
        "gets an email with their details, score and recent activity."
    ),
    params=(
        Param("pricing_page", _("Pricing page"), "page", required=True),
        Param("contact_form", _("“Contact sales” form (optional)"), "form_page"),
        sales_team_param(),
    ),
    triggers=(
        page_viewed("pricing_page", descendants=False),
        when("contact_form", block("form_submitted", form_page=P("contact_form"))),
    ),
    steps=(notify("Sales-ready lead", "This contact is close to buying."),),
    fields={"reentry": "after_days", "reentry_days": 7},
)

EVANGELIST = FlowTemplate(
    slug="evangelist",
    title=_("Evangelist / advocacy"),
    group="engagement",
    description=_(
        "Your most engaged customers — frequent visits, clicks in your emails or forms sent — "
        "join the “Evangelists” list and are invited to review you and share."
    ),
    params=(
        Param("min_visits", _("Site visits at least"), "int", default=5),
        Param("min_clicks", _("Or clicks in emails at least"), "int", default=3),
        Param("min_forms", _("Or forms submitted at least"), "int", default=2),
        Param("within_days", _("Within (days)"), "int", default=30),
    ),
    # Each kind of activity is a moment to look; the entry conditions say who qualifies.
    triggers=(
        engagement(P("min_visits"), P("within_days")),
        block("email_engaged", engagement="clicked", email=None),
        block("form_submitted", form_page=None),
    ),
    entry_conditions=(
        stage_is("customer"),
        group(
            did_event("page_viewed", min_count=P("min_visits"), within_days=P("within_days")),
            did_event("link_clicked", min_count=P("min_clicks"), within_days=P("within_days")),
            did_event("form_submitted", min_count=P("min_forms"), within_days=P("within_days")),
            match="any",
        ),
    ),
    steps=(add_to_list("Evangelists"), set_stage("evangelist"), send("review")),
    emails=(
        email(
            "review",
            "Review invitation",
            "You're one of our favourite customers",
            "Would you share your experience?",
            heading("Thank you for being a fan"),
            text(
                "You're one of our most loyal customers, and it means a lot. Would you take "
                "two minutes to write a review? It helps others find us."
            ),
            button("Write a review"),
        ),
    ),
)


def grade(name, lower=()):
    """Into the “Grade X” list if the contact's grade (Settings › Lead scoring) is X."""
    is_grade = block("grade_is", grades=[name])
    return [branch([is_grade], yes=[add_to_list(f"Grade {name}")], no=list(lower))]


LEAD_GRADING = FlowTemplate(
    slug="lead-grading",
    title=_("Lead grading"),
    group="engagement",
    description=_(
        "Five weeks after a contact joins your nurture list they are added to the “Grade” "
        "list of their lead grade, A, B, C or D (graded by score: Settings › Lead scoring)."
    ),
    params=(
        Param("nurture_list", _("Nurture list"), "text", default="Newsletter", required=True),
        Param("after_weeks", _("Grade after (weeks)"), "int", default=5),
    ),
    triggers=(block("list_joined", list=L(P("nurture_list"))),),
    steps=(
        wait(P("after_weeks"), "weeks"),
        *grade("A", grade("B", grade("C", [add_to_list("Grade D")]))),
    ),
)

TEMPLATES = [
    TOPIC,
    WEBSITE_ACTIVITY,
    SUPER_LEAD,
    LEAD_NURTURING,
    SALES_NOTIFICATION,
    EVANGELIST,
    LEAD_GRADING,
]
