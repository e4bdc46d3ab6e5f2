"""What the trigger, condition and step blocks share: nesting limits, choices, choosers."""

from django.utils.translation import gettext_lazy as _
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

UNIT_CHOICES = [
    ("minutes", _("minutes")),
    ("hours", _("hours")),
    ("days", _("days")),
    ("weeks", _("weeks")),
]
MATCH_CHOICES = [("all", _("All conditions")), ("any", _("Any condition"))]
WEEKDAY_CHOICES = [
    (0, _("Monday")),
    (1, _("Tuesday")),
    (2, _("Wednesday")),
    (3, _("Thursday")),
    (4, _("Friday")),
    (5, _("Saturday")),
    (6, _("Sunday")),
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
