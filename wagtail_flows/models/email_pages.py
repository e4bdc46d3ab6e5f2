"""Emails written as Wagtail pages, in an email library outside the public site."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from wagtail.fields import RichTextField, StreamField

from wagtail_flows.email_blocks import EmailBodyBlock
from wagtail_flows.models.base import base_page_class

BasePage = base_page_class()


class EmailPageMixin(models.Model):
    """The behaviour of an email page; mix into a page model of the site's own if needed."""

    subject = models.CharField(
        _("subject"),
        max_length=255,
        help_text=_("Merge tags allowed, e.g. {{ contact.first_name }}."),
    )
    preheader = models.CharField(
        _("preheader"),
        max_length=255,
        blank=True,
        help_text=_("The preview line mail clients show after the subject."),
    )
    from_name = models.CharField(_("from name"), max_length=255, blank=True)
    from_email = models.EmailField(_("from address"), blank=True)
    reply_to = models.EmailField(_("reply-to address"), blank=True)
    body = StreamField(EmailBodyBlock(), blank=True, verbose_name=_("body"))

    class Meta:
        abstract = True


class EmailLibraryPage(BasePage):
    """The section of the page tree that holds email pages."""

    intro = RichTextField(blank=True)

    subpage_types = ["wagtail_flows.EmailPage"]
    max_count = None

    class Meta:
        verbose_name = _("email library")


class EmailPage(EmailPageMixin, BasePage):
    parent_page_types = ["wagtail_flows.EmailLibraryPage"]
    subpage_types = []

    class Meta:
        verbose_name = _("email")
