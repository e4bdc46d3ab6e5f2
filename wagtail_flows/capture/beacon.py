"""The JS beacon: ``POST /flows/beacon/`` records page views and custom events from pages a
cache served (where Wagtail's serving hooks never run).

CSRF: exempt from the token (cached pages cannot carry one); only same-origin requests
(Origin, else Referer) are accepted, and a request only writes to its caller's cookie.

Anyone can post here, so everything is refused that the site did not mean to store: an
email address anywhere in the request, a page that is not a public page of this site,
malformed or oversized JSON (each a 4xx naming the problem, nothing written), and more than
the rate limits allow per visitor and per client address (429 with Retry-After).
"""

import ipaddress
import json
import logging
import math
import re

from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation, ValidationError
from django.db.models import Q
from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from wagtail.models import Site

from wagtail_flows.capture.visitors import (
    capture_allowed,
    record_visit,
    same_origin,
    set_visitor_cookie,
    visitor_from_request,
)
from wagtail_flows.conf import flows_settings
from wagtail_flows.models.base import base_page_class
from wagtail_flows.models.email_pages import NotPublicMixin
from wagtail_flows.models.events import (
    MAX_DATA_DEPTH,
    clean_custom_name,
    clean_data,
    data_problem,
    email_address_in,
)
from wagtail_flows.vocabulary import EventKind

logger = logging.getLogger("wagtail_flows.capture")

BEACON_KINDS = (EventKind.PAGE_VIEWED, EventKind.CUSTOM)
MAX_BODY_DEPTH = MAX_DATA_DEPTH + 1  # the request's object around its data
MAX_PATH_LENGTH = 500
MAX_PAGE_ID = 2**63 - 1  # a bigger id overflows the database's integer


@csrf_exempt
@require_POST
def beacon(request):
    return handle_beacon(request)


class BeaconError(Exception):
    def __init__(self, field, message, status=400, retry_after=None):
        super().__init__(message)
        self.field, self.message, self.status = field, message, status
        self.retry_after = retry_after


def handle_beacon(request):
    """POST JSON ``{kind, page|path, name, data}`` from the site's own pages."""
    try:
        if not same_origin(request):
            raise BeaconError("origin", "Only this site's pages may send events.", 403)
        if not capture_allowed(request):
            return HttpResponse(status=204)
        body = _beacon_body(request)
        state = visitor_from_request(request, create=True)
        _rate_limit(request, state)
        payload = _beacon_payload(request, body)
        record_visit(state=state, **payload)
        return set_visitor_cookie(request, HttpResponse(status=204))
    except BeaconError as error:
        response = JsonResponse({"errors": {error.field: error.message}}, status=error.status)
        if error.retry_after:
            response["Retry-After"] = str(error.retry_after)
        return response
    except SuspiciousOperation:
        raise  # Django answers 400 (a Host not in ALLOWED_HOSTS) and logs it as security
    except Exception:
        # A genuine internal error: capture never breaks the page that sent it.
        logger.exception("wagtail-flows beacon failed")
        return JsonResponse({"recorded": False}, status=202)


# --- the request body ------------------------------------------------------------------------


def _beacon_body(request):
    """The raw body, refused (413) before it is read when its declared length is too big."""
    limit = flows_settings.MAX_EVENT_DATA_BYTES + 2048
    too_big = BeaconError("body", f"The request is larger than {limit} bytes.", 413)
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise BeaconError("body", "The Content-Length header is not a number.") from None
    if declared > limit:
        raise too_big
    try:
        body = request.body
    except RequestDataTooBig:
        raise too_big from None
    if len(body) > limit:
        raise too_big
    return body


def _beacon_payload(request, body):
    payload = _parse(body)
    for field, value in payload.items():
        if (place := email_address_in({field: value}, MAX_BODY_DEPTH)) is not None:
            raise BeaconError(
                field, f"The beacon never accepts an email address (found at {place})."
            )
    data = payload.get("data") or {}
    kind = payload.get("kind")
    if kind not in BEACON_KINDS:
        raise BeaconError("kind", f"kind must be one of {', '.join(BEACON_KINDS)}.")
    if kind == EventKind.CUSTOM:
        name = _custom_name(payload.get("name"))
        return {"kind": kind, "name": name, "data": _beacon_data(data)}
    page = _beacon_page(request, payload)
    return {"kind": kind, "page": page, "data": _beacon_data(data, path=payload.get("path") or "")}


def _parse(body):
    """The JSON object of the body: UTF-8, finite numbers, storable text, shallow."""
    not_json = BeaconError("body", "Send a JSON object (UTF-8).")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise not_json from None
    if _depth(text) > MAX_BODY_DEPTH:
        raise BeaconError("body", f"The JSON is nested deeper than {MAX_BODY_DEPTH} levels.")
    try:
        payload = json.loads(text or "null", parse_constant=_refuse_constant, parse_float=_finite)
    except _NotFinite:
        raise BeaconError("body", "NaN and Infinity are not JSON numbers.") from None
    except (ValueError, RecursionError):
        raise not_json from None
    if not isinstance(payload, dict):
        raise not_json
    if problem := data_problem(payload, MAX_BODY_DEPTH):
        raise BeaconError("body", f"The request {problem}.")
    return payload


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"?', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


def _depth(text):
    """How deeply the JSON text nests, counted without parsing (brackets outside strings)."""
    depth = deepest = 0
    for bracket in _BRACKET.findall(_STRING.sub("", text)):
        depth = depth + 1 if bracket in "[{" else depth - 1
        deepest = max(deepest, depth)
    return deepest


class _NotFinite(ValueError):
    pass


def _refuse_constant(name):
    raise _NotFinite(name)


def _finite(text):
    number = float(text)
    if not math.isfinite(number):  # 1e999
        raise _NotFinite(text)
    return number


def _beacon_data(data, **ours):
    """The caller's data with what we add, checked whole: what is stored is what was
    checked (an event that passed here is never refused later for its size)."""
    try:
        return clean_data({**data, **ours} if isinstance(data, dict) else data, refuse_emails=True)
    except ValidationError as error:
        raise BeaconError("data", error.message_dict["data"][0]) from None


def _custom_name(name):
    try:
        return clean_custom_name(name)
    except ValidationError as error:
        raise BeaconError("name", error.message_dict["name"][0]) from None


# --- the page ---------------------------------------------------------------------------------


def _beacon_page(request, payload):
    """A live, public page of the request's site that is served as a site page: named by
    ``page`` (its id) or else ``path``. The tree's root is no page; an email page or
    library is never one (they are read only through a message's signed link)."""
    page_id, path = payload.get("page"), payload.get("path")
    if path is not None and not _is_path(path):
        raise BeaconError("path", f"path must be the page's URL path, /… (≤ {MAX_PATH_LENGTH}).")
    if page_id is not None:
        if not _is_page_id(page_id):
            raise BeaconError("page", "page must be a page id (a positive whole number).")
        field, page = "page", _site_pages(request).filter(pk=page_id).first()
    elif path is not None:
        found = base_page_class().find_for_request(request, path)
        field, page = "path", found and _site_pages(request).filter(pk=found.pk).first()
    else:
        raise BeaconError("page", "Name a live public page by its id (page) or path.")
    if page is None or _is_email_page(page):
        raise BeaconError(field, "Name a live public page of this site by its id or path.")
    return page


def _is_path(path):
    return isinstance(path, str) and path.startswith("/") and len(path) <= MAX_PATH_LENGTH


def _is_page_id(page_id):
    return type(page_id) is int and 0 < page_id <= MAX_PAGE_ID


def _site_pages(request):
    """Live pages without view restrictions under the request's site root (any of its
    translations: Wagtail routes each language from the root's translation)."""
    Page = base_page_class()
    site = Site.find_for_request(request)
    if site is None:
        return Page.objects.none()
    roots = site.root_page.get_translations(inclusive=True).values_list("path", flat=True)
    under_a_root = Q()
    for root in roots:
        under_a_root |= Q(path__startswith=root)
    return Page.objects.live().public().filter(under_a_root, depth__gt=1)


def _is_email_page(page):
    """The page, or a page above it, is an email page or library (NotPublicMixin)."""
    lineage = base_page_class().objects.ancestor_of(page, inclusive=True)
    for content_type_id in lineage.values_list("content_type_id", flat=True):
        model = ContentType.objects.get_for_id(content_type_id).model_class()
        if model is not None and issubclass(model, NotPublicMixin):
            return True
    return False


# --- the rate limits -------------------------------------------------------------------------


def _rate_limit(request, state):
    """At most BEACON_RATE_LIMIT requests a minute per visitor, and
    BEACON_RATE_LIMIT_PER_ADDRESS per client address across all its cookies (minting
    cookies does not lift the limit). A browser without our cookie is counted as one
    visitor by its address, so dropping the cookie does not lift it either. Every request
    counts, refused or not."""
    now = timezone.now()
    minute = int(now.timestamp() // 60)
    address = client_network(request.META.get("REMOTE_ADDR", ""))
    visitor = f"new:{address}" if state.new else state.id.hex
    over = _count(f"visitor:{visitor}", minute) > flows_settings.BEACON_RATE_LIMIT
    per_address = flows_settings.BEACON_RATE_LIMIT_PER_ADDRESS
    if per_address is not None and _count(f"address:{address}", minute) > per_address:
        over = True
    if over:
        retry_after = 60 - int(now.timestamp()) % 60
        raise BeaconError(
            "rate", "Too many events; try again in a minute.", 429, retry_after=retry_after
        )


def _count(who, minute):
    key = f"wagtail_flows:beacon:{who}:{minute}"
    cache.add(key, 0, timeout=120)
    try:
        return cache.incr(key)
    except ValueError:  # evicted between add and incr
        cache.set(key, 1, timeout=120)
        return 1


def client_network(address):
    """The client as rate limits count it: its IPv4 address, or its IPv6 /64 (one
    household or machine gets a whole /64, so single IPv6 addresses are free to mint)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:64] or "unknown"
    if ip.version == 6 and ip.ipv4_mapped:
        return str(ip.ipv4_mapped)
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)
