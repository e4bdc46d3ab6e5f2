"""Condition blocks: one predicate on a contact, and the groups (all/any, none of) that nest
them (entry and exit conditions, goals, branches, segments)."""

import functools

from django import forms
from django.utils.translation import gettext_lazy as _
from wagtail import blocks

from wagtail_flows.flows.blocks.common import (
    MATCH_CHOICES,
    MAX_CONDITION_NESTING,
    email_page_block,
    list_block,
    stage_block,
)
from wagtail_flows.flows.blocks.page_types import page_type_block
from wagtail_flows.vocabulary import EventKind, Grade

PROPERTY_OPERATORS = [
    ("equals", _("is")),
    ("not_equals", _("is not")),
    ("contains", _("contains")),
    ("gt", _("is greater than")),
    ("gte", _("is at least")),
    ("lt", _("is less than")),
    ("lte", _("is at most")),
    ("is_set", _("is set")),
    ("is_not_set", _("is not set")),
]
# For dates (a date property, Contact properties): "before"/"after" read as less/greater than.
DATE_OPERATORS = [
    ("before", _("is before (date)")),
    ("after", _("is after (date)")),
    ("in_last_days", _("is in the last N days (date)")),
    ("in_next_days", _("is in the next N days (date)")),
]


class InListCondition(blocks.StructBlock):
    list = list_block(label=_("List"), required=False)

    class Meta:
        label = _("In list")
        icon = "group"


class HasTagCondition(blocks.StructBlock):
    tag = blocks.CharBlock(label=_("Tag"), required=False)

    class Meta:
        label = _("Has tag")
        icon = "tag"


class StageIsCondition(blocks.StructBlock):
    stage = stage_block(label=_("Stage"), required=False)

    class Meta:
        label = _("Lifecycle stage is")
        icon = "pick"


class ScoreAtLeastCondition(blocks.StructBlock):
    score = blocks.IntegerBlock(label=_("Score"), default=0)

    class Meta:
        label = _("Score at least")
        icon = "pick"


class GradeIsCondition(blocks.StructBlock):
    grades = blocks.MultipleChoiceBlock(
        label=_("Grades"),
        choices=Grade.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("One or several; none ticked: any grade."),
    )

    class Meta:
        label = _("Grade is")
        icon = "pick"


class PropertyCondition(blocks.StructBlock):
    name = blocks.CharBlock(
        label=_("Name"),
        max_length=100,
        required=False,
        help_text=_(
            "A contact property, or one of: email, first_name, last_name, source, "
            "timezone, score, orders_count."
        ),
    )
    operator = blocks.ChoiceBlock(
        label=_("Operator"), choices=[*PROPERTY_OPERATORS, *DATE_OPERATORS], default="equals"
    )
    value = blocks.CharBlock(
        label=_("Value"),
        required=False,
        help_text=_("Dates as YYYY-MM-DD; for “in the last/next N days”, the number of days."),
    )

    class Meta:
        label = _("Property")
        icon = "list-ul"


class FormAnswerCondition(blocks.StructBlock):
    field = blocks.CharBlock(
        max_length=100,
        label=_("Form field"),
        help_text=_("The field's name as the form sends it, e.g. nps_score or topic."),
    )
    operator = blocks.ChoiceBlock(
        label=_("Operator"), choices=PROPERTY_OPERATORS, default="equals"
    )
    value = blocks.CharBlock(label=_("Value"), required=False)

    class Meta:
        label = _("Form answer")
        icon = "form"
        help_text = _(
            "An answer of the form submission that started the run. Outside such a run "
            "(segments, manual enrollment) any of the contact's form submissions counts."
        )


class DidEventCondition(blocks.StructBlock):
    kind = blocks.ChoiceBlock(
        label=_("Kind"), choices=EventKind.choices, default=EventKind.PAGE_VIEWED
    )
    name = blocks.CharBlock(
        label=_("Name"), required=False, help_text=_("Custom events: the event name.")
    )
    min_count = blocks.IntegerBlock(default=1, min_value=1, label=_("At least (times)"))
    count_visits = blocks.BooleanBlock(
        required=False,
        label=_("Count visits, not page views"),
        help_text=_(
            "Page views: the pages someone views within 30 minutes of arriving count once."
        ),
    )
    within_days = blocks.IntegerBlock(required=False, min_value=1, label=_("Within (days)"))
    page = blocks.PageChooserBlock(
        label=_("Page"), required=False, help_text=_("Page viewed or form submitted.")
    )
    include_descendants = blocks.BooleanBlock(required=False, label=_("Include pages below it"))
    page_type = page_type_block()
    sku = blocks.CharBlock(
        required=False, label=_("Product (SKU)"), help_text=_("Orders and carts.")
    )

    class Meta:
        label = _("Did something")
        icon = "history"


class EmailActivityCondition(blocks.StructBlock):
    email = email_page_block(
        label=_("Email"), required=False, help_text=_("Leave empty for any email.")
    )
    within_days = blocks.IntegerBlock(required=False, min_value=1, label=_("Within (days)"))


class OpenedEmailCondition(EmailActivityCondition):
    class Meta:
        label = _("Opened an email")
        icon = "mail"


class ClickedEmailCondition(EmailActivityCondition):
    class Meta:
        label = _("Clicked in an email")
        icon = "link"


class HasOrderedCondition(blocks.StructBlock):
    within_days = blocks.IntegerBlock(required=False, min_value=1, label=_("Within (days)"))
    min_total = blocks.DecimalBlock(required=False, min_value=0, label=_("Order total at least"))
    sku = blocks.CharBlock(required=False, label=_("Contains product (SKU)"))

    class Meta:
        label = _("Has ordered")
        icon = "tag"


class IsSubscribedConditionBlock(blocks.StaticBlock):
    class Meta:
        label = _("Is subscribed")
        admin_text = _("The contact has opted in to marketing email.")
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

    def __init__(self, local_blocks=None, depth=MAX_CONDITION_NESTING, **kwargs):
        # Groups nest ``depth`` levels deep; the innermost streams offer no group (see top).
        if local_blocks is None:
            local_blocks = group_condition_blocks(depth)
        super().__init__(local_blocks, **kwargs)

    class Meta:
        required = False


def group_condition_blocks(depth):
    """``group`` (all/any of a nested stream) and ``none_of`` (NOT: none of a nested stream),
    offered while ``depth`` > 0; their nested streams offer them ``depth - 1`` levels more."""
    if depth <= 0:
        return []
    return [("group", _group_block(depth)), ("none_of", _none_of_block(depth))]


@functools.cache
def _nested_conditions(depth):
    return ConditionsBlock(depth=depth, label=_("Conditions"))


@functools.cache
def _group_block(depth):
    return blocks.StructBlock(
        [
            ("match", blocks.ChoiceBlock(choices=MATCH_CHOICES, default="all", label=_("Match"))),
            ("conditions", _nested_conditions(depth - 1)),
        ],
        label=_("Group (all / any of)"),
        icon="list-ul",
    )


@functools.cache
def _none_of_block(depth):
    return blocks.StructBlock(
        [("conditions", _nested_conditions(depth - 1))],
        label=_("Not (none of these)"),
        icon="cross",
    )


CONDITION_TYPES = frozenset(ConditionsBlock().child_blocks)
GROUP_CONDITION_TYPES = frozenset({"group", "none_of"})

# Saved flows and migrations name these classes by the package's path.
DECONSTRUCT_ALIASES = {
    IsSubscribedConditionBlock: "wagtail_flows.flows.blocks.IsSubscribedConditionBlock"
}
