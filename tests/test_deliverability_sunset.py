"""Engagement-based sunset: a flow may skip contacts who have opened or clicked nothing for
months, as mailbox providers advise, and offer them a re-engagement flow instead."""

import datetime as dt

import pytest

from tests.factories import ContactFactory, make_email_page
from tests.test_engine_tree import T0, make_flow, run, start, step
from wagtail_flows.engine.simulate import simulate
from wagtail_flows.models import Enrollment, Message, StepRun

pytestmark = pytest.mark.django_db

MONTH = dt.timedelta(days=30)


@pytest.fixture
def flows():
    page = make_email_page("Spring offers")
    comeback = make_flow([step("add_tag", tag="asked-back")], name="We miss you")
    newsletter = make_flow(
        [step("send_email", "offers", page=page.pk, subject_override="")],
        name="Offers",
        sunset_months=6,
        sunset_flow=comeback,
    )
    return newsletter, comeback


def contact(created_months_ago, opened_months_ago=None, clicked_months_ago=None):
    def ago(months):
        return T0 - months * MONTH if months is not None else None

    return ContactFactory(
        created_at=ago(created_months_ago),
        last_open_at=ago(opened_months_ago),
        last_click_at=ago(clicked_months_ago),
    )


def test_a_contact_silent_for_the_sunset_months_is_skipped_and_offered_the_comeback(
    flows, django_capture_on_commit_callbacks
):
    newsletter, comeback = flows
    silent = contact(created_months_ago=24, opened_months_ago=8)
    with django_capture_on_commit_callbacks(execute=True):
        enrollment = run(start(newsletter, silent), T0)
    assert enrollment.status == "completed"
    assert StepRun.objects.get(enrollment=enrollment).outcome == "skipped: inactive"
    assert not Message.objects.filter(contact=silent).exists()
    assert Enrollment.objects.filter(flow=comeback, contact=silent).exists()


@pytest.mark.parametrize(
    "who",
    [
        {"created_months_ago": 24, "opened_months_ago": 2},  # opened lately
        {"created_months_ago": 24, "opened_months_ago": 9, "clicked_months_ago": 1},
        {"created_months_ago": 1},  # new: hasn't had the chance
    ],
)
def test_engaged_and_new_contacts_get_the_email(flows, who):
    newsletter, comeback = flows
    person = contact(**who)
    run(start(newsletter, person), T0)
    assert Message.objects.filter(contact=person, flow=newsletter).count() == 1
    assert not Enrollment.objects.filter(flow=comeback, contact=person).exists()


def test_without_sunset_months_everyone_is_sent(flows):
    newsletter, _ = flows
    newsletter.sunset_months = None
    newsletter.save()
    silent = contact(created_months_ago=24)
    run(start(newsletter, silent), T0)
    assert Message.objects.filter(contact=silent).count() == 1


def test_a_transactional_flow_never_sunsets(flows):
    newsletter, _ = flows
    newsletter.kind = "transactional"
    newsletter.save()
    silent = contact(created_months_ago=24)
    run(start(newsletter, silent), T0)
    assert Message.objects.filter(contact=silent).count() == 1


def test_the_tester_shows_the_skip_and_sends_nothing(flows):
    newsletter, comeback = flows
    silent = contact(created_months_ago=24)
    path = simulate(newsletter, silent, start=T0)
    assert [row.outcome for row in path][:1] == ["skipped: inactive"]
    assert not Enrollment.objects.filter(flow=comeback).exists()


def test_the_changes_page_names_a_new_sunset_before_sign_off(flows):
    from wagtail_flows.flows.changes import flow_changes

    newsletter, comeback = flows
    published = type(newsletter).objects.get(pk=newsletter.pk)
    published.sunset_months = None
    [section] = [s for s in flow_changes(published, newsletter).sections if s.changed]
    assert section.label == "Inactive contacts"
    assert section.after == [
        "Skipped after 6 months without an open or click, offered “We miss you”"
    ]


def test_a_marketer_sets_the_sunset_in_the_flow_editor(admin_client, flows):
    newsletter, comeback = flows
    newsletter.sunset_months, newsletter.sunset_flow = None, None
    newsletter.status = "draft"
    newsletter.save()
    edit = admin_client.get(f"/admin/flows/edit/{newsletter.pk}/")
    form = edit.context["form"]
    assert {"sunset_months", "sunset_flow"} <= set(form.fields)
    assert "Inactive contacts" in edit.content.decode()
