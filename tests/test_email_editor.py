"""An editor writes an email page in the admin: a button without a link or page is an error
on the block, never a server error (Wagtail's autosave posts the half-written form)."""

import pytest
from wagtail.test.utils.form_data import nested_form_data, streamfield

from tests.factories import make_email_library
from wagtail_flows.models import EmailPage

pytestmark = pytest.mark.django_db


def email_form(button):
    return nested_form_data(
        {
            "title": "Spring sale",
            "slug": "spring-sale",
            "subject": "Our spring sale",
            "preheader": "",
            "from_name": "",
            "from_email": "",
            "reply_to": "",
            "body": streamfield([("button", button)]),
        }
    )


def test_a_button_without_a_link_or_page_is_named_on_the_block(admin_client):
    library = make_email_library()
    url = f"/admin/pages/add/wagtail_flows/emailpage/{library.pk}/"
    button = {"text": "Shop now", "url": "", "page": "", "align": "center"}

    response = admin_client.post(url, email_form(button))

    assert response.status_code == 200
    assert "Give a link or choose a page." in response.content.decode()
    assert not EmailPage.objects.exists()


def test_a_button_with_a_link_saves(admin_client):
    library = make_email_library()
    url = f"/admin/pages/add/wagtail_flows/emailpage/{library.pk}/"
    button = {"text": "Shop now", "url": "https://example.com/sale", "page": "", "align": "center"}

    response = admin_client.post(url, email_form(button))

    assert response.status_code == 302
    assert EmailPage.objects.get().body[0].value["url"] == "https://example.com/sale"


def test_the_email_title_says_who_sees_it_not_wagtails_public_page_wording(admin_client):
    library = make_email_library()
    form = admin_client.get(f"/admin/pages/add/wagtail_flows/emailpage/{library.pk}/")
    html = form.content.decode()
    assert "Only editors see it; readers see the subject." in html
    assert "as you'd like it to be seen by the public" not in html
