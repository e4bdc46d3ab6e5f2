"""Page serving and document downloads: the ``on_serve_page`` wrapper and the download hook.

Capture never breaks page serving: every capture call goes through ``capture_safely``.
"""

import contextvars
import logging

from django.db import connection, transaction

from wagtail_flows.capture.visitors import (
    capture_allowed,
    record_visit,
    set_visitor_cookie,
    visitor_from_request,
)
from wagtail_flows.vocabulary import EventKind

logger = logging.getLogger("wagtail_flows.capture")

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
