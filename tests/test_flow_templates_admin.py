"""The admin's "New flow from a template": a gallery grouped like the catalog, a page that asks
only what the template cannot guess, a draft flow at the end; only for people who may add
flows."""

import re

import pytest

from tests.conftest import EDITOR_PERMISSIONS, make_staff_user
from tests.factories import make_form_page
from wagtail_flows.models import EmailPage, Flow
from wagtail_flows.models.email_pages import email_pages

pytestmark = pytest.mark.django_db

GALLERY = "/admin/flows/templates/"


def test_the_gallery_shows_every_template_grouped_with_a_preview(admin_client):
    html = admin_client.get(GALLERY).content.decode()
    assert re.search(r"<h1[^>]*>\s*New flow from a template\s*</h1>", html)
    for group in (
        "Acquisition and welcome",
        "Interest and engagement",
        "Commerce",
        "Retention and feedback",
    ):
        assert group in html
    assert html.count('class="wf-card"') == 22
    assert "Abandoned cart" in html and 'id="template-abandoned-cart"' in html
    assert "wf-diagram" in html and "Leaves a cart for 4 hours" in html
    assert f'href="{GALLERY}abandoned-cart/"' in html


def test_choosing_a_template_asks_for_its_settings_with_defaults(admin_client):
    html = admin_client.get(GALLERY + "abandoned-cart/").content.decode()
    assert re.search(r"<h1[^>]*>\s*New flow: Abandoned cart", html)
    assert 'name="after_hours"' in html and 'value="4"' in html
    assert 'name="coupon_code"' in html and "COMEBACK5" in html


def test_using_a_template_creates_the_draft_flow_and_emails_then_opens_the_flow(admin_client):
    form = make_form_page("Newsletter")
    response = admin_client.post(GALLERY + "welcome-series/", {"form_page": form.pk})
    flow = Flow.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/admin/flows/edit/{flow.pk}/"
    assert flow.status == "draft" and flow.triggers[0].value["form_page"].pk == form.pk
    assert len(email_pages(flow)) == 3 and not EmailPage.objects.filter(live=True).exists()
    assert admin_client.get(response["Location"]).status_code == 200


def test_a_missing_setting_is_named_and_nothing_is_created(admin_client):
    response = admin_client.post(GALLERY + "upsell/", {"sku": "", "wait_days": "7"})
    assert response.status_code == 400
    assert "This field is required" in response.content.decode()
    assert not Flow.objects.exists() and not EmailPage.objects.exists()


def test_an_unknown_template_is_not_found(admin_client):
    assert admin_client.get(GALLERY + "nope/").status_code == 404


def test_people_who_may_not_add_flows_cannot_use_templates(client):
    viewer = make_staff_user("viewer", "view_flow")
    client.force_login(viewer)
    assert client.get(GALLERY).status_code == 302
    response = client.post(GALLERY + "purchase-list-move/", {})
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert not Flow.objects.exists()


def test_an_editor_who_may_add_flows_and_lists_can_use_templates(client):
    client.force_login(make_staff_user("planner", *EDITOR_PERMISSIONS, "add_contactlist"))
    assert client.get(GALLERY).status_code == 200
    response = client.post(GALLERY + "purchase-list-move/", {})
    assert response.status_code == 302 and Flow.objects.count() == 1
