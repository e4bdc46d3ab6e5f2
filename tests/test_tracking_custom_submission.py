"""A site whose form page keeps its submissions in its own model (a subclass of Wagtail's
``AbstractFormSubmission``) has them captured like any other: no change to the form class.

The site's model is declared here, not in ``tests/testapp``, so that no other test sees it:
the module fixture registers it, creates its table and connects our receivers the way
``AppConfig.ready()`` does at start-up, then takes all of that away again.
"""

import pytest
from django.apps import apps
from django.db import connection, models
from django.db.models.signals import post_save
from django.test import Client
from wagtail.contrib.forms.models import AbstractFormSubmission

from tests.factories import make_form_page, make_standard_page
from tests.test_tracking_forms import single_opt_in
from tests.testapp.models import FormPage
from wagtail_flows import receivers
from wagtail_flows.models import Contact

pytestmark = pytest.mark.django_db
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"


def declare_contest_entry():
    class ContestEntry(AbstractFormSubmission):
        """The site's own submission: a contest entry that keeps the entrant's ticket."""

        ticket = models.CharField(max_length=20, blank=True)

        class Meta:
            app_label = "testapp"

    return ContestEntry


@pytest.fixture(scope="module")
def contest_entry(django_db_setup, django_db_blocker):
    model = declare_contest_entry()
    with django_db_blocker.unblock():
        with connection.schema_editor() as editor:
            editor.create_model(model)
        receivers._connect_capture()  # as at start-up, now that the site's model exists
        try:
            yield model
        finally:
            post_save.disconnect(sender=model, dispatch_uid=f"wf_form_{model._meta.label}")
            with connection.schema_editor() as editor:
                editor.delete_model(model)
            del apps.all_models["testapp"][model._meta.model_name]
            apps.clear_cache()


@pytest.fixture
def contest_page(contest_entry, monkeypatch):
    """A form page whose submissions are contest entries with a ticket number."""

    def process_form_submission(page, form):
        return contest_entry.objects.create(
            form_data=form.cleaned_data, page=page, ticket=f"T-{page.pk}"
        )

    monkeypatch.setattr(FormPage, "get_submission_class", lambda page: contest_entry)
    monkeypatch.setattr(FormPage, "process_form_submission", process_form_submission)
    return make_form_page("Win a seed box")


def test_a_custom_submission_model_is_captured_with_the_visitors_earlier_views(
    contest_entry, contest_page
):
    browser = Client(headers={"user-agent": BROWSER})
    rules = make_standard_page("Contest rules")
    single_opt_in()
    browser.get(rules.url)
    response = browser.post(
        contest_page.url,
        {"email": "Dee@Example.com", "first_name": "Dee", "subscribe_to_our_newsletter": "on"},
    )
    assert response.status_code == 200
    entry = contest_entry.objects.get()
    assert entry.ticket == f"T-{contest_page.pk}"
    dee = Contact.objects.get(email="dee@example.com")
    assert (dee.first_name, dee.status) == ("Dee", "subscribed")
    submitted = dee.events.get(kind="form_submitted")
    assert (submitted.page_id, submitted.object_id) == (contest_page.pk, str(entry.pk))
    assert dee.events.filter(kind="page_viewed", page=rules).exists()  # moved on identify
