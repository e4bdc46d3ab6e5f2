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
from wagtail_flows.models.form_mapping import (
    CONTACT_PROPERTY_TARGETS,
    IGNORE,
    PROPERTY,
    PROPERTY_KEY_RE,
    targets_for,
)
from wagtail_flows.models.properties import check_values, definitions, set_values

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
    """A Wagtail form submission from any form page → ``form_submitted`` on its contact,
    filled in from the answers as the page's field mapping says (``models.form_mapping``);
    a ticked consent box asks for consent (``capture.consent``: proof, double opt-in)."""
    page = submission.page.specific
    data = dict(submission.form_data)
    fields = list(page.get_form_fields()) if hasattr(page, "get_form_fields") else []
    targets = targets_for(page, fields)
    email_name = _email_field(fields, data, targets)
    email = data.pop(email_name, "") if email_name else ""
    request = current_request()
    # One transaction: the consent request names the submission before dispatch (after
    # commit) decides whether marketing flows may take it yet.
    with transaction.atomic():
        contact, not_saved = _form_contact(email, data, page, fields, targets)
        visitor = _form_visitor(request, contact)
        event = record_event(
            EventKind.FORM_SUBMITTED,
            contact=contact,
            visitor=visitor,
            page=page,
            name=page.title,
            object_id=submission.pk,
            data=_form_data({**data, NOT_SAVED: not_saved} if not_saved else data),
        )
        consent_field = _consent_field(fields, data, targets)
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


def _email_field(fields, data, targets):
    mapped = [name for name, choice in targets.items() if choice.get("target") == "email"]
    for name in mapped:
        if name in data:
            return name
    if mapped:
        return None  # the page names its email field; no guessing past it
    for field in fields:
        if field.field_type == "email" and field.clean_name in data:
            return field.clean_name
    return next((n for n in flows_settings.EMAIL_FIELD_NAMES if n in data), None)


# In the submission's event: answers a defined property could not take ({key: reason}).
NOT_SAVED = "_not_saved_as_property"


def _form_contact(email, data, page, fields, targets):
    """The contact the form names, filled from its answers; and the answers that did not
    read as their property's type ({key: reason}: kept in the submission, noted)."""
    if not email:
        return None, {}
    source = f"form: {page.title}"[:255]
    try:
        contact, created = get_or_create_contact(email, source=source)
    except ValidationError:
        logger.warning("Form %s submitted without a valid email; no contact.", page.pk)
        return None, {}
    return contact, _fill_contact(contact, answers_by_target(data, fields, targets), source)


def answers_by_target(data, fields, targets):
    """{"first_name": "Ann", "properties": {"phone": "…", "nps_score": 4}} from the answers."""
    types = {field.clean_name: field.field_type for field in fields}
    found = {"properties": {}}
    for name, choice in targets.items():
        target = choice.get("target")
        if name not in data or target in (None, IGNORE, "email", "consent"):
            continue
        if target == PROPERTY:
            key = (choice.get("key") or "").strip()
            value = _property_value(data[name], types.get(name))
            if PROPERTY_KEY_RE.fullmatch(key) and value not in (None, "", []):
                found["properties"][key] = value  # a blank answer erases nothing
        elif target == "full_name":
            first, _space, last = _text(data[name]).partition(" ")
            found.setdefault("first_name", first.strip())
            found.setdefault("last_name", last.strip())
        else:
            found[target] = _text(data[name])
    return found


def _text(value, limit=150):
    if isinstance(value, list | tuple):
        value = ", ".join(str(item) for item in value)
    return " ".join(str(value if value is not None else "").split())[:limit]


def _property_value(value, field_type):
    """An answer as a property: numbers as numbers (so they order as numbers), ticks as
    true/false, several choices as a list, anything else as text."""
    if field_type == "number":
        text = _text(value, 50)
        try:
            return int(text) if text.lstrip("-").isdigit() else float(text)
        except ValueError:
            return text or None
    if isinstance(value, bool):
        return value
    if isinstance(value, list | tuple):
        return [_text(item, 200) for item in value][:50]
    return _text(value, 500)


def _fill_contact(contact, found, source=""):
    """Names, phone and company fill what the contact lacks (typing someone's address does
    not rename them); other properties take the latest answer, through ``set_values`` (a
    defined property as its type). Returns the answers that did not read as their type."""
    changed = []
    for name in ("first_name", "last_name"):
        value = found.get(name, "")
        if value and not getattr(contact, name):
            setattr(contact, name, value)
            changed.append(name)
    if changed:
        contact.save(update_fields=changed)
    properties = contact.properties if isinstance(contact.properties, dict) else {}
    values = {}
    for target, key in CONTACT_PROPERTY_TARGETS.items():
        if found.get(target) and not properties.get(key):
            values[key] = found[target]
    values.update(found["properties"])
    values = {key: value for key, value in values.items() if properties.get(key) != value}
    if not values:
        return {}
    _parsed, problems = check_values(values, definitions(values))
    for key in problems:
        logger.info("Form answer for %s not saved as a property: %s", key, problems[key])
        values.pop(key)
    if values:
        set_values(contact, values, source=source)
    return problems


def consent_fields(page):
    """The page's form fields that are its marketing-consent checkbox (as its form answers
    say: saved, or suggested from the field names); empty for a form that asks none."""
    fields = list(page.get_form_fields()) if hasattr(page, "get_form_fields") else []
    targets = targets_for(page, fields)
    return [
        field
        for field in fields
        if field.field_type == "checkbox"
        and (targets.get(field.clean_name) or {}).get("target") == "consent"
    ]


def _consent_field(fields, data, targets):
    """The ticked marketing-consent checkbox of the form, if any."""
    for field in fields:
        choice = targets.get(field.clean_name) or {}
        if field.field_type != "checkbox" or not data.get(field.clean_name):
            continue
        if choice.get("target") == "consent":
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
