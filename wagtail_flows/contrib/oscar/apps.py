from django.apps import AppConfig


class FlowsOscarConfig(AppConfig):
    name = "wagtail_flows.contrib.oscar"
    label = "wagtail_flows_oscar"
    verbose_name = "Flows for django-oscar"

    def ready(self):
        from wagtail_flows.contrib.oscar.receivers import connect

        connect()
