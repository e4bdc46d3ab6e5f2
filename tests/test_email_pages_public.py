"""Email pages are never public: a visitor, a crawler or an API client learns nothing of them
(not their titles, slugs or URLs) through the site's pages API, its sitemap, its search or a
guessed URL, while editors still find them in the admin."""

import pytest
from django.core.management import call_command
from wagtail.models import Page, PageViewRestriction
from wagtail.search import index

from tests.conftest import make_staff_user
from tests.factories import make_email_library, make_email_page, make_standard_page
from wagtail_flows.models import EmailPage

pytestmark = pytest.mark.django_db


@pytest.fixture
def site_pages():
    about = make_standard_page("About our garden")
    email = make_email_page(
        "Secret spring sale", subject="Spring: 40% off for {{ contact.email }}"
    )
    return {"about": about, "email": email, "library": email.get_parent()}


def titles(response):
    assert response.status_code == 200, response.content
    return [item["title"] for item in response.json()["items"]]


def test_the_public_pages_api_lists_site_pages_but_no_email_page(client, site_pages):
    listed = titles(client.get("/api/v2/pages/"))
    assert "About our garden" in listed
    assert "Secret spring sale" not in listed and "Emails" not in listed
    assert titles(client.get("/api/v2/pages/", {"type": "wagtail_flows.EmailPage"})) == []
    assert titles(client.get("/api/v2/pages/", {"search": "spring"})) == []
    email = site_pages["email"]
    assert client.get(f"/api/v2/pages/{email.pk}/").status_code == 404
    found = client.get("/api/v2/pages/find/", {"html_path": email.url_path})
    assert found.status_code == 404


def test_a_logged_in_member_of_staff_does_not_get_them_from_the_api_either(client, site_pages):
    client.force_login(make_staff_user("member"))
    listed = titles(client.get("/api/v2/pages/"))
    assert "About our garden" in listed and "Secret spring sale" not in listed


def test_the_sitemap_has_site_pages_but_no_email_page(client, site_pages):
    response = client.get("/sitemap.xml")
    assert response.status_code == 200
    xml = response.content.decode()
    assert "about-our-garden" in xml
    assert "secret-spring-sale" not in xml and "/emails/" not in xml


def test_no_search_finds_email_pages(admin_client, site_pages):
    def found_by_site_search(words):
        return [page.title for page in Page.objects.live().search(words)]

    assert found_by_site_search("garden") == ["About our garden"]
    assert found_by_site_search("spring") == [] and found_by_site_search("Emails") == []
    assert list(Page.objects.live().autocomplete("Secret spr")) == []
    # The admin's searches answer (editors browse the email library instead).
    admin_search = admin_client.get("/admin/pages/search/", {"q": "Secret spr"})
    assert admin_search.status_code == 200
    chooser = admin_client.get(
        "/admin/choose-page/search/", {"q": "Secret", "page_type": "wagtail_flows.emailpage"}
    )
    assert chooser.status_code == 200


def test_a_guessed_email_page_url_is_a_plain_404(client, site_pages):
    for page in (site_pages["email"], site_pages["library"]):
        response = client.get(page.url)
        assert response.status_code == 404  # not a redirect to the login page


def test_the_library_is_private_and_saving_puts_a_removed_restriction_back(site_pages):
    library = site_pages["library"]
    restriction = PageViewRestriction.objects.get(page=library)
    assert restriction.restriction_type == "groups" and not restriction.groups.exists()
    assert not PageViewRestriction.objects.filter(page=site_pages["email"]).exists()  # inherited
    restriction.delete()
    library.save_revision().publish()
    assert PageViewRestriction.objects.filter(page=library, restriction_type="groups").exists()


def test_email_pages_made_before_the_upgrade_become_private_at_migrate(
    client, site_pages, monkeypatch
):
    # A site from before: its library was public and its emails were in the search index.
    PageViewRestriction.objects.all().delete()
    with monkeypatch.context() as old_code:
        old_code.setattr(EmailPage, "search_fields", Page.search_fields)
        index.insert_or_update_object(site_pages["email"])
    assert "Secret spring sale" in titles(client.get("/api/v2/pages/"))
    assert [page.title for page in Page.objects.live().search("spring")] == ["Secret spring sale"]

    call_command("migrate", verbosity=0)

    assert list(PageViewRestriction.objects.values_list("page", flat=True)) == [
        site_pages["library"].pk
    ]
    assert "Secret spring sale" not in titles(client.get("/api/v2/pages/"))
    assert list(Page.objects.live().search("spring")) == []


def test_an_email_library_made_anywhere_is_private_from_its_creation():
    library = make_email_library(parent=make_standard_page("Campaigns"))
    assert library.get_view_restrictions().filter(restriction_type="groups").exists()
