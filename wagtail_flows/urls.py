"""Public endpoints, mounted by the site: ``path("flows/", include("wagtail_flows.urls"))``."""

from django.urls import path  # noqa: F401

from wagtail_flows.capture.beacon import beacon  # (capture)
from wagtail_flows.emails import views as email_views  # noqa: E402  (emails)

app_name = "wagtail_flows"

urlpatterns = [
    # --- capture -------------------------------------------------------------------------
    path("beacon/", beacon, name="beacon"),
    # --- emails --------------------------------------------------------------------------
    path("e/o/<str:token>/", email_views.email_open, name="open"),
    path("e/c/<str:token>/<int:index>/", email_views.email_click, name="click"),
    path("e/u/<str:token>/", email_views.email_unsubscribe, name="unsubscribe"),
    path("e/p/<str:token>/", email_views.email_preferences, name="preferences"),
    path("e/v/<str:token>/", email_views.email_view_in_browser, name="view_in_browser"),
    path("e/confirm/<str:token>/", email_views.confirm_subscription, name="confirm"),
    # --- end emails ----------------------------------------------------------------------
]
