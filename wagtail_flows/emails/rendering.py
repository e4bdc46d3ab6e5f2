"""Emails: render an email page, inline its CSS once per revision, personalise per contact.

    revision → HTML with merge tags → premailer  (once per revision, in RENDER_CACHE)
    per message: merge tags (restricted engine) → tracked links → open pixel

Delivery lives in ``wagtail_flows.emails.delivery``; its public functions are re-exported
here (``emails.deliver_message``, ``emails.enqueue_delivery``, ...).
"""

import html
import logging
import re
from dataclasses import dataclass, field
from email.utils import formataddr, parseaddr
from html.parser import HTMLParser

from django.conf import settings
from django.core.cache import caches
from django.template.loader import render_to_string
from django.urls import reverse
from premailer import Premailer

from wagtail_flows.conf import flows_settings
from wagtail_flows.emails import merge_tags, tokens

logger = logging.getLogger(__name__)

PAGE_TEMPLATE = "wagtail_flows/email/email_page.html"
# Bump when the email templates change, so cached renders of old revisions are not reused.
TEMPLATE_VERSION = "3"
RENDER_CACHE_SECONDS = 24 * 3600

_PLACEHOLDER = "flowsmergetag{}x"
_PLACEHOLDER_RE = re.compile(r"flowsmergetag(\d+)x")
_RELATIVE_URL_RE = re.compile(r'(\s(?:href|src)=")(/[^/"][^"]*|/)"')
_HREF_RE = re.compile(r'(<a\b[^>]*?\shref=")(https?://[^"]+)"', re.IGNORECASE)


@dataclass
class RenderedEmail:
    subject: str
    html: str
    text: str
    links: list = field(default_factory=list)
    problems: list = field(default_factory=list)
    from_email: str = ""
    reply_to: str = ""
    base_url: str = ""


@dataclass
class PreparedEmail:
    """A page rendered and inlined, merge tags still in: the part cached per revision."""

    subject: str
    html: str
    text: str
    problems: list
    base_url: str
    from_email: str
    reply_to: str


# --- per revision: render and inline -----------------------------------------------------


def base_url_for(page=None):
    """The origin of absolute URLs: the page's Site, else WAGTAIL_FLOWS["BASE_URL"]."""
    return site_base_url(site_of(page) if page is not None else None)


def site_base_url(site):
    if site is not None:
        return site.root_url.rstrip("/")
    fallback = flows_settings.BASE_URL or getattr(settings, "WAGTAILADMIN_BASE_URL", "")
    return (fallback or "").rstrip("/")


def make_absolute(markup, base_url):
    return _RELATIVE_URL_RE.sub(lambda m: f'{m.group(1)}{base_url}{m.group(2)}"', markup)


def site_of(page):
    return page.get_site() if page.pk else None


# Who a site's emails come from (Settings › Email sender): ``site -> settings or None``, set
# at app ready by receivers.py (the model sits above rendering in the layers).
_sender_lookup = None


def set_sender_lookup(lookup):
    global _sender_lookup
    _sender_lookup = lookup


def sender_for_site(site):
    return _sender_lookup(site) if _sender_lookup else None


def postal_address(sender):
    """The site's postal address, else WAGTAIL_FLOWS["POSTAL_ADDRESS"]; "" when neither."""
    own = (getattr(sender, "postal_address", "") or "").strip()
    return own or (flows_settings.POSTAL_ADDRESS or "").strip()


SENDER_VERSION_KEY = "wagtail_flows:sender-version"


def sender_version():
    """Part of the rendered-email cache key, bumped when a site's sender changes: renders
    made before expire without the database being asked."""
    return caches[flows_settings.RENDER_CACHE].get(SENDER_VERSION_KEY, 0)


def bump_sender_version():
    caches[flows_settings.RENDER_CACHE].set(SENDER_VERSION_KEY, sender_version() + 1, None)


def render_page_html(page, base_url, *, with_subject=True, sender=None, site=None):
    """The email page as HTML (not yet inlined), merge tags as the editor wrote them.
    ``site`` and ``sender``, when the caller has them, save looking them up again."""
    site = site or site_of(page)
    sender = sender or sender_for_site(site)
    markup = render_to_string(
        PAGE_TEMPLATE,
        {
            "page": page,
            "title": page.subject if with_subject else page.title,
            "site_name": (site.site_name if site else "") or settings.WAGTAIL_SITE_NAME,
            "postal_address": postal_address(sender),
            "unsubscribe_tag": "{{ unsubscribe_url }}",
            "preferences_tag": "{{ preferences_url }}",
            "view_in_browser_tag": "{{ view_in_browser_url }}",
        },
    )
    return make_absolute(merge_tags.unescape_tags(markup), base_url)


def inline_css(markup):
    """Inline the CSS with premailer, keeping merge tags intact and fetching nothing remote.

    premailer URL-encodes attribute values (``{{ x }}`` → ``{{%20x%20}}``), so merge tags are
    swapped for plain placeholders while it runs.
    """
    saved = []

    def protect(match):
        saved.append(match.group(0))
        return _PLACEHOLDER.format(len(saved) - 1)

    protected = merge_tags.TAG_RE.sub(protect, markup)
    inlined = Premailer(
        protected,
        base_url=None,
        disable_link_rewrites=True,
        keep_style_tags=True,  # media queries only work from the <style> block
        strip_important=False,
        remove_classes=False,
        allow_network=False,
        allow_loading_external_files=False,
        disable_validation=True,
        cssutils_logging_level=logging.CRITICAL,
    ).transform()
    return _PLACEHOLDER_RE.sub(lambda m: saved[int(m.group(1))], inlined)


def sender_for(page, sender=None):
    """The From header: the page's sender, else the site's (Settings › Email sender), else
    WAGTAIL_FLOWS["FROM_EMAIL"], else Django's DEFAULT_FROM_EMAIL."""
    own_name, own_email = (page.from_name, page.from_email) if page else ("", "")
    site_name, site_email = (sender.from_name, sender.from_email) if sender else ("", "")
    from_email = (
        own_email or site_email or flows_settings.FROM_EMAIL or settings.DEFAULT_FROM_EMAIL
    )
    name, address = parseaddr(from_email)
    return formataddr((own_name or site_name or name, address))


def prepare_page(page, base_url):
    subject = merge_tags.unescape_tags(page.subject)
    site = site_of(page)
    sender = sender_for_site(site)
    raw_html = render_page_html(page, base_url, sender=sender, site=site)
    inlined = inline_css(raw_html)
    subject_problems = merge_tags.check(subject)
    body_problems = [p for p in merge_tags.check(raw_html) if p not in subject_problems]
    problems = [f"Subject: {p}" for p in subject_problems]
    problems += [f"Body: {p}" for p in body_problems]
    return PreparedEmail(
        subject=subject,
        html=inlined,
        text=html_to_text(inlined),
        problems=problems,
        base_url=base_url,
        from_email=sender_for(page, sender),
        reply_to=page.reply_to or (sender.reply_to if sender else ""),
    )


def _cache_key(revision):
    stamp = revision.created_at.timestamp()
    sender = sender_version()
    return f"wagtail_flows:email:{TEMPLATE_VERSION}.{sender}:{revision.pk}:{stamp}"


def prepare_revision(revision):
    """Render and inline a revision once; later calls come from the RENDER_CACHE cache
    without touching the database."""
    cache = caches[flows_settings.RENDER_CACHE]
    key = _cache_key(revision)
    prepared = cache.get(key)
    if prepared is None:
        page = revision.as_object()
        prepared = prepare_page(page, base_url_for(page))
        # Expires so that a change of the site's address or sender reaches old revisions.
        cache.set(key, prepared, timeout=RENDER_CACHE_SECONDS)
    return prepared


# --- per message: personalise ------------------------------------------------------------


def contact_data(contact):
    return {
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "full_name": contact.full_name,
        "email": contact.email,
        "stage": contact.get_stage_display(),
        "score": contact.score,
        "properties": contact.properties or {},
    }


def sample_data(contact=None):
    """Merge data for previews and test sends, with a sample order and cart."""
    item = {"name": "Sample product", "price": "19.95", "quantity": 1, "image_url": "", "url": ""}
    sample_order = {"id": "1001", "total": "19.95", "currency": "EUR", "items": [item]}
    data = {
        "contact": contact_data(contact)
        if contact
        else {
            "first_name": "Ann",
            "last_name": "Example",
            "full_name": "Ann Example",
            "email": "ann@example.com",
            "stage": "Subscriber",
            "score": 0,
            "properties": {},
        },
        "flow": {"name": "Sample flow"},
        "order": sample_order,
        "cart": {**sample_order, "id": "cart-1"},
        "answers": {},
    }
    return data


def message_urls(message, base_url):
    def url(name, purpose, *extra):
        token = tokens.make_token(message.pk, purpose)
        return base_url + reverse(f"wagtail_flows:{name}", args=[token, *extra])

    return {
        "unsubscribe_url": url("unsubscribe", tokens.UNSUBSCRIBE),
        "preferences_url": url("preferences", tokens.PREFERENCES),
        "view_in_browser_url": url("view_in_browser", tokens.VIEW),
        "open_url": url("open", tokens.OPEN),
        "click_token": tokens.make_token(message.pk, tokens.CLICK),
    }


def merge_data(contact, *, message=None, context=None, base_url=""):
    context = context or {}
    data = {"contact": contact_data(contact), "flow": {}}
    if message is not None and message.flow_id:
        data["flow"] = {"name": message.flow.name}
    for key in ("order", "cart", "event"):
        if isinstance(context.get(key), dict):
            data[key] = context[key]
    # The answers of the form submission that started the run: {{ answers.topic }}.
    data["answers"] = context["form"] if isinstance(context.get("form"), dict) else {}
    if message is not None and message.pk:
        data.update(message_urls(message, base_url))
    else:
        data.update(unsubscribe_url="#", preferences_url="#", view_in_browser_url="#")
    return data


def track_links(markup, base_url, data):
    """Point each web link at the click redirect; the target is kept server-side by index."""
    links = []
    own = {data["unsubscribe_url"], data["preferences_url"], data["view_in_browser_url"]}
    # One reverse() per message, not per link: it was most of a personalisation's cost.
    first = reverse("wagtail_flows:click", args=[data["click_token"], 0])
    click_prefix = base_url + first.removesuffix("0/")

    def replace(match):
        url = html.unescape(match.group(2))
        if url in own:
            return match.group(0)
        links.append(url)
        return f'{match.group(1)}{click_prefix}{len(links) - 1}/"'

    return _HREF_RE.sub(replace, markup), links


def add_open_pixel(markup, open_url):
    pixel = (
        f'<img src="{open_url}" width="1" height="1" alt="" '
        'style="display:block;width:1px;height:1px;border:0;">'
    )
    head, sep, tail = markup.rpartition("</body>")
    return f"{head}{pixel}{sep}{tail}" if sep else markup + pixel


def personalise(prepared, contact, *, message=None, context=None, base_url="", data=None):
    data = data or merge_data(contact, message=message, context=context, base_url=base_url)
    subject_source = (message.subject_override if message else "") or prepared.subject
    subject = " ".join(merge_tags.render(subject_source, data, autoescape=False).split())
    markup = merge_tags.render(prepared.html, data)
    text = merge_tags.render(prepared.text, data, autoescape=False)
    links = []
    if message is not None and message.pk:
        markup, links = track_links(markup, base_url, data)
        markup = add_open_pixel(markup, data["open_url"])
    return RenderedEmail(
        subject=subject,
        html=markup,
        text=text,
        links=links,
        problems=list(prepared.problems),
        from_email=prepared.from_email,
        reply_to=prepared.reply_to,
        base_url=prepared.base_url,
    )


def render_email(page_or_revision, contact, *, message=None, context=None):
    """The email for one contact. A Revision is inlined once and cached; a page object
    (a preview of unsaved edits) is rendered as it is."""
    if hasattr(page_or_revision, "as_object"):
        prepared = prepare_revision(page_or_revision)
    else:
        prepared = prepare_page(page_or_revision, base_url_for(page_or_revision))
    return personalise(
        prepared, contact, message=message, context=context, base_url=prepared.base_url
    )


def render_sample(page, contact=None):
    """A page (draft or preview) rendered for a sample contact, with merge-tag problems."""
    prepared = prepare_page(page, base_url_for(page))
    data = sample_data(contact)
    data.update(unsubscribe_url="#", preferences_url="#", view_in_browser_url="#")
    return personalise(prepared, contact, data=data)


# --- plain text --------------------------------------------------------------------------


class _TextWriter(HTMLParser):
    BLOCKS = {"p", "div", "h1", "h2", "h3", "tr", "table", "li", "br", "blockquote"}
    SKIP = {"style", "head", "title", "script"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts, self.skipping, self.href = [], 0, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in self.SKIP:
            self.skipping += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")
        if tag == "li":
            self.parts.append("- ")
        if tag == "a":
            self.href = attrs.get("href")
        if tag == "img" and attrs.get("alt") and attrs.get("width") != "1":
            self.parts.append(f"[{attrs['alt']}]")

    def handle_endtag(self, tag):
        if tag in self.SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self.BLOCKS:
            self.parts.append("\n")
        if tag == "a" and self.href:
            self.parts.append(f" ( {self.href} )")
            self.href = None

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(data)


def html_to_text(markup):
    """A readable plain-text alternative; links are written out after their text."""
    writer = _TextWriter()
    writer.feed(markup)
    lines = (" ".join(line.split()) for line in "".join(writer.parts).splitlines())
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"
