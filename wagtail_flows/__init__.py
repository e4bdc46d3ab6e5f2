"""Marketing-automation flows for Wagtail sites."""

__version__ = "0.1.0.dev0"


def track(kind_or_name, **kwargs):
    """Record one event on a contact's timeline; see ``wagtail_flows.capture.track.track``."""
    from wagtail_flows.capture.track import track as _track

    return _track(kind_or_name, **kwargs)
