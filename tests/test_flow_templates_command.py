"""``manage.py flows_templates list|create``."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.factories import make_form_page
from wagtail_flows.models import EmailPage, Flow

pytestmark = pytest.mark.django_db


def test_list_shows_every_template_and_what_it_asks(capsys):
    call_command("flows_templates", "list")
    out = capsys.readouterr().out
    assert "Commerce" in out and "abandoned-cart" in out and "newsletter-cadence" in out
    assert "--after-hours: Cart left for (hours) (default: 4)" in out
    assert "--sku: Bought product (SKU) [required]" in out


def test_create_makes_a_draft_flow_with_the_given_settings(capsys):
    form = make_form_page("Webinar")
    call_command("flows_templates", "create", "event-webinar", "--registration-form", form.pk)
    flow = Flow.objects.get()
    assert flow.status == "draft" and flow.name == "Event (webinar/meet-up)"
    assert flow.triggers[0].value["form_page"].pk == form.pk
    assert EmailPage.objects.count() == 3
    assert "Created draft flow" in capsys.readouterr().out


def test_create_refuses_a_bad_setting_naming_it_and_creates_nothing():
    with pytest.raises(CommandError, match="--sku"):
        call_command("flows_templates", "create", "upsell")
    with pytest.raises(CommandError, match="does not ask for: --sku"):
        call_command("flows_templates", "create", "welcome-series", "--sku", "X")
    assert not Flow.objects.exists() and not EmailPage.objects.exists()
