from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "demo"
    verbose_name = "Green Spoon demo"
    default_auto_field = "django.db.models.BigAutoField"
