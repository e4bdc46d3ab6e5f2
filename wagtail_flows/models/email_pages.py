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
from wagtail.models import PageViewRestriction
from wagtail.search import index

from wagtail_flows.emails.blocks import EmailBodyBlock
from wagtail_flows.emails.panels import EmailStatsPanel
from wagtail_flows.emails.rendering import base_url_for, render_page_html, render_sample
from wagtail_flows.models.base import base_page_class

BasePage = base_page_class()


class NotPublicMixin:
    """Email pages are never site pages; a reader sees one only through a signed message link.

    - not routed: a URL below an email library is a 404, as for a page that does not exist
      (before Wagtail's view restriction check, which would send a visitor to a login page);
    - not in the sitemap;
    - not in the search index, so no search finds them (``Page.objects.live().search()``,
      ``autocomplete()``; the admin's page search too: editors browse the email library).
      An index of the title alone for the admin would be an index for the site's search
      too: both query the same index;
    - private: each is covered by a view restriction no visitor passes (to members of no
      group: superusers only), so Wagtail's public API (``/api/v2/pages/``), ``.public()``
      querysets and anything else that honours view restrictions leave them out. Saving one
      puts the restriction back if it was removed.
    """

    search_fields = []  # not indexed: no search finds them (Wagtail's way to opt a model out)

    def route(self, request, path_components):
        raise Http404

    def serve(self, request, *args, **kwargs):
        raise Http404

    def get_sitemap_urls(self, request=None):
        return []

    def save(self, *args, **kwargs):
        result = super().save(*args, **kwargs)
        if not kwargs.get("update_fields"):  # not for a revision's or autosave's bookkeeping
            keep_private(self)
        return result


def keep_private(page):
    """Cover ``page`` by a "groups" view restriction (on itself or an ancestor), adding one
    for no group if there is none. Written without the audit log entry that Wagtail's
    privacy form writes, as a default of the page type rather than an editor's act."""
    if page.pk is None or not page.path:
        return
    steplen = page.steplen
    paths = [page.path[:end] for end in range(steplen, len(page.path) + 1, steplen)]
    restrictions = PageViewRestriction.objects.filter(
        page__path__in=paths, restriction_type=PageViewRestriction.GROUPS
    )
    if not restrictions.exists():
        PageViewRestriction.objects.bulk_create(
            [PageViewRestriction(page_id=page.pk, restriction_type=PageViewRestriction.GROUPS)]
        )


def keep_email_pages_private(using="default"):
    """``keep_private`` for every email library and email page at once (after every
    ``migrate``: pages made before this existed, or restored from a dump), and out of the
    search index those that were public until now. Returns how many restrictions it added."""
    pages = _not_public_pages(using)
    restrictions = PageViewRestriction.objects.using(using)
    groups = PageViewRestriction.GROUPS
    covered = set(
        restrictions.filter(restriction_type=groups).values_list("page__path", flat=True)
    )
    exposed = []
    for path in sorted(pages):  # a library before its emails
        if not path.startswith(tuple(covered)):
            covered.add(path)
            exposed.append(path)
    restrictions.bulk_create(
        [PageViewRestriction(page_id=pages[path], restriction_type=groups) for path in exposed]
    )
    below = tuple(exposed)
    _drop_from_search_index([pk for path, pk in pages.items() if path.startswith(below)], using)
    return len(exposed)


def _not_public_pages(using):
    """{path: id} of every page of a NotPublicMixin type (whose table exists yet)."""
    from django.apps import apps
    from django.db import connections

    tables = set(connections[using].introspection.table_names())
    pages = {}
    for model in apps.get_models():
        if issubclass(model, NotPublicMixin) and model._meta.db_table in tables:
            pages.update(model.objects.using(using).values_list("path", "pk"))
    return pages


def _drop_from_search_index(page_ids, using):
    """Pages that were public until now were in the search index, which a model with no
    search fields no longer updates: take them out (a site need not run update_index)."""
    for page in BasePage.objects.using(using).filter(pk__in=page_ids).specific():
        index.remove_object(page)


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
        TitleFieldPanel(
            "title",
            heading=_("Name in the email library"),
            help_text=_("Only editors see it; readers see the subject."),
        ),
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


def email_pages(flow):
    """The email pages a flow's send steps use, in order of first use (one query)."""
    from wagtail_flows.flows.tree import email_page_ids

    ids = email_page_ids(flow.steps)
    pages = EmailPage.objects.in_bulk(ids)
    return [pages[pk] for pk in ids if pk in pages]
