"""Step blocks: what a flow does, in order (``Flow.steps``); branch and split nest streams.

Wagtail blocks cannot refer to themselves, so the nested step streams of ``branch`` and
``split`` are built by a depth-limited factory: steps nest at most ``MAX_NESTING`` levels of
branch/split deep (the innermost streams offer every step except branch and split).
"""

import functools

from django import forms
from django.utils.translation import gettext_lazy as _
from wagtail import blocks

from wagtail_flows.flows.blocks.common import (
    MATCH_CHOICES,
    MAX_NESTING,
    UNIT_CHOICES,
    WEEKDAY_CHOICES,
    email_page_block,
    list_block,
    stage_block,
)
from wagtail_flows.flows.blocks.conditions import ConditionsBlock


class SendEmailStep(blocks.StructBlock):
    page = email_page_block(required=False, label=_("Email"))
    subject_override = blocks.CharBlock(
        label=_("Subject override"),
        required=False,
        max_length=255,
        help_text=_("Leave empty to use the email's subject."),
    )

    class Meta:
        label = _("Send email")
        icon = "mail"


class WaitStep(blocks.StructBlock):
    amount = blocks.IntegerBlock(label=_("Amount"), default=1)
    unit = blocks.ChoiceBlock(label=_("Unit"), choices=UNIT_CHOICES, default="days")

    class Meta:
        label = _("Wait")
        icon = "time"


class WaitUntilStep(blocks.StructBlock):
    time = blocks.TimeBlock(required=False, label=_("Time of day"))
    weekdays = blocks.MultipleChoiceBlock(
        label=_("Weekdays"),
        choices=WEEKDAY_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    timezone = blocks.ChoiceBlock(
        label=_("Timezone"),
        choices=[("contact", _("the contact's time zone")), ("site", _("the site's time zone"))],
        default="contact",
    )
    date_source = blocks.ChoiceBlock(
        label=_("Date source"),
        choices=[
            ("", _("no date")),
            ("property", _("a date property of the contact")),
            ("context", _("a date from the triggering event")),
        ],
        default="",
        required=False,
    )
    date_key = blocks.CharBlock(
        label=_("Date key"), required=False, help_text=_("Property or event field name.")
    )
    offset_days = blocks.IntegerBlock(
        label=_("Offset days"), default=0, help_text=_("Negative: days before the date.")
    )

    class Meta:
        label = _("Wait until")
        icon = "date"


class ListStep(blocks.StructBlock):
    list = list_block(label=_("List"), required=False)


class AddToListStep(ListStep):
    class Meta:
        label = _("Add to list")
        icon = "plus"


class RemoveFromListStep(ListStep):
    class Meta:
        label = _("Remove from list")
        icon = "minus"


class TagStep(blocks.StructBlock):
    tag = blocks.CharBlock(label=_("Tag"), required=False, max_length=100)


class AddTagStep(TagStep):
    class Meta:
        label = _("Add tag")
        icon = "tag"


class RemoveTagStep(TagStep):
    class Meta:
        label = _("Remove tag")
        icon = "tag"


class SetStageStep(blocks.StructBlock):
    stage = stage_block(label=_("Stage"), required=False)

    class Meta:
        label = _("Set lifecycle stage")
        icon = "pick"


class ChangeScoreStep(blocks.StructBlock):
    delta = blocks.IntegerBlock(
        label=_("Delta"), default=10, help_text=_("Negative numbers lower the score.")
    )

    class Meta:
        label = _("Change score")
        icon = "pick"


class NotifyStep(blocks.StructBlock):
    recipients = blocks.CharBlock(
        label=_("Recipients"),
        help_text=_("Staff email addresses, separated by commas."),
        required=False,
    )
    subject = blocks.CharBlock(label=_("Subject"), required=False, max_length=255)
    message = blocks.TextBlock(label=_("Message"), required=False)

    class Meta:
        label = _("Notify the team")
        icon = "mail"


class WebhookStep(blocks.StructBlock):
    url = blocks.URLBlock(required=False, label=_("URL"), help_text=_("Must start with https://"))
    secret = blocks.CharBlock(
        label=_("Secret"),
        required=False,
        help_text=_("Signs the payload: X-Flows-Signature: sha256=<HMAC>."),
    )

    class Meta:
        label = _("Webhook")
        icon = "link-external"


class ExitStep(blocks.StructBlock):
    reason = blocks.CharBlock(label=_("Reason"), required=False, max_length=255)

    class Meta:
        label = _("Exit")
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
            (
                "conditions",
                ConditionsBlock(
                    label=_("Conditions"),
                ),
            ),
            ("match", blocks.ChoiceBlock(label=_("Match"), choices=MATCH_CHOICES, default="all")),
            ("wait_up_to_amount", blocks.IntegerBlock(required=False, label=_("Wait up to"))),
            (
                "wait_up_to_unit",
                blocks.ChoiceBlock(
                    label=_("Wait up to unit"), choices=UNIT_CHOICES, default="days"
                ),
            ),
            ("yes", _nested_steps(depth, _("Yes"))),
            ("no", _nested_steps(depth, _("No"))),
        ],
        label=_("Branch"),
        icon="help",
    )


@functools.cache
def _split_block(depth):
    variant = blocks.StructBlock(
        [
            ("label", blocks.CharBlock(label=_("Label"), required=False, max_length=100)),
            ("weight", blocks.IntegerBlock(label=_("Weight"), default=50, min_value=0)),
            ("steps", _nested_steps(depth, _("Steps"))),
        ],
        label=_("Variant"),
    )
    return blocks.StructBlock(
        [
            ("variants", blocks.ListBlock(variant, min_num=0, label=_("Variants"))),
            *_auto_winner_fields(),
        ],
        label=_("A/B split"),
        icon="order",
    )


AUTO_WINNER_CHOICES = [
    ("", _("Off: keep splitting by weight")),
    ("opened", _("Opened an email")),
    ("clicked", _("Clicked an email")),
    ("converted", _("Reached the goal")),
]


@functools.cache
def _auto_winner_fields():
    """Optional: pick the winner automatically (engine/ab_winner.py, docs/flows.md)."""
    return [
        (
            "auto_winner",
            blocks.ChoiceBlock(
                choices=AUTO_WINNER_CHOICES,
                required=False,
                default="",
                label=_("Pick the winner on"),
                help_text=_(
                    # xgettext:no-python-format
                    "When one variant wins clearly (95 % confidence), every new "
                    "contact goes to it."
                ),
            ),
        ),
        (
            "decide_after_contacts",
            blocks.IntegerBlock(
                required=False,
                min_value=1,
                label=_("Not before this many contacts per variant"),
                help_text=_("Empty: the site's minimum (AB_MIN_CONTACTS, 30 by default)."),
            ),
        ),
        (
            "decide_on",
            blocks.DateBlock(
                required=False,
                label=_("Not before"),
                help_text=_("Optional earliest day to decide."),
            ),
        ),
    ]


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
