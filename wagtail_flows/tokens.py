"""Moved to ``wagtail_flows.emails.tokens``; this path
works until 0.2 (CHANGELOG.md)."""

import warnings

from wagtail_flows.emails import tokens as _moved

globals().update({k: v for k, v in vars(_moved).items() if not k.startswith("__")})
warnings.warn(f"{__name__} moved to wagtail_flows.emails.tokens", DeprecationWarning, stacklevel=2)
