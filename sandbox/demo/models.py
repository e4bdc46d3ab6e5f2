"""Page types of the Green Spoon demo site: a blog in two topics, forms, and a small shop."""

from django.conf import settings
from django.db import models
from modelcluster.fields import ParentalKey
from wagtail import blocks
from wagtail.admin.panels import FieldPanel, FieldRowPanel, InlinePanel
from wagtail.contrib.forms.models import AbstractEmailForm, AbstractFormField
from wagtail.contrib.forms.panels import FormSubmissionsPanel
from wagtail.fields import RichTextField, StreamField
from wagtail.models import Page


class HomePage(Page):
    intro = models.TextField(blank=True)
    ebook = models.ForeignKey(
        "wagtaildocs.Document",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The free e-book offered on the home page.",
    )
    ebook_blurb = models.TextField(blank=True)

    content_panels = [
        *Page.content_panels,
        FieldPanel("intro"),
        FieldPanel("ebook"),
        FieldPanel("ebook_blurb"),
    ]
    parent_page_types = ["wagtailcore.Page"]
    max_count = 1

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        children = self.get_children().live()
        context["topics"] = [p.specific for p in children.type(BlogIndexPage)]
        context["products"] = ProductPage.objects.live().descendant_of(self)[:3]
        context["signup"] = FormPage.objects.live().descendant_of(self).first()
        context["offer"] = LandingPage.objects.live().descendant_of(self).first()
        return context


class BlogIndexPage(Page):
    """A topic of the blog (Gardening, Cooking): its posts live below it."""

    intro = models.TextField(blank=True)

    content_panels = [*Page.content_panels, FieldPanel("intro")]
    subpage_types = ["demo.BlogPage"]

    def posts(self):
        return BlogPage.objects.live().child_of(self).order_by("-date")

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context["posts"] = self.posts()
        return context


class BlogPage(Page):
    date = models.DateField("post date")
    intro = models.CharField(max_length=255, blank=True)
    body = StreamField(
        [
            ("heading", blocks.CharBlock(form_classname="title")),
            ("paragraph", blocks.RichTextBlock()),
            ("tip", blocks.CharBlock(help_text="A short tip, shown in a box.")),
        ],
        blank=True,
    )

    content_panels = [
        *Page.content_panels,
        FieldPanel("date"),
        FieldPanel("intro"),
        FieldPanel("body"),
    ]
    parent_page_types = ["demo.BlogIndexPage"]
    subpage_types = []

    @property
    def topic(self):
        return self.get_parent().specific


class FormField(AbstractFormField):
    page = ParentalKey("FormPage", on_delete=models.CASCADE, related_name="form_fields")


class FormPage(AbstractEmailForm):
    """A Wagtail form-builder page; the demo's newsletter sign-up is one."""

    intro = RichTextField(blank=True)
    thank_you_text = RichTextField(blank=True)

    content_panels = [
        *AbstractEmailForm.content_panels,
        FormSubmissionsPanel(),
        FieldPanel("intro"),
        InlinePanel("form_fields", label="Form fields"),
        FieldPanel("thank_you_text"),
        FieldRowPanel([FieldPanel("from_address"), FieldPanel("to_address")]),
        FieldPanel("subject"),
    ]


class LandingFormField(AbstractFormField):
    page = ParentalKey("LandingPage", on_delete=models.CASCADE, related_name="form_fields")


class LandingPage(AbstractEmailForm):
    """A campaign landing page whose form gives away a discount code."""

    headline = models.CharField(max_length=255)
    intro = RichTextField(blank=True)
    discount_code = models.CharField(
        max_length=32, help_text="Shown after sign-up; checkout takes it for the discount."
    )
    discount_percent = models.PositiveSmallIntegerField(default=10)
    thank_you_text = RichTextField(blank=True)

    content_panels = [
        *AbstractEmailForm.content_panels,
        FormSubmissionsPanel(),
        FieldPanel("headline"),
        FieldPanel("intro"),
        FieldRowPanel([FieldPanel("discount_code"), FieldPanel("discount_percent")]),
        InlinePanel("form_fields", label="Form fields"),
        FieldPanel("thank_you_text"),
    ]


class ShopIndexPage(Page):
    intro = models.TextField(blank=True)

    content_panels = [*Page.content_panels, FieldPanel("intro")]
    subpage_types = ["demo.ProductPage"]

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context["products"] = ProductPage.objects.live().child_of(self)
        return context


class ProductPage(Page):
    sku = models.CharField("SKU", max_length=32, unique=True)
    price = models.DecimalField(max_digits=8, decimal_places=2)
    summary = models.CharField(max_length=255, blank=True)
    description = RichTextField(blank=True)
    colour = models.CharField(
        max_length=7, default="#5b8c5a", help_text="Colour of the product tile, e.g. #5b8c5a."
    )

    content_panels = [
        *Page.content_panels,
        FieldRowPanel([FieldPanel("sku"), FieldPanel("price")]),
        FieldPanel("summary"),
        FieldPanel("description"),
        FieldPanel("colour"),
    ]
    parent_page_types = ["demo.ShopIndexPage"]
    subpage_types = []

    @property
    def currency(self):
        return settings.SANDBOX_CURRENCY


class Order(models.Model):
    """An order placed through the demo checkout (no payment: it is a demo)."""

    email = models.EmailField()
    items = models.JSONField(default=list)
    subtotal = models.DecimalField(max_digits=10, decimal_places=2)
    discount_code = models.CharField(max_length=32, blank=True)
    total = models.DecimalField(max_digits=10, decimal_places=2)
    currency = models.CharField(max_length=3, default="EUR")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"Order {self.number} ({self.email})"

    @property
    def number(self):
        return f"GS-{self.pk:05d}"
