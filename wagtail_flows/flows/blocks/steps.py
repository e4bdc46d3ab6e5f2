"""Step blocks: what a flow does, in order (``Flow.steps``); branch and split nest streams.

Wagtail blocks cannot refer to themselves, so the nested step streams of ``branch`` and
``split`` are built by a depth-limited factory: steps nest at most ``MAX_NESTING`` levels of
branch/split deep (the innermost streams offer every step except branch and split).
"""

import functools

from django import forms
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
        [
            ("variants", blocks.ListBlock(variant, min_num=0)),
            *_auto_winner_fields(),
        ],
        label="A/B split",
        icon="order",
    )


AUTO_WINNER_CHOICES = [
    ("", "Off: keep splitting by weight"),
    ("opened", "Opened an email"),
    ("clicked", "Clicked an email"),
    ("converted", "Reached the goal"),
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
                label="Pick the winner on",
                help_text="When one variant wins clearly (95 % confidence), every new "
                "contact goes to it.",
            ),
        ),
        (
            "decide_after_contacts",
            blocks.IntegerBlock(
                required=False,
                min_value=1,
                label="Not before this many contacts per variant",
                help_text="Empty: the site's minimum (AB_MIN_CONTACTS, 30 by default).",
            ),
        ),
        (
            "decide_on",
            blocks.DateBlock(
                required=False, label="Not before", help_text="Optional earliest day to decide."
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
