"""StreamField blocks: triggers, conditions and steps.

The block type names (``page_viewed``, ``send_email``, ``branch`` …) and their field names are
the public contract read by the engine, the admin and saved flows: rename nothing.

Wagtail blocks cannot refer to themselves, so the nested step streams of ``branch`` and
``split`` are built by a depth-limited factory: steps nest at most ``MAX_NESTING`` levels of
branch/split deep (the innermost streams offer every step except branch and split).
"""

import functools

from django import forms
from wagtail import blocks
from wagtail.documents.blocks import DocumentChooserBlock

from wagtail_flows.flows.choosers import collection_chooser, contact_list_chooser  # noqa: F401
from wagtail_flows.flows.kinds import SWEEP_TRIGGERS, trigger_event_kinds  # noqa: F401
from wagtail_flows.vocabulary import EventKind, Grade, Stage

MAX_NESTING = 3

UNIT_CHOICES = [("minutes", "minutes"), ("hours", "hours"), ("days", "days"), ("weeks", "weeks")]
MATCH_CHOICES = [("all", "All conditions"), ("any", "Any condition")]
WEEKDAY_CHOICES = [
    (0, "Monday"),
    (1, "Tuesday"),
    (2, "Wednesday"),
    (3, "Thursday"),
    (4, "Friday"),
    (5, "Saturday"),
    (6, "Sunday"),
]


ContactListChooserBlock = contact_list_chooser.get_block_class(
    name="ContactListChooserBlock", module_path="wagtail_flows.flows.blocks"
)
CollectionChooserBlock = collection_chooser.get_block_class(
    name="CollectionChooserBlock", module_path="wagtail_flows.flows.blocks"
)


def list_block(**kwargs):
    return ContactListChooserBlock(**kwargs)


def stage_block(**kwargs):
    return blocks.ChoiceBlock(choices=Stage.choices, **kwargs)


def email_page_block(**kwargs):
    return blocks.PageChooserBlock(page_type="wagtail_flows.EmailPage", **kwargs)


# --- triggers ----------------------------------------------------------------------------


class PageViewedTrigger(blocks.StructBlock):
    page = blocks.PageChooserBlock(required=False, help_text="Leave empty for any page.")
    include_descendants = blocks.BooleanBlock(required=False, label="Include pages below it")
    min_views = blocks.IntegerBlock(default=1, min_value=1, label="Viewed at least (times)")
    within_days = blocks.IntegerBlock(required=False, min_value=1, label="Within (days)")

    class Meta:
        label = "Page viewed"
        icon = "doc-full"


class DocumentDownloadedTrigger(blocks.StructBlock):
    document = DocumentChooserBlock(required=False)
    collection = CollectionChooserBlock(
        required=False, help_text="Or any document in a collection."
    )

    class Meta:
        label = "Document downloaded"
        icon = "doc-full-inverse"


class FormPageChooserBlock(blocks.PageChooserBlock):
    """Offers only form pages: the site's page types built on Wagtail's form mixin."""

    @functools.cached_property
    def target_models(self):
        from django.apps import apps

        if not apps.is_installed("wagtail.contrib.forms"):
            return super().target_models
        from wagtail.contrib.forms.models import FormMixin

        form_models = [m for m in apps.get_models() if issubclass(m, FormMixin)]
        return form_models or super().target_models


class FormSubmittedTrigger(blocks.StructBlock):
    form_page = FormPageChooserBlock(required=False, help_text="Leave empty for any form.")

    class Meta:
        label = "Form submitted"
        icon = "form"


class OrderPlacedTrigger(blocks.StructBlock):
    min_total = blocks.DecimalBlock(required=False, min_value=0, label="Order total at least")
    sku = blocks.CharBlock(required=False, label="Contains product (SKU)")
    first_order_only = blocks.BooleanBlock(required=False, label="Only their first order")

    class Meta:
        label = "Order placed"
        icon = "tag"


class CartAbandonedTrigger(blocks.StructBlock):
    after_hours = blocks.IntegerBlock(default=4, min_value=1, label="No order for (hours)")

    class Meta:
        label = "Cart abandoned"
        icon = "warning"


class ListJoinedTrigger(blocks.StructBlock):
    list = list_block(required=False, help_text="Leave empty for any list.")

    class Meta:
        label = "Joined a list"
        icon = "group"


class TagAddedTrigger(blocks.StructBlock):
    tag = blocks.CharBlock(required=False, help_text="Leave empty for any tag.")

    class Meta:
        label = "Tag added"
        icon = "tag"


class StageChangedTrigger(blocks.StructBlock):
    stage = stage_block(required=False, help_text="Leave empty for any stage.")

    class Meta:
        label = "Lifecycle stage changed"
        icon = "pick"


class ScoreReachedTrigger(blocks.StructBlock):
    threshold = blocks.IntegerBlock(default=50)

    class Meta:
        label = "Score reached"
        icon = "pick"


class GradeBecomesTrigger(blocks.StructBlock):
    grade = blocks.ChoiceBlock(
        choices=Grade.choices,
        default=Grade.A,
        help_text="When a contact's score lifts them to this grade (Settings › Lead scoring).",
    )

    class Meta:
        label = "Grade becomes"
        icon = "pick"


class InactiveTrigger(blocks.StructBlock):
    days = blocks.IntegerBlock(default=30, min_value=1)
    activity = blocks.ChoiceBlock(
        choices=[
            ("any", "any activity"),
            ("visit", "site visit"),
            ("form", "form"),
            ("email", "email open or click"),
        ],
        default="any",
    )

    class Meta:
        label = "Inactive"
        icon = "time"


class EngagementTrigger(blocks.StructBlock):
    min_visits = blocks.IntegerBlock(required=False, min_value=1, label="Site visits at least")
    within_days = blocks.IntegerBlock(default=7, min_value=1, label="Within (days)")
    min_open_rate = blocks.IntegerBlock(
        required=False, min_value=1, max_value=100, label="Or open rate at least (%)"
    )
    min_click_rate = blocks.IntegerBlock(
        required=False, min_value=1, max_value=100, label="Or click rate at least (%)"
    )
    last_emails = blocks.IntegerBlock(default=10, min_value=1, label="Over the last (emails)")

    class Meta:
        label = "Highly engaged"
        icon = "pick"


class DateReachedTrigger(blocks.StructBlock):
    date_source = blocks.ChoiceBlock(
        choices=[("property", "a date property of the contact"), ("last_order", "last order")],
        default="property",
    )
    property_name = blocks.CharBlock(required=False, help_text="e.g. renewal_date")
    offset_days = blocks.IntegerBlock(default=0, min_value=0)
    direction = blocks.ChoiceBlock(
        choices=[("before", "before"), ("after", "after")], default="before"
    )
    every_year = blocks.BooleanBlock(
        required=False,
        label="Every year",
        help_text="Birthdays, anniversaries: the day and month come round each year, in the "
        "contact's time zone (29 February on the 28th in other years).",
    )

    class Meta:
        label = "Date reached"
        icon = "date"


class EmailEngagedTrigger(blocks.StructBlock):
    engagement = blocks.ChoiceBlock(
        choices=[("opened", "opened"), ("clicked", "clicked")], default="clicked"
    )
    email = email_page_block(required=False, help_text="Leave empty for any email.")

    class Meta:
        label = "Email opened or clicked"
        icon = "mail"


class CustomEventTrigger(blocks.StructBlock):
    name = blocks.CharBlock(max_length=100, required=False, help_text="As sent by track().")

    class Meta:
        label = "Custom event"
        icon = "code"


class ManualTriggerBlock(blocks.StaticBlock):
    class Meta:
        label = "Manual enrollment"
        admin_text = "Contacts are enrolled by hand, from a list, a segment or the admin."
        icon = "user"


class TriggersBlock(blocks.StreamBlock):
    page_viewed = PageViewedTrigger()
    document_downloaded = DocumentDownloadedTrigger()
    form_submitted = FormSubmittedTrigger()
    order_placed = OrderPlacedTrigger()
    cart_abandoned = CartAbandonedTrigger()
    list_joined = ListJoinedTrigger()
    tag_added = TagAddedTrigger()
    stage_changed = StageChangedTrigger()
    score_reached = ScoreReachedTrigger()
    grade_becomes = GradeBecomesTrigger()
    inactive = InactiveTrigger()
    engagement = EngagementTrigger()
    date_reached = DateReachedTrigger()
    email_engaged = EmailEngagedTrigger()
    custom_event = CustomEventTrigger()
    manual = ManualTriggerBlock()


# --- conditions --------------------------------------------------------------------------

PROPERTY_OPERATORS = [
    ("equals", "is"),
    ("not_equals", "is not"),
    ("contains", "contains"),
    ("gt", "is greater than"),
    ("gte", "is at least"),
    ("lt", "is less than"),
    ("lte", "is at most"),
    ("is_set", "is set"),
    ("is_not_set", "is not set"),
]
# For dates (a date property, Contact properties): "before"/"after" read as less/greater than.
DATE_OPERATORS = [
    ("before", "is before (date)"),
    ("after", "is after (date)"),
    ("in_last_days", "is in the last N days (date)"),
    ("in_next_days", "is in the next N days (date)"),
]


class InListCondition(blocks.StructBlock):
    list = list_block(required=False)

    class Meta:
        label = "In list"
        icon = "group"


class HasTagCondition(blocks.StructBlock):
    tag = blocks.CharBlock(required=False)

    class Meta:
        label = "Has tag"
        icon = "tag"


class StageIsCondition(blocks.StructBlock):
    stage = stage_block(required=False)

    class Meta:
        label = "Lifecycle stage is"
        icon = "pick"


class ScoreAtLeastCondition(blocks.StructBlock):
    score = blocks.IntegerBlock(default=0)

    class Meta:
        label = "Score at least"
        icon = "pick"


class GradeIsCondition(blocks.StructBlock):
    grades = blocks.MultipleChoiceBlock(
        choices=Grade.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="One or several; none ticked: any grade.",
    )

    class Meta:
        label = "Grade is"
        icon = "pick"


class PropertyCondition(blocks.StructBlock):
    name = blocks.CharBlock(
        max_length=100,
        required=False,
        help_text="A contact property, or one of: email, first_name, last_name, source, "
        "timezone, score, orders_count.",
    )
    operator = blocks.ChoiceBlock(choices=[*PROPERTY_OPERATORS, *DATE_OPERATORS], default="equals")
    value = blocks.CharBlock(
        required=False,
        help_text="Dates as YYYY-MM-DD; for “in the last/next N days”, the number of days.",
    )

    class Meta:
        label = "Property"
        icon = "list-ul"


class FormAnswerCondition(blocks.StructBlock):
    field = blocks.CharBlock(
        max_length=100,
        label="Form field",
        help_text="The field's name as the form sends it, e.g. nps_score or topic.",
    )
    operator = blocks.ChoiceBlock(choices=PROPERTY_OPERATORS, default="equals")
    value = blocks.CharBlock(required=False)

    class Meta:
        label = "Form answer"
        icon = "form"
        help_text = (
            "An answer of the form submission that started the run. Outside such a run "
            "(segments, manual enrollment) any of the contact's form submissions counts."
        )


class DidEventCondition(blocks.StructBlock):
    kind = blocks.ChoiceBlock(choices=EventKind.choices, default=EventKind.PAGE_VIEWED)
    name = blocks.CharBlock(required=False, help_text="Custom events: the event name.")
    min_count = blocks.IntegerBlock(default=1, min_value=1, label="At least (times)")
    within_days = blocks.IntegerBlock(required=False, min_value=1, label="Within (days)")
    page = blocks.PageChooserBlock(required=False, help_text="Page viewed or form submitted.")
    include_descendants = blocks.BooleanBlock(required=False, label="Include pages below it")
    sku = blocks.CharBlock(required=False, label="Product (SKU)", help_text="Orders and carts.")

    class Meta:
        label = "Did something"
        icon = "history"


class EmailActivityCondition(blocks.StructBlock):
    email = email_page_block(required=False, help_text="Leave empty for any email.")
    within_days = blocks.IntegerBlock(required=False, min_value=1, label="Within (days)")


class OpenedEmailCondition(EmailActivityCondition):
    class Meta:
        label = "Opened an email"
        icon = "mail"


class ClickedEmailCondition(EmailActivityCondition):
    class Meta:
        label = "Clicked in an email"
        icon = "link"


class HasOrderedCondition(blocks.StructBlock):
    within_days = blocks.IntegerBlock(required=False, min_value=1, label="Within (days)")
    min_total = blocks.DecimalBlock(required=False, min_value=0, label="Order total at least")
    sku = blocks.CharBlock(required=False, label="Contains product (SKU)")

    class Meta:
        label = "Has ordered"
        icon = "tag"


class IsSubscribedConditionBlock(blocks.StaticBlock):
    class Meta:
        label = "Is subscribed"
        admin_text = "The contact has opted in to marketing email."
        icon = "mail"


class ConditionsBlock(blocks.StreamBlock):
    in_list = InListCondition()
    has_tag = HasTagCondition()
    stage_is = StageIsCondition()
    score_at_least = ScoreAtLeastCondition()
    grade_is = GradeIsCondition()
    property = PropertyCondition()
    form_answer = FormAnswerCondition()
    did_event = DidEventCondition()
    opened_email = OpenedEmailCondition()
    clicked_email = ClickedEmailCondition()
    has_ordered = HasOrderedCondition()
    is_subscribed = IsSubscribedConditionBlock()

    class Meta:
        required = False


# --- steps -------------------------------------------------------------------------------


class SendEmailStep(blocks.StructBlock):
    page = email_page_block(required=False, label="Email")
    subject_override = blocks.CharBlock(
        required=False, max_length=255, help_text="Leave empty to use the email's subject."
    )

    class Meta:
        label = "Send email"
        icon = "mail"


class WaitStep(blocks.StructBlock):
    amount = blocks.IntegerBlock(default=1)
    unit = blocks.ChoiceBlock(choices=UNIT_CHOICES, default="days")

    class Meta:
        label = "Wait"
        icon = "time"


class WaitUntilStep(blocks.StructBlock):
    time = blocks.TimeBlock(required=False, label="Time of day")
    weekdays = blocks.MultipleChoiceBlock(
        choices=WEEKDAY_CHOICES, required=False, widget=forms.CheckboxSelectMultiple
    )
    timezone = blocks.ChoiceBlock(
        choices=[("contact", "the contact's time zone"), ("site", "the site's time zone")],
        default="contact",
    )
    date_source = blocks.ChoiceBlock(
        choices=[
            ("", "no date"),
            ("property", "a date property of the contact"),
            ("context", "a date from the triggering event"),
        ],
        default="",
        required=False,
    )
    date_key = blocks.CharBlock(required=False, help_text="Property or event field name.")
    offset_days = blocks.IntegerBlock(default=0, help_text="Negative: days before the date.")

    class Meta:
        label = "Wait until"
        icon = "date"


class ListStep(blocks.StructBlock):
    list = list_block(required=False)


class AddToListStep(ListStep):
    class Meta:
        label = "Add to list"
        icon = "plus"


class RemoveFromListStep(ListStep):
    class Meta:
        label = "Remove from list"
        icon = "minus"


class TagStep(blocks.StructBlock):
    tag = blocks.CharBlock(required=False, max_length=100)


class AddTagStep(TagStep):
    class Meta:
        label = "Add tag"
        icon = "tag"


class RemoveTagStep(TagStep):
    class Meta:
        label = "Remove tag"
        icon = "tag"


class SetStageStep(blocks.StructBlock):
    stage = stage_block(required=False)

    class Meta:
        label = "Set lifecycle stage"
        icon = "pick"


class ChangeScoreStep(blocks.StructBlock):
    delta = blocks.IntegerBlock(default=10, help_text="Negative numbers lower the score.")

    class Meta:
        label = "Change score"
        icon = "pick"


class NotifyStep(blocks.StructBlock):
    recipients = blocks.CharBlock(
        help_text="Staff email addresses, separated by commas.", required=False
    )
    subject = blocks.CharBlock(required=False, max_length=255)
    message = blocks.TextBlock(required=False)

    class Meta:
        label = "Notify the team"
        icon = "mail"


class WebhookStep(blocks.StructBlock):
    url = blocks.URLBlock(required=False, label="URL", help_text="Must start with https://")
    secret = blocks.CharBlock(
        required=False, help_text="Signs the payload: X-Flows-Signature: sha256=<HMAC>."
    )

    class Meta:
        label = "Webhook"
        icon = "link-external"


class ExitStep(blocks.StructBlock):
    reason = blocks.CharBlock(required=False, max_length=255)

    class Meta:
        label = "Exit"
        icon = "cross"


@functools.cache
def _leaf_steps():
    return [
        ("send_email", SendEmailStep()),
        ("wait", WaitStep()),
        ("wait_until", WaitUntilStep()),
        ("add_to_list", AddToListStep()),
        ("remove_from_list", RemoveFromListStep()),
        ("add_tag", AddTagStep()),
        ("remove_tag", RemoveTagStep()),
        ("set_stage", SetStageStep()),
        ("change_score", ChangeScoreStep()),
        ("notify", NotifyStep()),
        ("webhook", WebhookStep()),
        ("exit", ExitStep()),
    ]


def _nested_steps(depth, label):
    return blocks.StreamBlock(step_blocks(depth), required=False, label=label)


@functools.cache
def _branch_block(depth):
    return blocks.StructBlock(
        [
            ("conditions", ConditionsBlock()),
            ("match", blocks.ChoiceBlock(choices=MATCH_CHOICES, default="all")),
            ("wait_up_to_amount", blocks.IntegerBlock(required=False, label="Wait up to")),
            ("wait_up_to_unit", blocks.ChoiceBlock(choices=UNIT_CHOICES, default="days")),
            ("yes", _nested_steps(depth, "Yes")),
            ("no", _nested_steps(depth, "No")),
        ],
        label="Branch",
        icon="help",
    )


@functools.cache
def _split_block(depth):
    variant = blocks.StructBlock(
        [
            ("label", blocks.CharBlock(required=False, max_length=100)),
            ("weight", blocks.IntegerBlock(default=50, min_value=0)),
            ("steps", _nested_steps(depth, "Steps")),
        ],
        label="Variant",
    )
    return blocks.StructBlock(
        [("variants", blocks.ListBlock(variant, min_num=0))], label="A/B split", icon="order"
    )


def step_blocks(depth=MAX_NESTING):
    """The step vocabulary; branch and split offer nested streams ``depth`` levels deep.

    Block instances are built once and shared by every stream that offers them (as Wagtail
    shares declared child blocks), so the editor's block definitions stay small."""
    children = list(_leaf_steps())
    if depth > 0:
        children[3:3] = [("branch", _branch_block(depth - 1)), ("split", _split_block(depth - 1))]
    return children


class StepsBlock(blocks.StreamBlock):
    def __init__(self, local_blocks=None, **kwargs):
        super().__init__(local_blocks or step_blocks(), **kwargs)

    class Meta:
        required = False


STEP_TYPES = frozenset({name for name, _ in _leaf_steps()} | {"branch", "split"})
TRIGGER_TYPES = frozenset(TriggersBlock.base_blocks)
CONDITION_TYPES = frozenset(ConditionsBlock.base_blocks)
