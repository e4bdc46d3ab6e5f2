"""The package installs, configures and checks itself the way a developer expects."""

import pytest
from django.core import checks
from django.core.management import call_command

from tests.factories import make_email_page, make_form_page, make_standard_page


def run_checks():
    return [m for m in checks.run_checks() if m.id and m.id.startswith("wagtail_flows.")]


def test_default_settings_pass_system_checks(db):
    assert run_checks() == []


def test_unknown_flows_setting_is_named(settings):
    settings.WAGTAIL_FLOWS = {"TRACKING_CONSENT": "always", "SWEEP_BATCHSIZE": 10}
    messages = run_checks()
    assert [m.id for m in messages] == ["wagtail_flows.E011"]
    assert "SWEEP_BATCHSIZE" in messages[0].msg


def test_bad_consent_mode_is_named(settings):
    settings.WAGTAIL_FLOWS = {"TRACKING_CONSENT": "sometimes"}
    messages = run_checks()
    assert [m.id for m in messages] == ["wagtail_flows.E012"]
    assert "TRACKING_CONSENT" in messages[0].msg


def test_missing_q_cluster_is_an_error(settings):
    del settings.Q_CLUSTER
    assert "wagtail_flows.E020" in [m.id for m in run_checks()]


def test_timeout_not_below_retry_is_an_error(settings):
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "timeout": 120, "retry": 60}
    assert "wagtail_flows.E021" in [m.id for m in run_checks()]


def test_unset_email_backend_is_a_warning(settings):
    del settings.EMAIL_BACKEND
    assert "wagtail_flows.W030" in [m.id for m in run_checks()]


def test_missing_django_q_is_named(monkeypatch):
    from django.apps import apps

    installed = apps.is_installed
    monkeypatch.setattr(apps, "is_installed", lambda name: name != "django_q" and installed(name))
    messages = [m for m in run_checks() if "django_q" in m.msg]
    assert messages and messages[0].level == checks.ERROR


def test_models_and_migrations_agree(db):
    call_command("makemigrations", "wagtail_flows", "--check", "--dry-run", verbosity=0)


@pytest.mark.django_db
def test_pages_of_the_test_site_are_served(client):
    page = make_standard_page("About us", body="We make flows.")
    form = make_form_page("Newsletter")
    assert client.get(page.url).status_code == 200
    response = client.get(form.url)
    assert response.status_code == 200
    assert b'type="email"' in response.content


@pytest.mark.django_db
def test_email_pages_live_in_the_email_library():
    page = make_email_page()
    assert page.get_parent().specific.__class__.__name__ == "EmailLibraryPage"


def test_every_setting_is_documented():
    from pathlib import Path

    from wagtail_flows.conf import DEFAULTS

    doc = (Path(__file__).parent.parent / "docs" / "settings.md").read_text()
    assert [key for key in DEFAULTS if f"`{key}`" not in doc] == []
