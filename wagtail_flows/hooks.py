"""Every Wagtail hook registration of wagtail-flows (wagtail_hooks.py only imports this).

Sections are owned by concern; keep registrations here and behaviour in the named modules.
"""

from wagtail import hooks  # noqa: F401

# --- capture (tracking.py) ---------------------------------------------------------------

# --- emails (emails.py, email preview and test send) ---------------------------------------

# --- admin (admin.py, panels/, admin views) -----------------------------------------------
