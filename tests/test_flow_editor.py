"""A marketer builds a flow's trigger: the form trigger offers form pages only, and the
activation page names the form."""

import pytest

from tests.factories import make_email_page, make_form_page
from tests.testapp.models import FormPage, StandardPage
from wagtail_flows.flows.blocks import FormSubmittedTrigger
from wagtail_flows.models import Flow

pytestmark = pytest.mark.django_db


def test_the_form_trigger_chooses_among_form_pages_only(admin_client):
    chooser = FormSubmittedTrigger().child_blocks["form_page"]
    assert chooser.target_models == [FormPage]
    assert StandardPage not in chooser.target_models

    # The chooser the flow editor opens is told to offer form pages only.
    editor = admin_client.get("/admin/flows/create/").content.decode()
    assert "&quot;modelNames&quot;: [&quot;testapp.formpage&quot;]" in editor


def test_the_activation_page_names_the_form_that_starts_the_flow(admin_client):
    form = make_form_page("Contact us")
    page = make_email_page("Thanks")
    send = {"type": "send_email", "value": {"page": page.pk, "subject_override": ""}}
    flow = Flow.objects.create(
        name="Follow-up",
        triggers=[{"type": "form_submitted", "value": {"form_page": form.pk}}],
        steps=[send],
    )

    response = admin_client.get(f"/admin/flows/{flow.pk}/activate/")

    text = " ".join(response.content.decode().split())
    assert "contacts enter this flow when: Submits “Contact us”." in text
