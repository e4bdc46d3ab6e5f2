"""Trigger blocks: what starts a contact's run (``Flow.triggers``)."""

import functools

from django.utils.translation import gettext_lazy as _
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
    page = blocks.PageChooserBlock(
        label=_("Page"), required=False, help_text=_("Leave empty for any page.")
    )
    include_descendants = blocks.BooleanBlock(required=False, label=_("Include pages below it"))
    page_type = page_type_block()
    min_views = blocks.IntegerBlock(default=1, min_value=1, label=_("Viewed at least (times)"))
    count_visits = blocks.BooleanBlock(
        required=False,
        label=_("Count visits, not page views"),
        help_text=_("The pages someone views within 30 minutes of arriving count once."),
    )
    within_days = blocks.IntegerBlock(required=False, min_value=1, label=_("Within (days)"))

    class Meta:
        label = _("Page viewed")
        icon = "doc-full"


class DocumentDownloadedTrigger(blocks.StructBlock):
    document = DocumentChooserBlock(label=_("Document"), required=False)
    collection = CollectionChooserBlock(
        label=_("Collection"), required=False, help_text=_("Or any document in a collection.")
    )

    class Meta:
        label = _("Document downloaded")
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
    form_page = FormPageChooserBlock(
        label=_("Form page"), required=False, help_text=_("Leave empty for any form.")
    )

    class Meta:
        label = _("Form submitted")
        icon = "form"


class OrderPlacedTrigger(blocks.StructBlock):
    min_total = blocks.DecimalBlock(required=False, min_value=0, label=_("Order total at least"))
    sku = blocks.CharBlock(required=False, label=_("Contains product (SKU)"))
    first_order_only = blocks.BooleanBlock(required=False, label=_("Only their first order"))

    class Meta:
        label = _("Order placed")
        icon = "tag"


class CartAbandonedTrigger(blocks.StructBlock):
    after_hours = blocks.IntegerBlock(default=4, min_value=1, label=_("No order for (hours)"))

    class Meta:
        label = _("Cart abandoned")
        icon = "warning"


class ListJoinedTrigger(blocks.StructBlock):
    list = list_block(label=_("List"), required=False, help_text=_("Leave empty for any list."))

    class Meta:
        label = _("Joined a list")
        icon = "group"


class SegmentEnteredTrigger(blocks.StructBlock):
    segment = SegmentChooserBlock(
        label=_("Segment"),
        required=False,
        help_text=_(
            "Checked by the sweep, about every minute. Contacts already in the segment "
            "when the flow goes live do not start: enroll them from the segment if you want them."
        ),
    )

    class Meta:
        label = _("Enters a segment")
        icon = "crosshairs"


class SegmentLeftTrigger(blocks.StructBlock):
    segment = SegmentChooserBlock(
        label=_("Segment"),
        required=False,
        help_text=_("Checked by the sweep, about every minute."),
    )

    class Meta:
        label = _("Leaves a segment")
        icon = "crosshairs"


class TagAddedTrigger(blocks.StructBlock):
    tag = blocks.CharBlock(label=_("Tag"), required=False, help_text=_("Leave empty for any tag."))

    class Meta:
        label = _("Tag added")
        icon = "tag"


class StageChangedTrigger(blocks.StructBlock):
    stage = stage_block(
        label=_("Stage"), required=False, help_text=_("Leave empty for any stage.")
    )

    class Meta:
        label = _("Lifecycle stage changed")
        icon = "pick"


class ScoreReachedTrigger(blocks.StructBlock):
    threshold = blocks.IntegerBlock(label=_("Threshold"), default=50)

    class Meta:
        label = _("Score reached")
        icon = "pick"


class GradeBecomesTrigger(blocks.StructBlock):
    grade = blocks.ChoiceBlock(
        label=_("Grade"),
        choices=Grade.choices,
        default=Grade.A,
        help_text=_("When a contact's score lifts them to this grade (Settings › Lead scoring)."),
    )

    class Meta:
        label = _("Grade becomes")
        icon = "pick"


class InactiveTrigger(blocks.StructBlock):
    days = blocks.IntegerBlock(label=_("Days"), default=30, min_value=1)
    activity = blocks.ChoiceBlock(
        label=_("Activity"),
        choices=[
            ("any", _("any activity")),
            ("visit", _("site visit")),
            ("form", _("form")),
            ("email", _("email open or click")),
        ],
        default="any",
    )

    class Meta:
        label = _("Inactive")
        icon = "time"


class EngagementTrigger(blocks.StructBlock):
    min_visits = blocks.IntegerBlock(
        required=False,
        min_value=1,
        label=_("Site visits at least"),
        help_text=_("A visit: the pages someone views within 30 minutes of arriving."),
    )
    within_days = blocks.IntegerBlock(default=7, min_value=1, label=_("Within (days)"))
    min_open_rate = blocks.IntegerBlock(
        required=False, min_value=1, max_value=100, label=_("Or open rate at least (%)")
    )
    min_click_rate = blocks.IntegerBlock(
        required=False, min_value=1, max_value=100, label=_("Or click rate at least (%)")
    )
    last_emails = blocks.IntegerBlock(default=10, min_value=1, label=_("Over the last (emails)"))

    class Meta:
        label = _("Highly engaged")
        icon = "pick"


class DateReachedTrigger(blocks.StructBlock):
    date_source = blocks.ChoiceBlock(
        label=_("Date source"),
        choices=[
            ("property", _("a date property of the contact")),
            ("last_order", _("last order")),
        ],
        default="property",
    )
    property_name = blocks.CharBlock(
        label=_("Property name"), required=False, help_text=_("e.g. renewal_date")
    )
    offset_days = blocks.IntegerBlock(label=_("Offset days"), default=0, min_value=0)
    direction = blocks.ChoiceBlock(
        label=_("Direction"),
        choices=[("before", _("before")), ("after", _("after"))],
        default="before",
    )
    every_year = blocks.BooleanBlock(
        required=False,
        label=_("Every year"),
        help_text=_(
            "Birthdays, anniversaries: the day and month come round each year, in the "
            "contact's time zone (29 February on the 28th in other years)."
        ),
    )

    class Meta:
        label = _("Date reached")
        icon = "date"


class EmailEngagedTrigger(blocks.StructBlock):
    engagement = blocks.ChoiceBlock(
        label=_("Engagement"),
        choices=[("opened", _("opened")), ("clicked", _("clicked"))],
        default="clicked",
    )
    email = email_page_block(
        label=_("Email"), required=False, help_text=_("Leave empty for any email.")
    )

    class Meta:
        label = _("Email opened or clicked")
        icon = "mail"


class CustomEventTrigger(blocks.StructBlock):
    name = blocks.CharBlock(
        label=_("Name"), max_length=100, required=False, help_text=_("As sent by track().")
    )

    class Meta:
        label = _("Custom event")
        icon = "code"


class PropertyChangedTrigger(blocks.StructBlock):
    name = blocks.CharBlock(
        max_length=100,
        required=False,
        label=_("Property"),
        help_text=_(
            "A contact property by its name in code, e.g. plan or renewal_date (not a "
            "contact field such as first_name: stage and score have triggers of their own)."
        ),
    )
    from_value = blocks.CharBlock(
        required=False, label=_("From"), help_text=_("Leave empty for any earlier value.")
    )
    to_value = blocks.CharBlock(
        required=False,
        label=_("To"),
        help_text=_("Leave empty for any new value. Dates as YYYY-MM-DD, yes/no as true/false."),
    )

    class Meta:
        label = _("Property changed")
        icon = "list-ul"


class ManualTriggerBlock(blocks.StaticBlock):
    class Meta:
        label = _("Manual enrollment")
        admin_text = _("Contacts are enrolled by hand, from a list, a segment or the admin.")
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
