"""Capture: events in. Page serving and documents (``pages``), Wagtail forms (``forms``), shop
signals and logins (``shop``), the visitor cookie and identification (``visitors``),
``track()`` (``track``), the JS beacon (``beacon``) and ``VisitorCookieMiddleware``.

The names developers use are importable from here: ``from wagtail_flows.capture import
identify, FlowsFormMixin``. Every event is written by ``wagtail_flows.models.events``.
"""

from wagtail_flows.capture.forms import FlowsFormMixin, capture_form_submission  # noqa: F401
from wagtail_flows.capture.pages import (  # noqa: F401
    bind_request,
    capture_document_download,
    capture_page_view,
    capture_safely,
    current_request,
    wrap_page_serving,
)
from wagtail_flows.capture.shop import capture_cart, capture_login, capture_order  # noqa: F401
from wagtail_flows.capture.track import clean_kind, track  # noqa: F401
from wagtail_flows.capture.visitors import (  # noqa: F401
    VisitorCookie,
    capture_allowed,
    clean_email,
    contact_of_visitor,
    get_or_create_contact,
    identify,
    is_bot,
    link_visitor,
    record_visit,
    same_origin,
    set_visitor_cookie,
    visitor_from_request,
)
from wagtail_flows.models.events import (  # noqa: F401
    ACTIVITY_FIELDS,
    clean_custom_name,
    clean_data,
    clean_event,
    clean_value,
    record_event,
    record_events,
    signals_held,
    touch_contact,
)
