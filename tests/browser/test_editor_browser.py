"""In a real browser: an editor writes an email page, previews it as an email and as plain
text, publishes it and sends themselves a test."""

import pytest
from django.contrib.auth.models import User
from django.core import mail

from tests.browser.conftest import log_in, show_plain_text
from tests.factories import make_email_library
from wagtail_flows.models import EmailPage

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def editor(transactional_db):
    return User.objects.create_superuser("editor", "editor@example.com", "secret-pass")


def test_an_editor_writes_previews_publishes_and_tests_an_email(
    live_server, page, editor, artifacts
):
    library = make_email_library()
    log_in(page, live_server, "editor", "secret-pass")
    page.goto(f"{live_server.url}/admin/pages/add/wagtail_flows/emailpage/{library.pk}/")
    page.fill("#id_title", "Welcome aboard")
    page.fill("#id_subject", "Welcome, {{ contact.first_name }}")
    page.locator(".c-sf-add-button").first.click()
    page.get_by_role("option", name="Heading", exact=True).click()
    page.locator('[name="body-0-value"]').fill("Hello {{ contact.first_name }}!")

    # The preview shows the email personalised for a sample contact, then as plain text.
    page.get_by_role("button", name="Toggle preview").click()
    page.frame_locator("#w-preview-iframe").get_by_text("Hello Ann!").first.wait_for()
    show_plain_text(page, "Subject: Welcome, Ann")
    preview = page.frame_locator("#w-preview-iframe")
    assert "Hello Ann!" in preview.locator("body").inner_text()
    page.screenshot(path=str(artifacts / "email-preview-text.png"))

    page.locator("[data-w-dropdown-target='toggle']").last.click()
    page.locator("button[name=action-publish]").click()
    page.wait_for_load_state()
    email = EmailPage.objects.get(title="Welcome aboard")
    assert email.live

    page.goto(f"{live_server.url}/admin/flows-emails/{email.pk}/send-test/")
    page.fill("#id_to", "colleague@example.com")
    page.get_by_role("button", name="Send test").click()
    page.wait_for_url(f"{live_server.url}/admin/pages/{email.pk}/edit/")
    assert [(m.to, m.subject) for m in mail.outbox] == [  # one message each
        (["colleague@example.com"], "[Test] Welcome, Ann"),
        (["editor@example.com"], "[Test] Welcome, Ann"),
    ]
