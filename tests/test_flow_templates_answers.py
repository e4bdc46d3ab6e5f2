"""The NPS and topic templates read the form's answers: a visitor submits the real Wagtail
form, and the score or the chosen topic decides their path — no developer code."""

import datetime as dt

import pytest
from django.test import Client
from wagtail.models import Site

from tests.factories import make_form_page, make_standard_page
from tests.flow_stories import Story, go_live, run_of, sent
from tests.test_flow_templates_stories import tags_of
from wagtail_flows import flow_templates
from wagtail_flows.engine.simulate import SimEvent, simulate
from wagtail_flows.models import ConsentSettings, Contact, Enrollment

pytestmark = pytest.mark.django_db
BROWSER = "Mozilla/5.0 (Windows NT 10.0) Firefox/128.0"
CONSENT = "subscribe_to_our_newsletter"


@pytest.fixture(autouse=True)
def single_opt_in():
    consent = ConsentSettings.for_site(Site.objects.get(is_default_site=True))
    consent.require_double_opt_in = False
    consent.save()


@pytest.fixture
def nps_form():
    return make_form_page(
        "How did we do?",
        fields=[
            ("Your email", "email", True),
            ("Your name", "singleline", False),
            ("Score", "number", True),
            ("Subscribe to our newsletter", "checkbox", False),
        ],
    )


@pytest.fixture
def topic_form():
    page = make_form_page(
        "Your interests",
        fields=[
            ("Email", "email", True),
            ("Topic", "radio", True),
            ("Subscribe to our newsletter", "checkbox", False),
        ],
    )
    topic = page.form_fields.get(clean_name="topic")
    topic.choices = "Gardening\nCooking"
    topic.save()
    return page


def submit(django_capture_on_commit_callbacks, page, **data):
    with django_capture_on_commit_callbacks(execute=True):
        response = Client(headers={"user-agent": BROWSER}).post(page.url, {CONSENT: "on", **data})
    assert response.status_code == 200
    return Contact.objects.get(email=data.get("your_email", data.get("email")))


def test_a_score_of_4_on_the_form_takes_the_detractor_branch(
    nps_form, django_capture_on_commit_callbacks
):
    flow = go_live(
        flow_templates.create_flow(
            "nps-feedback", {"form_page": nps_form.pk, "score_field": "score"}
        )
    )
    story = Story()
    critic = submit(
        django_capture_on_commit_callbacks,
        nps_form,
        your_email="bob@example.com",
        your_name="Bob Brown",
        score="4",
    )
    fan = submit(
        django_capture_on_commit_callbacks, nps_form, your_email="ann@example.com", score="10"
    )
    assert critic.first_name == "Bob" and critic.status == "subscribed"
    assert run_of(flow, critic).context["form"]["score"] == "4"
    story.at(hours=1, minutes=1)

    assert (tags_of(critic), sent(critic)) == (["detractor"], ["Sorry, detractor"])
    assert (tags_of(fan), sent(fan)) == (["promoter"], ["Thanks, promoter"])
    assert run_of(flow, critic).status == "completed"


def test_the_simulator_takes_the_same_branch_from_the_answer(nps_form):
    flow = go_live(
        flow_templates.create_flow(
            "nps-feedback", {"form_page": nps_form.pk, "score_field": "score"}
        )
    )
    trigger = SimEvent(
        at=dt.timedelta(0), kind="form_submitted", page=nps_form, data={"score": "4"}
    )
    path = simulate(flow, trigger=trigger)
    labels = [step.label for step in path]
    assert "Add tag “detractor”" in labels and "Add tag “promoter”" not in labels
    assert [step.subject for step in path if step.step_type == "send_email"] == [
        "We're sorry, and we want to make it right"
    ]


def test_choosing_the_topic_on_the_form_starts_its_series_and_another_choice_does_not(
    topic_form, django_capture_on_commit_callbacks
):
    section = make_standard_page("Gardening")
    flow = go_live(
        flow_templates.create_flow(
            "topic-automation",
            {
                "topic_page": section.pk,
                "topic": "gardening",
                "topic_form": topic_form.pk,
                "topic_answer": "Gardening",
            },
        )
    )
    gardener = submit(
        django_capture_on_commit_callbacks, topic_form, email="ann@example.com", topic="Gardening"
    )
    cook = submit(
        django_capture_on_commit_callbacks, topic_form, email="bob@example.com", topic="Cooking"
    )
    assert tags_of(gardener) == ["gardening", "topic-series"]
    assert sent(gardener) == ["1. Topic introduction"]
    assert not Enrollment.objects.filter(flow=flow, contact=cook).exists()
    assert tags_of(cook) == [] and sent(cook) == []


def test_without_a_topic_form_the_topic_template_asks_for_no_answer(db):
    section = make_standard_page("Gardening")
    flow = flow_templates.create_flow(
        "topic-automation", {"topic_page": section.pk, "topic": "gardening"}
    )
    assert list(flow.entry_conditions) == []
    assert [t.block_type for t in flow.triggers] == ["page_viewed"]
