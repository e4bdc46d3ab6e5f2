"""StreamField blocks for email bodies.

Each block renders table-based HTML that mail clients understand (templates in
``templates/wagtail_flows/email/blocks/``). Relative links and image URLs become absolute
when the email is rendered (``emails.render_page_html``).
"""

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.translation import gettext_lazy as _
from wagtail import blocks
from wagtail.images.blocks import ImageChooserBlock

TEMPLATE_DIR = "wagtail_flows/email/blocks/"
ALIGN_CHOICES = [("left", _("Left")), ("center", _("Centre")), ("right", _("Right"))]


class HeadingBlock(blocks.CharBlock):
    class Meta:
        label = _("Heading")
        icon = "title"
        template = TEMPLATE_DIR + "heading.html"
        help_text = _("Merge tags allowed, e.g. {{ contact.first_name }}.")


class TextBlock(blocks.RichTextBlock):
    def __init__(self, **kwargs):
        kwargs.setdefault("features", ["bold", "italic", "link", "ol", "ul", "h3"])
        super().__init__(**kwargs)

    class Meta:
        label = _("Text")
        icon = "pilcrow"
        template = TEMPLATE_DIR + "text.html"


class ImageBlock(blocks.StructBlock):
    image = ImageChooserBlock(label=_("Image"))
    alt = blocks.CharBlock(
        label=_("alt text"), help_text=_("Shown when images are off; read by screen readers.")
    )
    width = blocks.IntegerBlock(
        label=_("Width"),
        default=600,
        validators=[MinValueValidator(40), MaxValueValidator(600)],
        help_text=_("Display width in pixels (at most 600)."),
    )
    link = blocks.URLBlock(label=_("Link"), required=False)

    def get_context(self, value, parent_context=None):
        context = super().get_context(value, parent_context)
        image = value.get("image")
        if image:
            # Twice the display width, for sharp images on high-density screens.
            context["rendition"] = image.get_rendition(f"width-{value['width'] * 2}")
        return context

    class Meta:
        label = _("Image")
        icon = "image"
        template = TEMPLATE_DIR + "image.html"


class ButtonBlock(blocks.StructBlock):
    text = blocks.CharBlock(label=_("button text"))
    url = blocks.URLBlock(required=False, label=_("link"))
    page = blocks.PageChooserBlock(required=False, label=_("or a page of the site"))
    align = blocks.ChoiceBlock(label=_("Align"), choices=ALIGN_CHOICES, default="center")

    def clean(self, value):
        value = super().clean(value)
        if not value.get("url") and not value.get("page"):
            raise blocks.StructBlockValidationError(
                {"url": ValidationError(_("Give a link or choose a page."))}
            )
        return value

    class Meta:
        label = _("Button")
        icon = "link"
        template = TEMPLATE_DIR + "button.html"


class DividerBlock(blocks.StaticBlock):
    class Meta:
        label = _("Divider")
        icon = "minus"
        template = TEMPLATE_DIR + "divider.html"
        admin_text = _("A horizontal line.")


class SpacerBlock(blocks.StructBlock):
    height = blocks.IntegerBlock(
        label=_("Height"), default=24, validators=[MinValueValidator(4), MaxValueValidator(200)]
    )

    class Meta:
        label = _("Spacer")
        icon = "order"
        template = TEMPLATE_DIR + "spacer.html"


class ColumnBlock(blocks.StreamBlock):
    heading = HeadingBlock()
    text = TextBlock()
    image = ImageBlock()
    button = ButtonBlock()


class TwoColumnsBlock(blocks.StructBlock):
    left = ColumnBlock(label=_("Left"))
    right = ColumnBlock(label=_("Right"))

    class Meta:
        label = _("Two columns")
        icon = "doc-full"
        template = TEMPLATE_DIR + "two_columns.html"
        help_text = _("Side by side on wide screens, stacked on phones.")


class QuoteBlock(blocks.StructBlock):
    quote = blocks.TextBlock(label=_("Quote"))
    author = blocks.CharBlock(label=_("Author"), required=False)
    role = blocks.CharBlock(
        label=_("Role"), required=False, help_text=_("e.g. Customer since 2021")
    )

    class Meta:
        label = _("Quote")
        icon = "openquote"
        template = TEMPLATE_DIR + "quote.html"


class CouponBlock(blocks.StructBlock):
    code = blocks.CharBlock(label=_("Code"), max_length=64)
    description = blocks.CharBlock(
        label=_("Description"), required=False, help_text=_("e.g. 10% off your next order")
    )
    expires = blocks.DateBlock(label=_("Expires"), required=False)

    class Meta:
        label = _("Coupon")
        icon = "tag"
        template = TEMPLATE_DIR + "coupon.html"


class ProductCardsBlock(blocks.StructBlock):
    """Products from the order or cart that started the flow, filled in per contact."""

    source = blocks.ChoiceBlock(
        label=_("Source"),
        choices=[("cart", _("Cart items")), ("order", _("Order items"))],
        default="cart",
    )
    heading = blocks.CharBlock(label=_("Heading"), required=False)
    max_items = blocks.IntegerBlock(
        label=_("Max items"), default=3, validators=[MinValueValidator(1), MaxValueValidator(12)]
    )
    button_text = blocks.CharBlock(label=_("Button text"), required=False, default=_("View"))

    class Meta:
        label = _("Product cards")
        icon = "list-ul"
        template = TEMPLATE_DIR + "product_cards.html"
        help_text = _(
            "Items (name, price, image_url, url, quantity) of the order or cart in the "
            "flow's context; nothing is shown when there are none."
        )


class EmailBodyBlock(blocks.StreamBlock):
    heading = HeadingBlock()
    text = TextBlock()
    image = ImageBlock()
    button = ButtonBlock()
    divider = DividerBlock()
    spacer = SpacerBlock()
    two_columns = TwoColumnsBlock()
    quote = QuoteBlock()
    coupon = CouponBlock()
    product_cards = ProductCardsBlock()
