"""The developer's call: ``wagtail_flows.track(kind_or_name, contact=/email=/request=, ...)``."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from wagtail_flows.capture.visitors import (
    capture_allowed,
    clean_email,
    contact_of_visitor,
    get_or_create_contact,
    identify,
    visitor_from_request,
)
from wagtail_flows.models.events import clean_custom_name, clean_event, insert_event
from wagtail_flows.vocabulary import EventKind


def track(kind_or_name, *, request=None, contact=None, email=None, value=None, **data):
    """Record an event: a known kind, or any other name as a ``custom`` event.

    Name the person by ``contact``, ``email`` (found or created) or ``request`` (the
    browser's visitor). Bad input raises ValidationError naming the field; nothing is written.
    An email address in the name or the data is bad input: it would escape the GDPR export
    and erase of the person it names (name that person by ``email=`` instead).
    Returns the Event, or None when the browser may not be tracked (consent, DNT, bot).
    """
    kind, name = clean_kind(kind_or_name)
    fields = clean_event(kind, name=name, value=value, data=data, refuse_emails=True)
    if contact is None and email is not None:
        email = clean_email(email)
    if contact is None and email is None and request is None:
        raise ValidationError({"contact": _("Name a contact, an email or a request.")})
    state = None
    if request is not None and capture_allowed(request):
        state = visitor_from_request(request, create=True)
    elif contact is None and email is None:
        return None
    if contact is None and email is not None:
        contact, _created = get_or_create_contact(email)
        if state is not None and not identify(request, contact, trusted=False):
            state = None  # that browser belongs to someone else: do not tie it to this event
    elif contact is None:
        contact = contact_of_visitor(state.id) if not state.new else None
    visitor = state.id if state else None
    return insert_event(contact=contact, visitor=visitor, page=None, at=None, **fields)


def clean_kind(kind_or_name):
    """``(kind, name)``: a known kind as itself, any other string as a named custom event."""
    if not isinstance(kind_or_name, str) or not kind_or_name.strip():
        raise ValidationError({"kind": _("Name the event kind or a custom event name.")})
    if kind_or_name in EventKind.values:
        return kind_or_name, ""
    return EventKind.CUSTOM, clean_custom_name(kind_or_name)
