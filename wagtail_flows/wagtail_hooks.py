from wagtail_flows import hooks  # noqa: F401
from wagtail_flows.admin import modeladmin as admin
