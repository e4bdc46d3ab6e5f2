"""``VisitorCookieMiddleware``: sends the visitor cookie that capture created or changed
during a request Wagtail's page serving did not handle — a shop's basket view (django-oscar's
``basket_addition``), your own views calling ``track(request=...)`` or ``identify()``.
Without it an anonymous shopper's first event names a visitor id the browser never learns.
It costs nothing on requests where capture did not touch the cookie."""

from wagtail_flows.capture.pages import capture_safely
from wagtail_flows.capture.visitors import set_visitor_cookie


class VisitorCookieMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        capture_safely(set_visitor_cookie, request, response)
        return response
