"""The site's URLs with the README's urls.py entries put before Wagtail's catch-all."""

from django.urls import include, path  # noqa: F401  (the README's entries use them)

from tests.existing_site import readme
from tests.existing_site.site_urls import urlpatterns as site_urlpatterns

urlpatterns = [eval(entry) for entry in readme.url_patterns()] + site_urlpatterns  # noqa: S307
