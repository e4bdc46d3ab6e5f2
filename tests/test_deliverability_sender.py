"""Sender identity: who marketing emails come from, and the postal address every one carries
(Settings › Email sender, per site); a marketing flow whose emails would miss it cannot go live.
"""

import pytest
from django.core import mail
from wagtail.models import Site

from tests.conftest import make_staff_user
from tests.factories import ContactFactory, make_email_page
from tests.test_admin import action_url, make_flow, messages_of
from wagtail_flows.emails import rendering
from wagtail_flows.emails.delivery import deliver_message
from wagtail_flows.models import Message, SenderSettings

pytestmark = pytest.mark.django_db

ADDRESS = "Green Spoon Kitchen Supplies\n12 Market Street\nAmsterdam 1011 AB"


@pytest.fixture
def sender():
    settings_ = SenderSettings.for_site(Site.objects.get(is_default_site=True))
    settings_.from_name, settings_.from_email = "Green Spoon", "hello@greenspoon.example"
    settings_.reply_to, settings_.postal_address = "help@greenspoon.example", ADDRESS
    settings_.save()
    return settings_


@pytest.fixture
def no_fallback(settings):
    settings.WAGTAIL_FLOWS = {**settings.WAGTAIL_FLOWS, "POSTAL_ADDRESS": ""}


@pytest.fixture
def publisher():
    return make_staff_user("publisher", "change_flow", "view_flow", "activate_flow")


def send(page):
    contact = ContactFactory()
    message = Message.objects.create(contact=contact, page=page, to_email=contact.email)
    assert deliver_message(message.pk) == "sent"
    return mail.outbox[-1]


def test_every_email_carries_the_sites_sender_and_postal_address(sender):
    email = send(make_email_page())
    html = email.alternatives[0][0]
    assert email.from_email == "Green Spoon <hello@greenspoon.example>"
    assert email.reply_to == ["help@greenspoon.example"]
    assert "Green Spoon Kitchen Supplies<br>12 Market Street<br>Amsterdam 1011 AB" in html
    assert "12 Market Street" in email.body  # the plain-text part too


def test_an_email_page_may_name_its_own_sender(sender):
    email = send(make_email_page(from_name="Chef Ann", from_email="ann@greenspoon.example"))
    assert email.from_email == "Chef Ann <ann@greenspoon.example>"


def test_a_changed_address_is_in_the_next_email_though_renders_are_cached(sender):
    page = make_email_page()
    send(page)
    sender.postal_address = "Green Spoon\n1 New Road\nUtrecht"
    sender.save()
    assert "1 New Road" in send(page).alternatives[0][0]


def test_without_a_site_address_the_settings_fallback_is_printed():
    html = send(make_email_page()).alternatives[0][0]
    assert "Example Ltd, 1 Test Street, Testville" in html  # WAGTAIL_FLOWS["POSTAL_ADDRESS"]


def test_a_marketing_flow_without_a_postal_address_cannot_go_live(client, publisher, no_fallback):
    flow = make_flow()
    client.force_login(publisher)
    confirm = client.get(action_url(flow, "activate")).content.decode()
    assert "cannot go live yet" in confirm
    assert "has no postal address to carry: set it in Settings › Email sender" in confirm

    response = client.post(action_url(flow, "activate"), follow=True)
    flow.refresh_from_db()
    assert flow.status == "draft"
    assert any("Email sender" in line for line in messages_of(response))


def test_with_the_address_set_it_goes_live(client, publisher, no_fallback, sender):
    flow = make_flow()
    client.force_login(publisher)
    client.post(action_url(flow, "activate"))
    flow.refresh_from_db()
    assert flow.status == "live"


def test_a_transactional_flow_needs_no_postal_address(client, publisher, no_fallback):
    flow = make_flow(kind="transactional")
    client.force_login(publisher)
    client.post(action_url(flow, "activate"))
    flow.refresh_from_db()
    assert flow.status == "live"


def test_a_template_whose_footer_drops_the_links_is_refused(client, publisher, monkeypatch):
    monkeypatch.setattr(rendering, "PAGE_TEMPLATE", "tests/email_without_footer.html")
    flow = make_flow()
    client.force_login(publisher)
    confirm = client.get(action_url(flow, "activate")).content.decode()
    assert "would go out without the unsubscribe link and the postal address" in confirm
    client.post(action_url(flow, "activate"))
    flow.refresh_from_db()
    assert flow.status == "draft"


def test_a_site_owner_sets_the_sender_in_settings(admin_client):
    site = Site.objects.get(is_default_site=True)
    url = f"/admin/settings/wagtail_flows/sendersettings/{site.pk}/"
    assert admin_client.get(url).status_code == 200
    response = admin_client.post(
        url,
        {
            "from_name": "Green Spoon",
            "from_email": "hello@greenspoon.example",
            "reply_to": "",
            "postal_address": ADDRESS,
        },
    )
    assert response.status_code == 302
    assert SenderSettings.for_site(site).postal_address.replace("\r\n", "\n") == ADDRESS


def test_a_bad_sender_address_is_refused_naming_the_field(admin_client):
    site = Site.objects.get(is_default_site=True)
    url = f"/admin/settings/wagtail_flows/sendersettings/{site.pk}/"
    response = admin_client.post(url, {"from_email": "not an address", "postal_address": "x"})
    assert response.status_code == 200
    assert "Enter a valid email address." in response.content.decode()
    assert SenderSettings.for_site(site).postal_address == ""


def test_the_editors_diagram_names_the_missing_address_above_the_drawing(
    admin_client, no_fallback
):
    flow = make_flow()
    edit = admin_client.get(f"/admin/flows/edit/{flow.pk}/").content.decode()
    assert "has no postal address to carry" in edit
