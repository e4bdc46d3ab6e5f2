from django.apps import apps
from django.urls import include, path

from tests.urls import urlpatterns as flows_test_urls

urlpatterns = [
    path("shop/", include(apps.get_app_config("oscar").urls[0])),
    *flows_test_urls,  # ends with Wagtail's catch-all
]
