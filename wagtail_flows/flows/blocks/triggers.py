"""Trigger blocks: what starts a contact's run (``Flow.triggers``)."""

import functools

from wagtail import blocks
from wagtail.documents.blocks import DocumentChooserBlock

from wagtail_flows.flows.blocks.common import (
    CollectionChooserBlock,
    SegmentChooserBlock,
    email_page_block,
    list_block,
    stage_block,
)
from wagtail_flows.flows.blocks.page_types import page_type_block
from wagtail_flows.vocabulary import Grade


class PageViewedTrigger(blocks.StructBlock):
    page = blocks.PageChooserBlock(required=False, help_text="Leave empty for any page.")
    include_descendants = blocks.BooleanBlock(required=False, label="Include pages below it")
    page_type = page_type_block()
    min_views = blocks.IntegerBlock(default=1, min_value=1, label="Viewed at least (times)")
    count_visits = blocks.BooleanBlock(
        required=False,
        label="Count visits, not page views",
        help_text="The pages someone views within 30 minutes of arriving count once.",
    )
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


class SegmentEnteredTrigger(blocks.StructBlock):
    segment = SegmentChooserBlock(
        required=False,
        help_text="Checked by the sweep, about every minute. Contacts already in the segment "
        "when the flow goes live do not start: enroll them from the segment if you want them.",
    )

    class Meta:
        label = "Enters a segment"
        icon = "crosshairs"


class SegmentLeftTrigger(blocks.StructBlock):
    segment = SegmentChooserBlock(
        required=False, help_text="Checked by the sweep, about every minute."
    )

    class Meta:
        label = "Leaves a segment"
        icon = "crosshairs"


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
    min_visits = blocks.IntegerBlock(
        required=False,
        min_value=1,
        label="Site visits at least",
        help_text="A visit: the pages someone views within 30 minutes of arriving.",
    )
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


class PropertyChangedTrigger(blocks.StructBlock):
    name = blocks.CharBlock(
        max_length=100,
        required=False,
        label="Property",
        help_text="A contact property by its name in code, e.g. plan or renewal_date (not a "
        "contact field such as first_name: stage and score have triggers of their own).",
    )
    from_value = blocks.CharBlock(
        required=False, label="From", help_text="Leave empty for any earlier value."
    )
    to_value = blocks.CharBlock(
        required=False,
        label="To",
        help_text="Leave empty for any new value. Dates as YYYY-MM-DD, yes/no as true/false.",
    )

    class Meta:
        label = "Property changed"
        icon = "list-ul"


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
    segment_entered = SegmentEnteredTrigger()
    segment_left = SegmentLeftTrigger()
    tag_added = TagAddedTrigger()
    stage_changed = StageChangedTrigger()
    score_reached = ScoreReachedTrigger()
    grade_becomes = GradeBecomesTrigger()
    inactive = InactiveTrigger()
    engagement = EngagementTrigger()
    date_reached = DateReachedTrigger()
    email_engaged = EmailEngagedTrigger()
    custom_event = CustomEventTrigger()
    property_changed = PropertyChangedTrigger()
    manual = ManualTriggerBlock()


TRIGGER_TYPES = frozenset(TriggersBlock.base_blocks)

# Saved flows and migrations name these classes by the package's path.
DECONSTRUCT_ALIASES = {
    FormPageChooserBlock: "wagtail_flows.flows.blocks.FormPageChooserBlock",
    ManualTriggerBlock: "wagtail_flows.flows.blocks.ManualTriggerBlock",
}
