"""Emails written as Wagtail pages, in an email library outside the public site.

Wagtail 8 lets a project swap its base Page model, so the behaviour lives in the abstract
``EmailPageMixin`` and the concrete ``EmailPage`` is built on the site's base page class.
A site that wants its own email page type mixes ``EmailPageMixin`` into it.
"""

import re

from django.core.exceptions import ValidationError
from django.db import models
from django.http import Http404, HttpResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import (
    FieldPanel,
    MultiFieldPanel,
    ObjectList,
    TabbedInterface,
    TitleFieldPanel,
)
from wagtail.fields import RichTextField, StreamField

from wagtail_flows.emails.blocks import EmailBodyBlock
from wagtail_flows.emails.panels import EmailStatsPanel
from wagtail_flows.emails.rendering import base_url_for, render_page_html, render_sample
from wagtail_flows.models.base import base_page_class

BasePage = base_page_class()


class NotPublicMixin:
    """Email pages are never served as site pages (only through a signed message link)."""

    def serve(self, request, *args, **kwargs):
        raise Http404

    def get_sitemap_urls(self, request=None):
        return []


class EmailPageMixin(NotPublicMixin, models.Model):
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

    email_content_panels = [
        TitleFieldPanel("title", heading=_("Name in the email library")),
        FieldPanel("subject"),
        FieldPanel("preheader"),
        MultiFieldPanel(
            [FieldPanel("from_name"), FieldPanel("from_email"), FieldPanel("reply_to")],
            heading=_("Sender (optional; defaults to the site's)"),
            classname="collapsed",
        ),
        FieldPanel("body"),
    ]
    email_stats_panels = [EmailStatsPanel(heading=_("Sends, opens and clicks"))]

    preview_modes = [("email", _("Email")), ("text", _("Plain text"))]
    default_preview_mode = "email"

    class Meta:
        abstract = True

    def clean(self):
        super().clean()
        from wagtail_flows.emails import merge_tags

        # A merge tag that cannot render is refused here; an unknown variable (a typo) renders
        # empty, so the preview names it instead and the editor may still save a draft.
        errors = {}
        subject_problems = merge_tags.syntax_errors(merge_tags.unescape_tags(self.subject or ""))
        if subject_problems:
            errors["subject"] = subject_problems
        html = render_page_html(self, base_url_for(self), with_subject=False)
        if problems := merge_tags.syntax_errors(html):
            errors["body"] = problems
        if errors:
            raise ValidationError(errors)

    def revision_stats(self):
        """Sends, opens, clicks and unsubscribes per revision the messages came from."""
        from wagtail_flows.models.messages import revision_stats

        return revision_stats(self)

    def serve_preview(self, request, mode_name):
        from wagtail_flows.emails import merge_tags

        try:
            rendered = render_sample(self)
            problems = rendered.problems
        except merge_tags.MergeTagError as error:
            rendered, problems = None, [str(error)]
        if mode_name == "text" or rendered is None:
            markup = render_to_string(
                "wagtail_flows/email/preview_text.html",
                {"rendered": rendered, "problems": problems, "page": self},
            )
            return HttpResponse(markup)
        banner = render_to_string(
            "wagtail_flows/email/preview_problems.html", {"problems": problems}
        )
        markup = rendered.html
        if problems:
            markup = re.sub(r"(<body\b[^>]*>)", lambda m: m.group(1) + banner, markup, count=1)
        return HttpResponse(markup)


class EmailLibraryPage(NotPublicMixin, BasePage):
    """The section of the page tree that holds email pages."""

    intro = RichTextField(blank=True)

    content_panels = [*BasePage.content_panels, FieldPanel("intro")]
    subpage_types = ["wagtail_flows.EmailPage"]
    max_count = None

    class Meta:
        verbose_name = _("email library")


class EmailPage(EmailPageMixin, BasePage):
    parent_page_types = ["wagtail_flows.EmailLibraryPage"]
    subpage_types = []

    edit_handler = TabbedInterface(
        [
            ObjectList(EmailPageMixin.email_content_panels, heading=_("Email")),
            ObjectList(BasePage.promote_panels, heading=_("Promote")),
            ObjectList(BasePage.settings_panels, heading=_("Settings")),
            ObjectList(EmailPageMixin.email_stats_panels, heading=_("Stats")),
        ]
    )

    class Meta:
        verbose_name = _("email")
