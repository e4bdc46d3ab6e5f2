"""The package's rooms: old import paths keep working for one release, with a warning."""

import importlib
import sys

import pytest

MOVED = [
    ("wagtail_flows.middleware", "VisitorCookieMiddleware", "wagtail_flows.capture.middleware"),
    ("wagtail_flows.blocks", "StepsBlock", "wagtail_flows.flows.blocks"),
    ("wagtail_flows.tokens", "make_token", "wagtail_flows.emails.tokens"),
    ("wagtail_flows.tracking", "track", "wagtail_flows.capture"),
    ("wagtail_flows.charts", "funnel_svg", "wagtail_flows.reports.charts"),
]


@pytest.mark.parametrize("old, name, new", MOVED)
def test_an_old_module_path_still_imports_with_a_deprecation_warning(old, name, new):
    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=new):
        module = importlib.import_module(old)
    assert getattr(module, name) is getattr(importlib.import_module(new), name)


def test_the_old_emails_module_names_reach_their_new_modules():
    from wagtail_flows import emails
    from wagtail_flows.emails import bounces, delivery

    with pytest.warns(DeprecationWarning, match="wagtail_flows.emails.delivery"):
        assert emails.enqueue_delivery is delivery.enqueue_delivery
    with pytest.warns(DeprecationWarning, match="wagtail_flows.emails.bounces"):
        assert emails.record_bounce is bounces.record_bounce
    with pytest.raises(AttributeError):
        emails.no_such_name  # noqa: B018
