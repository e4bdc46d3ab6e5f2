"""TODO docstring."""

import contextlib
import contextvars
import json
import logging
import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit
from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.db.models import DateTimeField, F, Max, Subquery, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone
from django.utils.translation import gettext as _
from wagtail_flows.conf import flows_settings
from wagtail_flows.models import Contact, Event, Visitor
from wagtail_flows.models.contacts import EventKind, normalize_email
from wagtail_flows.signals import event_recorded


def track(kind_or_name, *, request=None, contact=None, email=None, value=None, **data):
    """Record an event: a known kind, or any other name as a ``custom`` event.

    Name the person by ``contact``, ``email`` (found or created) or ``request`` (the
    browser's visitor). Bad input raises ValidationError naming the field; nothing is written.
    Returns the Event, or None when the browser may not be tracked (consent, DNT, bot).
    """
    kind, name = clean_kind(kind_or_name)
    fields = clean_event(kind, name=name, value=value, data=data)
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
    return _insert_event(contact=contact, visitor=visitor, page=None, at=None, **fields)


def clean_kind(kind_or_name):
    """``(kind, name)``: a known kind as itself, any other string as a named custom event."""
    if not isinstance(kind_or_name, str) or not kind_or_name.strip():
        raise ValidationError({"kind": _("Name the event kind or a custom event name.")})
    if kind_or_name in EventKind.values:
        return kind_or_name, ""
    return EventKind.CUSTOM, clean_custom_name(kind_or_name)
