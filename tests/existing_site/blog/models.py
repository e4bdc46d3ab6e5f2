from django.db import models
from wagtail.admin.panels import FieldPanel
from wagtail.api import APIField
from wagtail.fields import RichTextField
from wagtail.models import Page


class BlogIndexPage(Page):
    subpage_types = ["blog.BlogPage"]


class BlogPage(Page):
    date = models.DateField("Post date", null=True, blank=True)
    body = RichTextField(blank=True)

    parent_page_types = ["blog.BlogIndexPage"]
    content_panels = [*Page.content_panels, FieldPanel("date"), FieldPanel("body")]
    api_fields = [APIField("date"), APIField("body")]
