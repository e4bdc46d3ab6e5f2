"""The consent confirmation email (double opt-in), rendered for ``emails.delivery``.

Its words come from the email page chosen in Settings → Email consent (subject, preheader,
body), or from a built-in text naming the site; the Confirm button, its lifetime and the
"ignore this if it was not you" line are always added below. Like every email it is inlined
once (per revision and site) and personalised by substitution only. It carries no tracking,
no open pixel and no list headers: it is not a marketing email.
"""

from django.conf import settings
from django.core.cache import caches
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from wagtail_flows.conf import flows_settings
from wagtail_flows.emails import merge_tags, tokens
from wagtail_flows.emails.rendering import (
    RENDER_CACHE_SECONDS,
    TEMPLATE_VERSION,
    RenderedEmail,
    base_url_for,
    contact_data,
    html_to_text,
    inline_css,
    make_absolute,
    sender_for,
    sender_for_site,
)
from wagtail_flows.models.consent import confirmation_lifetime

TEMPLATE = "wagtail_flows/email/confirmation.html"


def render_confirmation(message):
    """``(RenderedEmail, revision or None)`` for a message with a consent record."""
    record = message.consent
    revision = _live_revision(message.page)
    page = revision.as_object() if revision else None
    base_url = _base_url(record)
    prepared = _prepared(page, revision, base_url)
    sender = sender_for_site(record.site)
    data = {
        "contact": contact_data(message.contact),
        "flow": {},
        "site_name": site_name(record.site),
        "confirm_url": base_url + confirm_path(record),
    }
    subject = merge_tags.render(prepared["subject"], data, autoescape=False)
    rendered = RenderedEmail(
        subject=" ".join(subject.split()),
        html=merge_tags.render(prepared["html"], data),
        text=merge_tags.render(prepared["text"], data, autoescape=False),
        from_email=sender_for(page, sender),
        reply_to=(page.reply_to if page else "") or (sender.reply_to if sender else ""),
        base_url=base_url,
    )
    return rendered, revision


def confirm_path(record, at=None):
    token = tokens.make_confirm_token(record.pk, at or timezone.now())
    return reverse("wagtail_flows:confirm", args=[token])


def site_name(site):
    return (site.site_name if site else "") or getattr(settings, "WAGTAIL_SITE_NAME", "")


def _live_revision(page):
    if page is None or not page.live or page.live_revision_id is None:
        return None
    return page.live_revision


def _base_url(record):
    if record.site is not None:
        return record.site.root_url.rstrip("/")
    return base_url_for(None)


def _prepared(page, revision, base_url):
    """Subject, inlined HTML and text with merge tags still in, cached like email pages."""
    stamp = revision.created_at.timestamp() if revision else ""
    key = ":".join(
        map(
            str,
            (
                "wagtail_flows:confirmation",
                TEMPLATE_VERSION,
                revision.pk if revision else "built-in",
                stamp,
                base_url,
                get_language(),
                confirmation_lifetime().days,
            ),
        )
    )
    cache = caches[flows_settings.RENDER_CACHE]
    prepared = cache.get(key)
    if prepared is None:
        prepared = _prepare(page, base_url)
        cache.set(key, prepared, timeout=RENDER_CACHE_SECONDS)
    return prepared


def _prepare(page, base_url):
    default_subject = _("Please confirm your subscription to %(site)s") % {
        "site": "{{ site_name }}"
    }
    subject = merge_tags.unescape_tags(page.subject) if page and page.subject else None
    markup = render_to_string(
        TEMPLATE,
        {
            "page": page,
            "title": subject or default_subject,
            "site_name": "{{ site_name }}",
            "email": "{{ contact.email }}",
            "confirm_tag": "{{ confirm_url }}",
            "days": confirmation_lifetime().days,
        },
    )
    inlined = inline_css(make_absolute(merge_tags.unescape_tags(markup), base_url))
    return {
        "subject": subject or default_subject,
        "html": inlined,
        "text": html_to_text(inlined),
    }
