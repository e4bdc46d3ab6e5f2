from wagtail_flows import hooks  # noqa: F401
from wagtail_flows.admin import modeladmin  # noqa: F401  (registers the Flows menu)
