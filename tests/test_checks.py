"""`manage.py check` names what would silently send nothing — SQLite without WAL, links to the
wrong host, a form feeding a marketing flow without consent, a mail server left unset — and
the activation page says the consent part too. Each check: one case that triggers it, one not."""

import os
import re
import warnings

import pytest
from django.core import checks, mail
from django.test import Client
from wagtail.models import Site

from tests.factories import make_email_page, make_form_page, make_standard_page
from wagtail_flows.models import ConsentRecord, Flow

SMTP = "django.core.mail.backends.smtp.EmailBackend"
DOCS = os.path.join(os.path.dirname(__file__), "..", "docs")
NO_CONSENT_FIELDS = [("Your name", "singleline", True), ("Your email", "email", True)]


def found(check_id):
    return [m for m in checks.run_checks() if m.id == check_id]


def with_databases(settings, databases):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Overriding setting DATABASES can lead to …"
        settings.DATABASES = databases


# --- W040: SQLite without WAL and a busy timeout -----------------------------------------


def test_sqlite_without_wal_and_timeout_is_named_with_the_exact_options(settings):
    plain = {"ENGINE": "django.db.backends.sqlite3", "NAME": "/srv/site/db.sqlite3"}
    with_databases(settings, {**settings.DATABASES, "archive": plain})
    (warning,) = found("wagtail_flows.W040")
    assert warning.msg.startswith("DATABASES['archive'] is SQLite without WAL")
    assert "IMMEDIATE transactions" in warning.msg and "busy timeout" in warning.msg
    assert "database is locked" in warning.msg
    assert (
        '"OPTIONS": {"init_command": "PRAGMA journal_mode=WAL;", '
        '"transaction_mode": "IMMEDIATE", "timeout": 20}' in warning.hint
    )


def test_sqlite_with_wal_immediate_and_a_timeout_passes(settings):
    tuned = {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": "/srv/site/db.sqlite3",
        "OPTIONS": {
            "init_command": "PRAGMA journal_mode = WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "immediate",
            "timeout": 20,
        },
    }
    with_databases(settings, {**settings.DATABASES, "archive": tuned})
    assert found("wagtail_flows.W040") == []


def test_only_what_is_missing_is_named(settings):
    half = {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": "/srv/site/db.sqlite3",
        "OPTIONS": {"init_command": "PRAGMA journal_mode=WAL;"},
    }
    with_databases(settings, {**settings.DATABASES, "archive": half})
    (warning,) = found("wagtail_flows.W040")
    assert "WAL" not in warning.msg.split(":")[0]
    assert "IMMEDIATE transactions" in warning.msg


# --- W041: the Site that holds the emails is not where WAGTAILADMIN_BASE_URL says ---------


@pytest.mark.django_db
def test_a_site_on_another_host_than_the_admin_base_url_is_named_with_the_links_host(settings):
    settings.WAGTAILADMIN_BASE_URL = "https://www.riverside.example"
    Site.objects.filter(is_default_site=True).update(hostname="127.0.0.1", port=8000)
    make_email_page()
    (warning,) = found("wagtail_flows.W041")
    assert "will use http://127.0.0.1:8000" in warning.msg
    assert "WAGTAILADMIN_BASE_URL is https://www.riverside.example" in warning.msg
    assert "Settings → Sites" in warning.hint


@pytest.mark.django_db
def test_a_site_on_port_80_behind_https_and_a_site_without_emails_pass(settings):
    settings.WAGTAILADMIN_BASE_URL = "https://www.riverside.example"
    Site.objects.filter(is_default_site=True).update(hostname="www.riverside.example", port=80)
    make_email_page()
    root = Site.objects.get(is_default_site=True).root_page.get_parent()
    shop = make_standard_page("Shop", parent=root)
    Site.objects.create(hostname="shop.riverside.example", port=8080, root_page=shop)
    assert found("wagtail_flows.W041") == []


# --- W050 and the activation page: a form feeding a marketing flow without consent -------


def marketing_flow(form_page, status="live", **fields):
    flow = Flow(name="Contact follow-up", status=status, **fields)
    flow.triggers = [("form_submitted", {"form_page": form_page})]
    flow.steps = [("send_email", {"page": make_email_page(), "subject_override": ""})]
    flow.save()
    return flow


@pytest.mark.django_db
@pytest.mark.parametrize("status", ["live", "draft"])
def test_a_form_without_consent_starting_a_marketing_flow_is_named(status):
    form = make_form_page("Contact us", fields=NO_CONSENT_FIELDS)
    flow = marketing_flow(form, status=status)
    (warning,) = found("wagtail_flows.W050")
    assert f"The form “Contact us” (page {form.pk}) has no consent checkbox" in warning.msg
    assert "contacts from this form will be pending and get no marketing email" in warning.msg
    assert f"marketing flow “Contact follow-up” (flow {flow.pk})" in warning.msg
    assert "I agree to receive emails" in warning.hint and "agree_to_receive" in warning.hint


@pytest.mark.django_db
def test_a_flow_for_any_form_names_each_live_form_without_consent():
    make_form_page("Newsletter")  # has "Subscribe to our newsletter"
    make_form_page("Contact us", fields=NO_CONSENT_FIELDS)
    marketing_flow(None)
    assert ["Contact us" in m.msg for m in found("wagtail_flows.W050")] == [True]


@pytest.mark.django_db
def test_an_agree_checkbox_or_a_transactional_flow_passes():
    agree = [*NO_CONSENT_FIELDS, ("I agree to receive emails", "checkbox", False)]
    marketing_flow(make_form_page("Contact us", fields=agree))
    marketing_flow(make_form_page("Quote", fields=NO_CONSENT_FIELDS), kind="transactional")
    marketing_flow(make_form_page("Old form", fields=NO_CONSENT_FIELDS), status="archived")
    assert found("wagtail_flows.W050") == []


@pytest.mark.django_db
def test_the_activation_page_says_the_form_gets_no_marketing_email(admin_client):
    flow = marketing_flow(make_form_page("Contact us", fields=NO_CONSENT_FIELDS), "draft")
    page = admin_client.get(f"/admin/flows/{flow.pk}/activate/")
    text = re.sub(r"\s+", " ", page.content.decode())
    assert page.status_code == 200
    assert "contacts from this form will be pending and get no marketing email" in text
    assert "I agree to receive emails" in text
    assert 'type="submit"' in text  # a warning, not a refusal: it can still go live


@pytest.mark.django_db
def test_the_activation_page_of_a_form_with_consent_warns_of_nothing(admin_client):
    flow = marketing_flow(make_form_page("Newsletter"), "draft")
    page = admin_client.get(f"/admin/flows/{flow.pk}/activate/")
    assert page.status_code == 200 and b"wf-warnings" not in page.content


@pytest.mark.django_db
def test_an_i_agree_to_receive_emails_box_asks_for_consent(django_capture_on_commit_callbacks):
    agree = [*NO_CONSENT_FIELDS, ("I agree to receive emails", "checkbox", False)]
    form = make_form_page("Contact us", fields=agree)
    data = {"your_name": "Sam", "your_email": "sam@example.com", "i_agree_to_receive_emails": "on"}
    with django_capture_on_commit_callbacks(execute=True):
        assert Client().post(form.url, data).status_code == 200
    assert ConsentRecord.objects.get().wording == "I agree to receive emails"
    assert [m.to for m in mail.outbox] == [["sam@example.com"]]  # the confirmation email


# --- W030: the mail server, precisely -----------------------------------------------------


def test_the_smtp_backend_without_email_host_names_email_host(settings):
    settings.EMAIL_BACKEND = SMTP
    (warning,) = found("wagtail_flows.W030")
    assert warning.msg.startswith("EMAIL_BACKEND is the SMTP backend but EMAIL_HOST is not set")
    assert "localhost:25" in warning.msg and "Set EMAIL_HOST" in warning.hint


def test_an_unset_email_backend_says_so(settings):
    del settings.EMAIL_BACKEND
    (warning,) = found("wagtail_flows.W030")
    assert warning.msg.startswith("EMAIL_BACKEND is not set")


def test_the_smtp_backend_with_a_host_passes(settings):
    settings.EMAIL_BACKEND = SMTP
    settings.EMAIL_HOST = "smtp.riverside.example"
    assert found("wagtail_flows.W030") == []


# --- E020: its hint points to a doc that exists --------------------------------------------


def test_the_missing_q_cluster_hint_points_to_a_real_doc(settings):
    del settings.Q_CLUSTER
    (error,) = found("wagtail_flows.E020")
    (doc,) = re.findall(r"docs/[\w.]+\.md", error.hint)
    assert os.path.exists(os.path.join(DOCS, os.path.basename(doc)))
    with open(os.path.join(DOCS, os.path.basename(doc)), encoding="utf-8") as file:
        assert "Run a cluster" in file.read()
