"""Moved to ``wagtail_flows.reports.charts``; this path
works until 0.2 (CHANGELOG.md)."""

import warnings

from wagtail_flows.reports import charts as _moved

globals().update({k: v for k, v in vars(_moved).items() if not k.startswith("__")})
warnings.warn(
    f"{__name__} moved to wagtail_flows.reports.charts", DeprecationWarning, stacklevel=2
)
