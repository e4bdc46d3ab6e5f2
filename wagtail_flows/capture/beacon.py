"""The JS beacon: ``POST /flows/beacon/`` records page views and custom events from pages a
cache served (where Wagtail's serving hooks never run).

CSRF: exempt from the token (cached pages cannot carry one); only same-origin requests
(Origin, else Referer) are accepted, and a request only writes to its caller's cookie.
"""

import json
import logging

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from wagtail_flows.capture.visitors import (
    capture_allowed,
    record_visit,
    same_origin,
    set_visitor_cookie,
    visitor_from_request,
)
from wagtail_flows.conf import flows_settings
from wagtail_flows.models.base import base_page_class
from wagtail_flows.models.events import clean_custom_name, clean_data
from wagtail_flows.vocabulary import EventKind

logger = logging.getLogger("wagtail_flows.capture")

BEACON_KINDS = (EventKind.PAGE_VIEWED, EventKind.CUSTOM)


@csrf_exempt
@require_POST
def beacon(request):
    return handle_beacon(request)


class BeaconError(Exception):
    def __init__(self, field, message, status=400):
        super().__init__(message)
        self.field, self.message, self.status = field, message, status


def handle_beacon(request):
    """POST JSON ``{kind, page|path, name, data}`` from the site's own pages."""
    try:
        if not same_origin(request):
            raise BeaconError("origin", "Only this site's pages may send events.", 403)
        if not capture_allowed(request):
            return HttpResponse(status=204)
        payload = _beacon_payload(request)
        state = visitor_from_request(request, create=True)
        _rate_limit(request, state)
        record_visit(state=state, **payload)
        return set_visitor_cookie(request, HttpResponse(status=204))
    except BeaconError as error:
        return JsonResponse({"errors": {error.field: error.message}}, status=error.status)
    except Exception:
        logger.exception("wagtail-flows beacon failed")
        return JsonResponse({"recorded": False}, status=202)


def _beacon_payload(request):
    limit = flows_settings.MAX_EVENT_DATA_BYTES
    if len(request.body) > limit + 2048:
        raise BeaconError("data", f"The request is larger than {limit} bytes.", 413)
    try:
        payload = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        raise BeaconError("body", "Send a JSON object.") from None
    if not isinstance(payload, dict):
        raise BeaconError("body", "Send a JSON object.")
    data = payload.get("data") or {}
    if "email" in payload or (isinstance(data, dict) and "email" in data):
        raise BeaconError("email", "The beacon never accepts an email address.")
    kind = payload.get("kind")
    if kind not in BEACON_KINDS:
        raise BeaconError("kind", f"kind must be one of {', '.join(BEACON_KINDS)}.")
    if kind == EventKind.CUSTOM:
        name = _custom_name(payload.get("name"))
        return {"kind": kind, "name": name, "data": _beacon_data(data)}
    page = _beacon_page(request, payload)
    path = payload.get("path") if isinstance(payload.get("path"), str) else ""
    return {"kind": kind, "page": page, "data": _beacon_data(data, path=path[:500])}


def _beacon_data(data, **ours):
    """The caller's data with what we add, checked whole: what is stored is what was
    checked (an event that passed here is never refused later for its size)."""
    try:
        return clean_data({**data, **ours} if isinstance(data, dict) else data)
    except ValidationError as error:
        raise BeaconError("data", error.message_dict["data"][0]) from None


def _custom_name(name):
    try:
        return clean_custom_name(name)
    except ValidationError as error:
        raise BeaconError("name", error.message_dict["name"][0]) from None


def _beacon_page(request, payload):
    Page = base_page_class()
    page_id, path = payload.get("page"), payload.get("path")
    page = None
    if isinstance(page_id, int) and not isinstance(page_id, bool):
        page = Page.objects.live().public().filter(pk=page_id).first()
    elif isinstance(path, str) and path.startswith("/") and len(path) <= 500:
        page = Page.find_for_request(request, path)
        page = page if page is not None and page.live else None
        if page is not None and page.get_view_restrictions().exists():
            page = None
    if page is None:
        raise BeaconError("page", "Name a live public page by its id (page) or path.")
    return page


def _rate_limit(request, state):
    """At most BEACON_RATE_LIMIT events a minute per visitor; a browser without our cookie is
    counted by address, so dropping the cookie does not lift the limit."""
    minute = int(timezone.now().timestamp() // 60)
    who = request.META.get("REMOTE_ADDR", "") if state.new else state.id.hex
    key = f"wagtail_flows:beacon:{who}:{minute}"
    cache.add(key, 0, timeout=120)
    try:
        count = cache.incr(key)
    except ValueError:  # evicted between add and incr
        count = 1
        cache.set(key, count, timeout=120)
    if count > flows_settings.BEACON_RATE_LIMIT:
        raise BeaconError("rate", "Too many events; try again in a minute.", 429)
