"""Consent that can be proven (GDPR Art. 7(1)): a public form only asks; the person's
confirmed click subscribes them (double opt-in), and the proof stays on their contact.

Every visitor here is a browser without cookies posting a Wagtail form, as the outside probe
of issue #14 did; every email goes through the real delivery path into Django's outbox.
"""

import re
from datetime import timedelta
from unittest import mock

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone
from wagtail.models import Site

from tests.conftest import make_staff_user
from tests.factories import ContactFactory, make_email_page, make_form_page
from wagtail_flows import gdpr
from wagtail_flows.models import (
    ConsentRecord,
    ConsentSettings,
    Contact,
    Enrollment,
    Flow,
    Message,
    Suppression,
)

pytestmark = pytest.mark.django_db
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0"
CONSENT = "subscribe_to_our_newsletter"
HELP_TEXT = "One email a week. Unsubscribe from any of them."
ASKED = "Please confirm your subscription to Flows tests"  # the built-in email's subject
LINK = re.compile(r"https?://[^/\s\"]+(/flows/e/confirm/[^/\s\"]+/)")


@pytest.fixture
def form_page():
    page = make_form_page("Newsletter")
    page.form_fields.filter(field_type="checkbox").update(help_text=HELP_TEXT)
    return page


@pytest.fixture
def welcome(form_page):
    """A live marketing flow: everyone who sends the newsletter form gets "Welcome!"."""
    flow = Flow(name="Welcome", status="live")
    flow.triggers = [("form_submitted", {"form_page": form_page})]
    flow.steps = [("send_email", {"page": make_email_page("Welcome", subject="Welcome!")})]
    flow.save()
    return flow


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run what happens after commit (dispatch, flows, delivery), as in production."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def site_consent():
    return ConsentSettings.for_site(Site.objects.get(is_default_site=True))


def double_opt_in(on):
    consent = site_consent()
    consent.require_double_opt_in = on
    consent.save()


def sign_up(committed, page, email, ip="203.0.113.7", **fields):
    browser = Client(headers={"user-agent": BROWSER}, REMOTE_ADDR=ip)  # no cookies
    with committed():
        response = browser.post(page.url, {"email": email, CONSENT: "on", **fields})
    assert response.status_code == 200
    return browser


def confirmation_path(email):
    (path,) = set(LINK.findall(email.body))
    return path


def confirm(committed, path, ip="198.51.100.9"):
    clicker = Client(headers={"user-agent": BROWSER}, REMOTE_ADDR=ip)
    with committed():
        return clicker.post(path)


def subjects():
    return [email.subject for email in mail.outbox]


# --- double opt-in, the default ------------------------------------------------------------------


def test_a_new_address_gets_one_confirmation_email_and_stays_pending(
    committed, form_page, welcome
):
    sign_up(committed, form_page, "Ann@Example.com")

    ann = Contact.objects.get(email="ann@example.com")
    assert ann.status == "pending" and ann.consent_at is None
    assert not ann.can_receive_email()
    (email,) = mail.outbox
    assert email.to == ["ann@example.com"]
    assert email.subject == ASKED
    assert confirmation_path(email).startswith("/flows/e/confirm/")
    assert "List-Unsubscribe" not in email.extra_headers  # it is no marketing email
    assert "/flows/e/o/" not in email.alternatives[0][0]  # no open pixel, no tracked links
    # The marketing flow waits for the confirmation: no run, no "Welcome!" queued.
    assert not Enrollment.objects.exists()
    assert list(Message.objects.values_list("consent__email", "status")) == [
        ("ann@example.com", "sent")
    ]


def test_the_link_shows_a_button_and_only_its_post_subscribes_with_the_proof(
    committed, form_page, welcome
):
    sign_up(committed, form_page, "ann@example.com", first_name="Ann", ip="203.0.113.7")
    path = confirmation_path(mail.outbox[0])
    scanner = Client(headers={"user-agent": "Barracuda link scanner"})

    page = scanner.get(path)  # what a mail scanner fetches

    assert page.status_code == 200 and b"Yes, subscribe me" in page.content
    assert b'method="post"' in page.content
    assert Contact.objects.get().status == "pending"

    done = confirm(committed, path, ip="198.51.100.9")

    assert done.status_code == 200 and b"You are subscribed" in done.content
    ann = Contact.objects.get()
    assert ann.status == "subscribed" and ann.consent_at is not None
    proof = ConsentRecord.objects.get()
    assert (proof.method, proof.email, proof.source) == (
        "double_opt_in",
        "ann@example.com",
        "form: Newsletter",
    )
    assert proof.wording == f"Subscribe to our newsletter\n{HELP_TEXT}"
    assert (proof.page_id, proof.page_title) == (form_page.pk, "Newsletter")
    assert proof.page_url == f"http://localhost{form_page.url}"
    assert (proof.requested_ip, proof.confirmed_ip) == ("203.0.113.7", "198.51.100.9")
    assert proof.requested_at <= proof.confirmation_sent_at <= proof.confirmed_at
    assert proof.confirmed_at == ann.consent_at
    # Now the marketing flow takes the submission: "Welcome!" goes out, once.
    assert subjects() == [ASKED, "Welcome!"]
    assert Enrollment.objects.get().trigger_event == proof.event


def test_a_link_confirmed_twice_subscribes_once(committed, form_page, welcome):
    sign_up(committed, form_page, "ann@example.com")
    path = confirmation_path(mail.outbox[0])
    confirm(committed, path)

    again = confirm(committed, path)

    assert again.status_code == 200 and b"You are subscribed" in again.content
    assert subjects().count("Welcome!") == 1 and Enrollment.objects.count() == 1


def test_an_old_link_never_resubscribes_someone_who_unsubscribed_since(committed, form_page):
    sign_up(committed, form_page, "ann@example.com")
    path = confirmation_path(mail.outbox[0])
    confirm(committed, path)
    Contact.objects.get().unsubscribe(reason="link")

    response = confirm(committed, path)

    assert response.status_code == 410
    assert Contact.objects.get().status == "unsubscribed"


def test_the_proof_is_on_the_contacts_timeline_in_the_admin(committed, form_page, admin_client):
    sign_up(committed, form_page, "ann@example.com", ip="203.0.113.7")
    confirm(committed, confirmation_path(mail.outbox[0]), ip="198.51.100.9")
    ann = Contact.objects.get()

    html = admin_client.get(f"/admin/flows/contacts/edit/{ann.pk}/").content.decode()

    assert "wf-timeline__entry--consent" in html and "Marketing consent given" in html
    assert "Confirmed by email (double opt-in)" in html
    for proof in ("Subscribe to our newsletter", HELP_TEXT, "Newsletter (http://localhost/"):
        assert proof in html, proof
    assert "from 203.0.113.7" in html and "from 198.51.100.9" in html


# --- addresses that said no ----------------------------------------------------------------------


def test_an_unsubscribed_contact_stays_unsubscribed_until_confirming_even_with_the_setting_off(
    committed, form_page, welcome
):
    double_opt_in(False)
    ContactFactory(email="cy@example.com", status="unsubscribed")

    sign_up(committed, form_page, "cy@example.com")

    cy = Contact.objects.get()
    assert cy.status == "unsubscribed"
    assert subjects() == [ASKED]
    assert not Enrollment.objects.exists()

    confirm(committed, confirmation_path(mail.outbox[0]))

    cy.refresh_from_db()
    assert cy.status == "subscribed"
    assert subjects()[-1] == "Welcome!"


@pytest.mark.parametrize("status", ["bounced", "complained"])
def test_a_bounced_or_complained_address_gets_no_confirmation_and_stays_so(
    committed, form_page, status
):
    ContactFactory(email="dee@example.com", status=status)

    sign_up(committed, form_page, "dee@example.com")

    assert Contact.objects.get().status == status
    assert mail.outbox == [] and not ConsentRecord.objects.exists()


def test_a_suppressed_address_gets_no_confirmation(committed, form_page):
    Suppression.objects.create(
        email_hash=Suppression.hash_email("eve@example.com"), reason="erased"
    )

    sign_up(committed, form_page, "eve@example.com")

    assert Contact.objects.get().status == "pending"
    assert mail.outbox == [] and not ConsentRecord.objects.exists()


# --- bad links -----------------------------------------------------------------------------------


def test_a_tampered_link_is_a_400_and_changes_nothing(committed, form_page):
    sign_up(committed, form_page, "ann@example.com")
    path = confirmation_path(mail.outbox[0])
    token = path.rstrip("/").rsplit("/", 1)[1]
    record_id, rest = token.split(".", 1)
    forged = path.replace(token, f"{int(record_id) + 1}.{rest}")

    for response in (Client().get(forged), confirm(committed, forged)):
        assert response.status_code == 400 and b"This link does not work" in response.content
    assert Contact.objects.get().status == "pending"
    assert ConsentRecord.objects.get().confirmed_at is None


def test_an_expired_link_is_a_410_and_changes_nothing(committed, form_page):
    sign_up(committed, form_page, "ann@example.com")
    path = confirmation_path(mail.outbox[0])
    eight_days_later = timezone.now() + timedelta(days=8)

    with mock.patch("django.utils.timezone.now", return_value=eight_days_later):
        shown, posted = Client().get(path), confirm(committed, path)

    for response in (shown, posted):
        assert response.status_code == 410 and b"This link has expired" in response.content
    assert Contact.objects.get().status == "pending"
    assert ConsentRecord.objects.get().confirmed_at is None


def test_the_link_lifetime_is_a_setting(committed, form_page, settings):
    settings.WAGTAIL_FLOWS = {**settings.WAGTAIL_FLOWS, "CONSENT_CONFIRMATION_DAYS": 1}
    sign_up(committed, form_page, "ann@example.com")
    path = confirmation_path(mail.outbox[0])
    assert "The button works for 1 day." in mail.outbox[0].body

    with mock.patch("django.utils.timezone.now", return_value=timezone.now() + timedelta(days=2)):
        assert Client().get(path).status_code == 410


# --- resubmissions -------------------------------------------------------------------------------


def test_resubmitting_the_form_sends_no_second_confirmation_within_the_window(
    committed, form_page, welcome
):
    sign_up(committed, form_page, "ann@example.com")
    sign_up(committed, form_page, "ann@example.com")

    assert len(mail.outbox) == 1
    assert ConsentRecord.objects.count() == 2  # each request keeps its own proof

    eleven_minutes_later = timezone.now() + timedelta(minutes=11)
    with mock.patch("django.utils.timezone.now", return_value=eleven_minutes_later):
        sign_up(committed, form_page, "ann@example.com")
    assert len(mail.outbox) == 2

    confirm(committed, confirmation_path(mail.outbox[0]))  # the first email answers them all

    assert not ConsentRecord.objects.filter(confirmed_at__isnull=True).exists()
    assert subjects().count("Welcome!") == 1


def test_a_form_cannot_flood_an_inbox_with_confirmations(committed, form_page):
    """Someone submits a stranger's address every quarter of an hour: three emails that day,
    then none until a day has passed."""
    start = timezone.now()
    for quarter in range(8):
        at = start + timedelta(minutes=15 * quarter)
        with mock.patch("django.utils.timezone.now", return_value=at):
            sign_up(committed, form_page, "stranger@example.com")
    assert len(mail.outbox) == 3

    with mock.patch("django.utils.timezone.now", return_value=start + timedelta(days=1, hours=1)):
        sign_up(committed, form_page, "stranger@example.com")
    assert len(mail.outbox) == 4


def test_a_request_older_than_the_link_lifetime_is_never_confirmed(committed, form_page):
    sign_up(committed, form_page, "ann@example.com")
    record = ConsentRecord.objects.get()

    assert not record.confirm(at=timezone.now() + timedelta(days=8))

    record.refresh_from_db()
    assert record.confirmed_at is None
    assert Contact.objects.get(email="ann@example.com").status == "pending"


# --- single opt-in, where the site owner chose it ------------------------------------------------


def test_a_site_owner_switches_double_opt_in_off_in_the_settings(client, form_page):
    owner = make_staff_user("owner", "change_consentsettings")
    client.force_login(owner)
    site = Site.objects.get(is_default_site=True)
    url = f"/admin/settings/wagtail_flows/consentsettings/{site.pk}/"
    assert b"Require double opt-in" in client.get(url).content

    response = client.post(url, {"confirmation_email": ""})  # the box unticked

    assert response.status_code == 302
    assert site_consent().require_double_opt_in is False


def test_with_the_setting_off_a_new_address_is_subscribed_at_once_with_its_proof(
    committed, form_page, welcome
):
    double_opt_in(False)

    sign_up(committed, form_page, "ann@example.com")

    ann = Contact.objects.get()
    assert ann.status == "subscribed"
    assert subjects() == ["Welcome!"]  # no confirmation email; the flow starts at once
    proof = ConsentRecord.objects.get()
    assert proof.method == "single_opt_in" and proof.confirmed_at == ann.consent_at
    assert proof.wording.startswith("Subscribe to our newsletter") and proof.requested_ip


def test_double_opt_in_is_on_for_a_new_site():
    assert site_consent().require_double_opt_in is True


# --- what else a form starts ---------------------------------------------------------------------


def test_flows_that_send_no_marketing_email_start_at_the_submission(committed, form_page):
    tag = Flow(name="Tag sign-ups", status="live")
    tag.triggers = [("form_submitted", {"form_page": form_page})]
    tag.steps = [("add_tag", {"tag": "signed-up"})]
    tag.save()
    receipt = Flow(name="Receipt", status="live", kind="transactional")
    receipt.triggers = [("form_submitted", {"form_page": form_page})]
    receipt.steps = [("send_email", {"page": make_email_page("Receipt", subject="We got it")})]
    receipt.save()

    sign_up(committed, form_page, "ann@example.com")

    ann = Contact.objects.get()
    assert ann.status == "pending"
    assert set(ann.enrollments.values_list("flow__name", flat=True)) == {"Tag sign-ups", "Receipt"}
    assert sorted(subjects()) == [ASKED, "We got it"]

    confirm(committed, confirmation_path(mail.outbox[subjects().index(ASKED)]))

    assert ann.enrollments.count() == 2  # confirming starts neither again


def test_a_form_without_the_box_ticked_asks_nothing(committed, form_page):
    browser = Client(headers={"user-agent": BROWSER})
    with committed():
        browser.post(form_page.url, {"email": "ben@example.com"})
    assert Contact.objects.get().status == "pending"
    assert mail.outbox == [] and not ConsentRecord.objects.exists()


def test_shop_orders_and_tracked_events_grant_no_consent(committed):
    from wagtail_flows import signals, track

    with committed():
        signals.order_placed.send(sender=None, email="fay@example.com", order_id="1")
        track("custom_thing", email="gus@example.com")

    assert set(Contact.objects.values_list("status", flat=True)) == {"pending"}
    assert mail.outbox == [] and not ConsentRecord.objects.exists()


# --- the confirmation email ----------------------------------------------------------------------


def test_the_confirmation_email_takes_the_editors_words_from_the_chosen_email_page(
    committed, form_page
):
    consent = site_consent()
    consent.confirmation_email = make_email_page(
        "Please confirm",
        subject="One more step, {{ contact.first_name|default:'friend' }}",
        body=[("heading", "Almost there!"), ("text", "<p>Tap the button below.</p>")],
    )
    consent.save()

    sign_up(committed, form_page, "ann@example.com", first_name="Ann")

    (email,) = mail.outbox
    html = email.alternatives[0][0]
    assert email.subject == "One more step, Ann"
    assert "Almost there!" in html and "Tap the button below." in html
    assert "Yes, subscribe me" in html and confirmation_path(email) in html
    assert "/flows/e/c/" not in html and "Unsubscribe" not in html  # no tracking, no list links
    assert Message.objects.get().page == consent.confirmation_email


def test_an_unpublished_email_page_falls_back_to_the_built_in_email(committed, form_page):
    consent = site_consent()
    consent.confirmation_email = make_email_page("Draft", subject="Draft", publish=False)
    consent.save()

    sign_up(committed, form_page, "ann@example.com")

    assert subjects() == [ASKED]
    assert "If you did not ask for this, ignore this email" in mail.outbox[0].body


# --- erase ---------------------------------------------------------------------------------------


def test_erasing_a_contact_removes_its_proof_and_ip_addresses(committed, form_page):
    sign_up(committed, form_page, "ann@example.com", ip="203.0.113.7")
    confirm(committed, confirmation_path(mail.outbox[0]), ip="198.51.100.9")

    gdpr.erase_contact(Contact.objects.get())

    assert not ConsentRecord.objects.exists() and not Message.objects.exists()
