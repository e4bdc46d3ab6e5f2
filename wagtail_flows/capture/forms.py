"""Wagtail form submissions: one ``form_submitted`` event, and the contact the form names.

Wagtail sends no signal for submissions: a ``post_save`` receiver on every form-submission
model covers every form page, and the request (the visitor cookie) comes from the serving
wrapper (``capture.pages``) or ``FlowsFormMixin``."""

import logging

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.html import strip_tags

from wagtail_flows.capture.consent import ask_for_consent
from wagtail_flows.capture.pages import bind_request, current_request
from wagtail_flows.capture.visitors import (
    capture_allowed,
    get_or_create_contact,
    identify,
    set_visitor_cookie,
    visitor_from_request,
)
from wagtail_flows.conf import flows_settings
from wagtail_flows.models.contacts import EventKind
from wagtail_flows.models.events import clean_data, record_event

logger = logging.getLogger("wagtail_flows.capture")


# --- Wagtail form builder ------------------------------------------------------------------


class FlowsFormMixin:
    """Optional, for form pages served outside Wagtail's page view (headless, custom views):
    ``class ContactPage(FlowsFormMixin, AbstractEmailForm)`` links each submission to the
    submitting browser even where the ``on_serve_page`` hook does not run."""

    def serve(self, request, *args, **kwargs):
        with bind_request(request):
            response = super().serve(request, *args, **kwargs)
        return set_visitor_cookie(request, response)


def capture_form_submission(submission):
    """A Wagtail form submission from any form page → ``form_submitted`` on its contact;
    a ticked consent box asks for consent (``capture.consent``: proof, double opt-in)."""
    page = submission.page.specific
    data = dict(submission.form_data)
    fields = list(page.get_form_fields()) if hasattr(page, "get_form_fields") else []
    email_name = _email_field(fields, data)
    email = data.pop(email_name, "") if email_name else ""
    request = current_request()
    # One transaction: the consent request names the submission before dispatch (after
    # commit) decides whether marketing flows may take it yet.
    with transaction.atomic():
        contact = _form_contact(email, data, page)
        visitor = _form_visitor(request, contact)
        event = record_event(
            EventKind.FORM_SUBMITTED,
            contact=contact,
            visitor=visitor,
            page=page,
            name=page.title,
            object_id=submission.pk,
            data=_form_data(data),
        )
        consent_field = _consent_field(fields, data)
        if contact is not None and consent_field is not None:
            ask_for_consent(
                contact,
                wording=consent_wording(consent_field),
                page=page,
                request=request,
                event=event,
                source=f"form: {page.title}",
            )
    return event


def _email_field(fields, data):
    for field in fields:
        if field.field_type == "email" and field.clean_name in data:
            return field.clean_name
    return next((n for n in flows_settings.EMAIL_FIELD_NAMES if n in data), None)


def _form_contact(email, data, page):
    if not email:
        return None
    try:
        contact, created = get_or_create_contact(email, source=f"form: {page.title}"[:255])
    except ValidationError:
        logger.warning("Form %s submitted without a valid email; no contact.", page.pk)
        return None
    _fill_names(contact, data)
    return contact


def _fill_names(contact, data):
    changed = []
    for name in ("first_name", "last_name"):
        value = str(data.get(name) or "").strip()[:150]
        if value and not getattr(contact, name):
            setattr(contact, name, value)
            changed.append(name)
    if changed:
        contact.save(update_fields=changed)


def _consent_field(fields, data):
    """The ticked marketing-consent checkbox of the form, if any."""
    for field in fields:
        if field.field_type != "checkbox" or not data.get(field.clean_name):
            continue
        words = f"_{field.clean_name}_"
        if any(f"_{name}_" in words for name in flows_settings.CONSENT_FIELD_NAMES):
            return field
    return None


def consent_wording(field):
    """The consent box as the form showed it: its label, and its help text below."""
    parts = (str(field.label or "").strip(), strip_tags(str(field.help_text or "")).strip())
    return "\n".join(part for part in parts if part)


def _form_visitor(request, contact):
    """The submitting browser, identified as the contact unless it belongs to another one."""
    if request is None or not capture_allowed(request):
        return None
    if contact is None:
        return visitor_from_request(request, create=True).id
    if identify(request, contact, trusted=False):
        return visitor_from_request(request).id
    return None


def _form_data(data):
    try:
        return clean_data(data)
    except ValidationError:
        return {"fields": sorted(data)[:50], "truncated": True}
