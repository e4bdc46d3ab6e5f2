from django.urls import include, path
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.documents import urls as wagtaildocs_urls

urlpatterns = [
    path("admin/", include(wagtailadmin_urls)),
    path("documents/", include(wagtaildocs_urls)),
    path("flows/", include("wagtail_flows.urls")),
    path("anymail/", include("anymail.urls")),  # the ESPs' tracking webhooks (test_anymail.py)
    path("", include(wagtail_urls)),
]
