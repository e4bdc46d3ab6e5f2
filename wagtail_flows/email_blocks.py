"""StreamField blocks for email bodies."""

from wagtail import blocks


class EmailBodyBlock(blocks.StreamBlock):
    heading = blocks.CharBlock()
    text = blocks.RichTextBlock()
