"""Emails: the body blocks, rendering with the per-revision premailer cache, merge tags and
tokens (below the models: the email page model uses them), then delivery, bounces and the
public email endpoints (open, click, unsubscribe, preferences, view in browser).
"""

_MOVED = {  # the names ``wagtail_flows.emails`` had as a module, until 0.2 (CHANGELOG.md)
    "rendering": (
        "render_email",
        "render_sample",
        "prepare_page",
        "prepare_revision",
        "personalise",
        "merge_data",
        "message_urls",
        "html_to_text",
        "inline_css",
    ),
    "delivery": (
        "deliver_batch",
        "deliver_due",
        "deliver_message",
        "enqueue_delivery",
        "mark_stale_sending",
        "send_test",
    ),
    "bounces": ("record_bounce", "record_complaint"),
}


def __getattr__(name):
    import importlib
    import warnings

    for module, names in _MOVED.items():
        if name in names:
            new = f"{__name__}.{module}"
            warnings.warn(f"{__name__}.{name} moved to {new}", DeprecationWarning, stacklevel=2)
            return getattr(importlib.import_module(new), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
