"""The site's base Page model, which Wagtail 8 lets a project swap (WAGTAIL_PAGE_MODEL)."""

import swapper
import wagtail.models  # noqa: F401  (sets swapper's "wagtail" prefix for WAGTAIL_PAGE_MODEL)
from django.apps import apps

PAGE_MODEL = swapper.get_model_name("wagtailcore", "Page")


def base_page_class():
    """The concrete base Page class; a swapped one must be in INSTALLED_APPS before us."""
    if swapper.is_swapped("wagtailcore", "Page"):
        return apps.get_model(PAGE_MODEL, require_ready=False)
    return wagtail.models.Page
