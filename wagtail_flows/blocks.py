"""StreamField blocks: triggers, conditions and steps (the block type names are public)."""

from wagtail import blocks


class ManualTriggerBlock(blocks.StaticBlock):
    class Meta:
        label = "Manual enrollment"
        admin_text = "Contacts are enrolled by hand, from a list, a segment or the admin."


class TriggersBlock(blocks.StreamBlock):
    manual = ManualTriggerBlock()


class IsSubscribedConditionBlock(blocks.StaticBlock):
    class Meta:
        label = "Is subscribed"


class ConditionsBlock(blocks.StreamBlock):
    is_subscribed = IsSubscribedConditionBlock()


class ExitStepBlock(blocks.StaticBlock):
    class Meta:
        label = "Exit"


class StepsBlock(blocks.StreamBlock):
    exit = ExitStepBlock()
