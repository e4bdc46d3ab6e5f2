from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WagtailFlowsConfig(AppConfig):
    name = "wagtail_flows"
    label = "wagtail_flows"
    verbose_name = _("Flows")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from wagtail_flows import checks, receivers  # noqa: F401  (registers checks, receivers)
