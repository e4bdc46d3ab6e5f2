"""In a real browser: a visitor signs up, confirms from the email's link, and the site owner
sees the proof of consent on the contact's timeline."""

import re

import pytest
from django.contrib.auth.models import User
from django.core import mail

from tests.browser.conftest import log_in
from tests.factories import make_form_page
from wagtail_flows.models import Contact

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
LINK = re.compile(r"/flows/e/confirm/[^/\s]+/")


def test_a_visitor_confirms_from_the_email_and_the_owner_sees_the_proof(
    live_server, chromium, page, artifacts
):
    User.objects.create_superuser("owner", "owner@example.com", "secret-pass")
    form = make_form_page("Newsletter")
    visitor = chromium.new_context(viewport={"width": 900, "height": 700})
    signup = visitor.new_page()
    failed = []  # responses the visitor's browser got as errors (the test site has no favicon)
    signup.on(
        "response",
        lambda r: failed.append(r.url) if r.status >= 400 and "favicon" not in r.url else None,
    )

    signup.goto(f"{live_server.url}{form.url}")
    signup.fill("#id_email", "reader@example.com")
    signup.check("#id_subscribe_to_our_newsletter")
    signup.click("form [type=submit]")
    signup.wait_for_load_state()
    assert Contact.objects.get().status == "pending"

    (path,) = set(LINK.findall(mail.outbox[-1].body))
    signup.goto(f"{live_server.url}{path}")
    assert signup.get_by_role("heading", name="Confirm your subscription").is_visible()
    signup.screenshot(path=str(artifacts / "consent-confirm.png"))
    assert Contact.objects.get().status == "pending"  # opening the link changes nothing

    signup.get_by_role("button", name="Yes, subscribe me").click()
    signup.get_by_role("heading", name="You are subscribed").wait_for()
    signup.screenshot(path=str(artifacts / "consent-confirmed.png"))
    visitor.close()
    reader = Contact.objects.get()
    assert reader.status == "subscribed" and failed == []

    log_in(page, live_server, "owner", "secret-pass")
    page.goto(f"{live_server.url}/admin/flows/contacts/edit/{reader.pk}/")
    page.get_by_role("tab", name="Timeline").click()
    proof = page.locator(".wf-timeline__entry--consent .wf-timeline__proof")
    assert proof.is_visible()
    assert "Subscribe to our newsletter" in proof.inner_text()
    assert "127.0.0.1" in proof.inner_text()
    page.screenshot(path=str(artifacts / "consent-timeline.png"), full_page=True)


def test_the_owner_chooses_the_confirmation_email_and_switches_double_opt_in(
    live_server, page, artifacts
):
    from wagtail.models import Site

    from tests.factories import make_email_page
    from wagtail_flows.models import ConsentSettings

    User.objects.create_superuser("owner", "owner@example.com", "secret-pass")
    make_email_page("Please confirm", subject="One more step")
    site = Site.objects.get(is_default_site=True)
    log_in(page, live_server, "owner", "secret-pass")

    page.goto(f"{live_server.url}/admin/settings/wagtail_flows/consentsettings/{site.pk}/")
    assert page.get_by_role("checkbox", name="Require double opt-in").is_checked()
    page.get_by_role("button", name="Choose a page").click()
    modal = page.locator(".modal-dialog")
    modal.locator("input[name=q]").fill("Please confirm")
    modal.get_by_role("link", name="Please confirm").first.click()
    page.get_by_role("checkbox", name="Require double opt-in").uncheck()
    page.screenshot(path=str(artifacts / "consent-settings.png"), full_page=True)
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Email consent updated.").wait_for()

    consent = ConsentSettings.for_site(site)
    assert consent.require_double_opt_in is False
    assert consent.confirmation_email.title == "Please confirm"
