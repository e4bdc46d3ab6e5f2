from django.urls import include, path
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.api.v2.router import WagtailAPIRouter
from wagtail.api.v2.views import PagesAPIViewSet
from wagtail.contrib.sitemaps.views import sitemap
from wagtail.documents import urls as wagtaildocs_urls

# A site's public API and sitemap as Wagtail's docs set them up: email pages stay out of both
# (tests/test_email_pages_public.py).
api_router = WagtailAPIRouter("wagtailapi")
api_router.register_endpoint("pages", PagesAPIViewSet)

urlpatterns = [
    path("admin/", include(wagtailadmin_urls)),
    path("documents/", include(wagtaildocs_urls)),
    path("flows/", include("wagtail_flows.urls")),
    path("anymail/", include("anymail.urls")),  # the ESPs' tracking webhooks (test_anymail.py)
    path("api/v2/", api_router.urls),
    path("sitemap.xml", sitemap),
    path("", include(wagtail_urls)),
]
