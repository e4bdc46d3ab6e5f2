"""Moved to ``wagtail_flows.capture.middleware``; this path
works until 0.2 (CHANGELOG.md)."""

import warnings

from wagtail_flows.capture import middleware as _moved

globals().update({k: v for k, v in vars(_moved).items() if not k.startswith("__")})
warnings.warn(
    f"{__name__} moved to wagtail_flows.capture.middleware", DeprecationWarning, stacklevel=2
)
