"""A flow's "never enter if" list: a contact who meets any of its conditions never enters —
by an event, a manual enrollment, a time-based trigger — while one who meets it only later,
during their run, goes on (it is checked at entry only). The editor, the diagram, the
tester, validation and the sign-off of live flows know it too."""

from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from wagtail.test.utils.form_data import streamfield

import wagtail_flows
from tests.conftest import EDITOR_PERMISSIONS, make_staff_user
from tests.factories import ContactFactory, ContactListFactory, make_email_page
from tests.flow_stories import Story, statuses
from tests.test_admin import FLOWS_URL, action_url, flow_form_data, messages_of, raw
from tests.test_admin_permissions import the_tester
from wagtail_flows.engine.enroll import enroll_audience, run_job_batch
from wagtail_flows.engine.sweeps import run_sweep
from wagtail_flows.models import Contact, Enrollment, EnrollmentJob, Flow, Message

pytestmark = pytest.mark.django_db

DORMANT = raw("has_tag", {"tag": "dormant"})


def spring_offer(triggers, never_enter_if=(DORMANT,), steps=None, status="live"):
    page = make_email_page("Spring is here")
    return Flow.objects.create(
        name="Spring offer",
        status=status,
        triggers=triggers,
        steps=steps or [raw("send_email", {"page": page.pk})],
        never_enter_if=list(never_enter_if),
    )


def dormant_contact(email="sleepy@example.com"):
    contact = ContactFactory(status="subscribed", email=email)
    contact.add_tag("dormant")
    return contact


def entered(flow):
    return sorted(Enrollment.objects.filter(flow=flow).values_list("contact__email", flat=True))


def text(response):
    return " ".join(response.content.decode().split())


# --- every way in -------------------------------------------------------------------------


def test_a_dormant_contact_tracked_by_the_site_never_enters(django_capture_on_commit_callbacks):
    flow = spring_offer([raw("custom_event", {"name": "webinar_signup"})])
    sleepy = dormant_contact()
    awake = ContactFactory(status="subscribed", email="awake@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        wagtail_flows.track("webinar_signup", contact=sleepy)
        wagtail_flows.track("webinar_signup", contact=awake)
    assert entered(flow) == ["awake@example.com"]
    assert [m.to for m in mail.outbox] == [["awake@example.com"]]


def test_never_enter_if_is_checked_at_entry_only_not_during_the_run():
    page = make_email_page("Spring is here")
    steps = [raw("wait", {"amount": 2, "unit": "days"}), raw("send_email", {"page": page.pk})]
    flow = spring_offer([raw("custom_event", {"name": "signup"})], steps=steps)
    ann = ContactFactory(status="subscribed", email="ann@example.com")
    story = Story()
    story.event("custom", ann, name="signup")
    ann.add_tag("dormant")  # dormant now, but already in the flow
    story.latest(ann, "tag_added")
    story.at(days=2, minutes=1)
    assert statuses(flow, ann) == ["completed"]
    assert Message.objects.filter(contact=ann, enrollment__flow=flow).count() == 1
    story.event("custom", ann, name="signup")  # a second signup: dormant, kept out
    assert statuses(flow, ann) == ["completed"]


def test_a_list_enrolled_from_the_flows_page_skips_who_may_never_enter(
    client, flows_publisher, django_capture_on_commit_callbacks
):
    flow = spring_offer([raw("manual", None)])
    news = ContactListFactory(name="Newsletter")
    dormant_contact().add_to_list(news)
    ContactFactory(status="subscribed", email="awake@example.com").add_to_list(news)
    client.force_login(flows_publisher)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(action_url(flow, "enroll"), {"contact_list": news.pk}, follow=True)
    assert "2 contacts are entering “Spring offer” in the background." in messages_of(response)
    job = EnrollmentJob.objects.get()
    assert (job.total, job.enrolled, job.skipped) == (2, 1, 1)
    assert entered(flow) == ["awake@example.com"]
    assert [m.to for m in mail.outbox] == [["awake@example.com"]]


def test_a_time_based_trigger_passes_over_the_kept_out_and_reaches_the_rest(settings):
    """The staff (in a group of "any of") and the dormant are kept out in the database, so
    with a batch of one they do not fill the sweep's batch for ever."""
    settings.WAGTAIL_FLOWS = {**settings.WAGTAIL_FLOWS, "SWEEP_BATCH_SIZE": 1}
    staff = ContactListFactory(name="Staff")
    keep_out = raw(
        "group",
        {"match": "any", "conditions": [DORMANT, raw("in_list", {"list": staff.pk})]},
    )
    flow = spring_offer([raw("inactive", {"days": 30, "activity": "any"})], [keep_out])
    quiet = timezone.now() - timedelta(days=40)
    sleepy, colleague = dormant_contact(), ContactFactory(email="staff@example.com")
    colleague.add_to_list(staff)
    other = ContactFactory(status="subscribed", email="quiet@example.com")
    Contact.objects.filter(pk__in=[sleepy.pk, colleague.pk, other.pk]).update(
        created_at=quiet, last_activity_at=quiet
    )
    run_sweep()
    assert entered(flow) == ["quiet@example.com"]


def test_kept_out_contacts_cost_no_query_each_in_a_batch(django_assert_num_queries):
    flow = spring_offer([raw("manual", None)])

    def batch_of(size):
        news = ContactListFactory()
        for index in range(size):
            contact = dormant_contact(f"d{size}-{index}@example.com")
            contact.add_to_list(news)
            ContactFactory(email=f"a{size}-{index}@example.com").add_to_list(news)
        return enroll_audience(flow, contact_list=news, background=False)

    small, large = batch_of(2), batch_of(5)
    with CaptureQueriesContext(connection) as counted:
        run_job_batch(small.pk, 0)
    with django_assert_num_queries(len(counted.captured_queries)):
        run_job_batch(large.pk, 0)
    large.refresh_from_db()
    assert (large.enrolled, large.skipped) == (5, 5)


# --- the editor, the diagram and the tester ------------------------------------------------


def test_a_marketer_adds_never_enter_if_in_the_editor_and_the_diagram_says_it(client):
    client.force_login(make_staff_user("marketer", *EDITOR_PERMISSIONS))
    flow = spring_offer([raw("manual", None)], never_enter_if=(), status="draft")
    form = text(client.get(f"{FLOWS_URL}edit/{flow.pk}/"))
    assert form.index("Entry conditions") < form.index("Never enter if") < form.index("Re-entry")
    data = flow_form_data(
        "Spring offer",
        [("send_email", {"page": flow.steps[0].value["page"].pk, "subject_override": ""})],
        never_enter_if=streamfield([("has_tag", {"tag": "dormant"})]),
    )
    assert client.post(f"{FLOWS_URL}edit/{flow.pk}/", data).status_code == 302
    flow.refresh_from_db()
    assert [(c.block_type, c.value["tag"]) for c in flow.never_enter_if] == [
        ("has_tag", "dormant")
    ]
    assert "Never enters if has tag “dormant”" in text(client.get(f"{FLOWS_URL}edit/{flow.pk}/"))


def test_the_tester_says_why_a_contact_would_not_enter(admin_client, client):
    flow = spring_offer([raw("manual", None)])
    dormant_contact()
    ContactFactory(status="subscribed", email="awake@example.com")
    reason = "Would not enter: never enter if has tag “dormant”"
    kept_out = text(
        admin_client.get(the_tester(flow), {"run": "1", "email": "sleepy@example.com"})
    )
    assert reason in kept_out and "Would send" not in kept_out
    goes_in = text(admin_client.get(the_tester(flow), {"run": "1", "email": "awake@example.com"}))
    assert reason not in goes_in and "Send “Spring is here”" in goes_in
    # Someone who may not see contacts gives the sample contact the tag instead.
    client.force_login(make_staff_user("marketer", *EDITOR_PERMISSIONS))
    sample = text(client.get(the_tester(flow), {"run": "1", "tags": "VIP, dormant"}))
    assert reason in sample and "Would send" not in sample
    assert "Would send" in text(client.get(the_tester(flow), {"run": "1", "tags": "VIP"}))


def test_the_tester_names_an_exit_condition_that_already_holds(admin_client):
    flow = spring_offer([raw("manual", None)], never_enter_if=())
    flow.exit_conditions = [DORMANT]
    flow.save()
    dormant_contact()
    page = text(admin_client.get(the_tester(flow), {"run": "1", "email": "sleepy@example.com"}))
    assert "Would not enter: already meets an exit condition: has tag “dormant”" in page


# --- validation and sign-off -------------------------------------------------------------


def test_an_empty_not_in_never_enter_if_cannot_go_live(admin_client):
    flow = spring_offer([raw("manual", None)], never_enter_if=(), status="draft")
    flow.never_enter_if = [raw("none_of", {"conditions": []})]
    flow.save()
    response = admin_client.post(action_url(flow, "activate"), follow=True)
    flow.refresh_from_db()
    assert flow.status == "draft"
    assert "Never enter if" in text(response)


def test_an_editor_keeping_people_out_of_a_live_flow_needs_sign_off(
    client, flows_editor, flows_publisher
):
    flow = spring_offer(
        [raw("custom_event", {"name": "signup"})], never_enter_if=(), status="draft"
    )
    flow.activate()
    page_id = flow.steps[0].value["page"].pk
    client.force_login(flows_editor)
    data = flow_form_data(
        "Spring offer",
        [("send_email", {"page": page_id, "subject_override": ""})],
        never_enter_if=streamfield([("has_tag", {"tag": "dormant"})]),
        triggers=streamfield([("custom_event", {"name": "signup"})]),
    )
    data["steps-0-id"] = flow.steps[0].id
    client.post(f"{FLOWS_URL}edit/{flow.pk}/", data)
    flow.refresh_from_db()
    assert flow.has_draft and not list(flow.never_enter_if)  # the published version runs

    changes = client.get(f"{FLOWS_URL}{flow.pk}/changes/").context["changes"]
    changed = {s.label: (s.before, s.after) for s in changes.changed_sections}
    assert changed == {"Never enters if": (["No one kept out"], ["Has tag “dormant”"])}

    sleepy = dormant_contact()
    Story().event("custom", sleepy, name="signup")
    assert entered(flow) == ["sleepy@example.com"]  # not signed off yet: they still enter

    client.force_login(flows_publisher)
    client.post(f"{FLOWS_URL}{flow.pk}/publish/", {"revision": flow.latest_revision_id})
    flow.refresh_from_db()
    assert [c.value["tag"] for c in flow.never_enter_if] == ["dormant"]
    later = dormant_contact("later@example.com")
    Story().event("custom", later, name="signup")
    assert entered(flow) == ["sleepy@example.com"]
