"""Before a marketing flow goes live: will each of its emails carry the sender's postal address
and an unsubscribe link? (Gmail's and Yahoo's rules, CAN-SPAM; docs/deliverability.md.)

Registered with the activation checks (``flows.validation.register_activation_check``) when
the app is ready, since rendering sits above the flows in the layers.
"""

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils.html import escape
from django.utils.translation import gettext as _

from wagtail_flows.emails.rendering import (
    postal_address,
    render_page_html,
    sender_for_site,
    site_base_url,
    site_of,
)
from wagtail_flows.models.email_pages import email_pages
from wagtail_flows.models.flows import FlowKind

UNSUBSCRIBE_TAG = "{{ unsubscribe_url }}"


def sender_errors(flow):
    """``{NON_FIELD_ERRORS: ValidationError}`` naming what each email would miss."""
    if flow.kind != FlowKind.MARKETING:
        return {}
    problems = []
    for page in email_pages(flow):
        problems += _problems(page)
    return {NON_FIELD_ERRORS: ValidationError(problems)} if problems else {}


def _problems(page):
    site = site_of(page)
    sender = sender_for_site(site)
    address = postal_address(sender)
    if not address:
        site = getattr(sender, "site", None) or site
        where = _(" for %(site)s") % {"site": site.site_name or site.hostname} if site else ""
        return [
            _(
                "The email “%(page)s” has no postal address to carry: set it in Settings › "
                "Email sender%(where)s. The law in many countries wants it in every marketing "
                "email."
            )
            % {"page": page.title, "where": where}
        ]
    markup = render_page_html(page, site_base_url(site), sender=sender, site=site)
    missing = []
    if UNSUBSCRIBE_TAG not in markup:
        missing.append(_("the unsubscribe link"))
    if escape(address.splitlines()[0].strip()) not in markup:
        missing.append(_("the postal address"))
    if not missing:
        return []
    return [
        _(
            "The email “%(page)s” would go out without %(what)s: its template's footer "
            "block leaves them out. Keep {{ block.super }} in the footer of your email "
            "template."
        )
        % {"page": page.title, "what": _(" and ").join(missing)}
    ]
