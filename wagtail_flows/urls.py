"""Public endpoints, mounted by the site: ``path("flows/", include("wagtail_flows.urls"))``."""

from django.urls import path  # noqa: F401

app_name = "wagtail_flows"

urlpatterns = [
    # --- capture -------------------------------------------------------------------------
    # --- emails --------------------------------------------------------------------------
]
