from wagtail_flows import admin, hooks  # noqa: F401
