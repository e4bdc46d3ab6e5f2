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


_CURRENT_REQUEST = contextvars.ContextVar("wagtail_flows_request", default=None)


def wrap_page_serving(next_serve):
    """The ``on_serve_page`` wrapper: runs inside Wagtail's view-restriction check."""

    def serve_and_capture(page, request, args, kwargs):
        token = _CURRENT_REQUEST.set(request)  # read by the form-submission receiver
        try:
            response = next_serve(page, request, args, kwargs)
        finally:
            _CURRENT_REQUEST.reset(token)
        capture_safely(capture_page_view, page, request, response)
        capture_safely(set_visitor_cookie, request, response)
        return response

    return serve_and_capture


def current_request():
    return _CURRENT_REQUEST.get()


class bind_request:
    """Make ``request`` the current one for capture (FlowsFormMixin, custom views)."""

    def __init__(self, request):
        self.request = request

    def __enter__(self):
        self.token = _CURRENT_REQUEST.set(self.request)
        return self.request

    def __exit__(self, *exc):
        _CURRENT_REQUEST.reset(self.token)


def capture_safely(func, *args, **kwargs):
    """Capture never breaks the page: errors are logged and swallowed. Under ATOMIC_REQUESTS a
    savepoint keeps a failed INSERT from poisoning the request's transaction."""
    try:
        if connection.settings_dict.get("ATOMIC_REQUESTS") and connection.in_atomic_block:
            with transaction.atomic():
                return func(*args, **kwargs)
        return func(*args, **kwargs)
    except Exception:
        logger.exception("wagtail-flows capture failed in %s", getattr(func, "__name__", func))
        return None


def capture_page_view(page, request, response):
    if request.method != "GET" or response.status_code != 200:
        return None
    if getattr(request, "is_preview", False) or not capture_allowed(request):
        return None
    state = visitor_from_request(request, create=True)
    return record_visit(EventKind.PAGE_VIEWED, state, page=page, data=_visit_data(request))


def _visit_data(request):
    data = {"path": request.path[:500]}
    for key in ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term"):
        if key in request.GET:
            data[key] = request.GET[key][:200]
    return data


def capture_document_download(document, request):
    if request.method != "GET" or not capture_allowed(request):
        return None
    # The file response is not ours to change: no cookie is set, an existing one is used.
    state = visitor_from_request(request)
    return record_visit(
        EventKind.DOCUMENT_DOWNLOADED,
        state,
        name=document.title,
        object_id=document.pk,
        data={"filename": document.filename[:255], "collection_id": document.collection_id},
    )
