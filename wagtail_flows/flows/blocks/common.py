"""What the trigger, condition and step blocks share: nesting limits, choices, choosers."""

from wagtail import blocks

from wagtail_flows.flows.choosers import (
    collection_chooser,
    contact_list_chooser,
    segment_chooser,
)
from wagtail_flows.vocabulary import Stage

MAX_NESTING = 3
# Condition groups (``group``, ``none_of``) nest this many levels deep.
MAX_CONDITION_NESTING = 3

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
SegmentChooserBlock = segment_chooser.get_block_class(
    name="SegmentChooserBlock", module_path="wagtail_flows.flows.blocks"
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
