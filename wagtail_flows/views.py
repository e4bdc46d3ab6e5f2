"""Public endpoints: event beacon, open pixel, click redirect, unsubscribe, preferences."""

# --- capture: event beacon -----------------------------------------------------------------
# CSRF: exempt from the token (cached pages cannot carry one); capture.handle_beacon accepts
# only same-origin requests (Origin, else Referer), and only writes to the caller's cookie.
from django.views.decorators.csrf import csrf_exempt  # noqa: E402
from django.views.decorators.http import require_POST  # noqa: E402


@csrf_exempt
@require_POST
def beacon(request):
    from wagtail_flows.capture import handle_beacon

    return handle_beacon(request)


# --- end capture -----------------------------------------------------------------------------

# --- emails: open pixel, click redirect, unsubscribe, preferences, view in browser ---------
# The views live in email_views.py; re-exported here for the URLconf and for developers.
from wagtail_flows.email_views import (  # noqa: E402, F401
    email_click,
    email_open,
    email_preferences,
    email_unsubscribe,
    email_view_in_browser,
)
# --- end emails ----------------------------------------------------------------------------
