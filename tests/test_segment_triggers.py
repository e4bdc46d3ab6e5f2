"""“Enters a segment” and “leaves a segment”: the sweep that django-q2's schedule runs sees who
came into a segment (a tag added) or dropped out of it (a tag removed, an event window
passing), and starts the flows listening — once, through the flow's own rules, at a constant
number of queries. Contacts already in the segment when the flow goes live start nothing."""

import re
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_q.models import OrmQ

from tests.conftest import make_staff_user
from tests.factories import ContactFactory
from tests.test_sweeps import WAIT_A_WEEK, make_flow, queue_for_real  # noqa: F401 (fixture)
from wagtail_flows.engine.segment_triggers import trigger_notes
from wagtail_flows.engine.tasks import run_sweep_task
from wagtail_flows.flows import choosers
from wagtail_flows.flows.describe import describe
from wagtail_flows.models import Contact, Enrollment, Event, Flow, Segment, SegmentMember
from wagtail_flows.models.contacts import EventKind
from wagtail_flows.models.enrollments import EnrollmentStatus
from wagtail_flows.models.events import record_event

pytestmark = pytest.mark.django_db

START = timezone.now().replace(microsecond=0)


@pytest.fixture
def clock(monkeypatch, django_capture_on_commit_callbacks):
    """The sweep's clock: ``clock.at(minutes=5)`` moves it, ``clock.sweep()`` runs the
    scheduled sweep (``run_sweep_task``, as django-q2 calls it) at that time, and what it
    leaves for after its commit (the new runs' advance task)."""

    class Clock:
        now = START

        def at(self, **delta):
            self.now = START + timedelta(**delta)
            return self

        def sweep(self):
            with django_capture_on_commit_callbacks(execute=True):
                return run_sweep_task()["enrolled"]

    moving = Clock()
    monkeypatch.setattr(timezone, "now", lambda: moving.now)
    return moving


def hot_leads(**fields):
    fields.setdefault("conditions", [("has_tag", {"tag": "hot"})])
    return Segment.objects.create(name=fields.pop("name", "Hot leads"), **fields)


def listening(segment, trigger="segment_entered", name=None, **fields):
    return make_flow(
        name or f"{trigger} {segment.name}", triggers=[(trigger, {"segment": segment})], **fields
    )


def enrolled(flow):
    return sorted(Enrollment.objects.filter(flow=flow).values_list("contact__email", flat=True))


# --- entering and leaving -------------------------------------------------------------------


def test_a_contact_who_gets_the_tag_enters_the_segment_and_starts_the_flow(clock):
    segment = hot_leads()
    flow = listening(segment)
    ann = ContactFactory(email="ann@example.com")
    ContactFactory(email="bob@example.com")
    assert clock.sweep()["segment_entered"] == 0  # the snapshot: nobody is in it yet

    ann.add_tag("hot")
    assert clock.at(minutes=1).sweep()["segment_entered"] == 1

    run = Enrollment.objects.get(flow=flow)
    assert run.contact == ann
    assert run.enrolled_at == clock.now
    assert run.context == {
        "trigger": "segment_entered",
        "segment": "Hot leads",
        "segment_id": segment.pk,
    }
    member = SegmentMember.objects.get(segment=segment)
    assert (member.contact, member.entered_at) == (ann, clock.now)


def test_the_contacts_timeline_says_which_segment_started_the_run(clock, admin_client):
    segment = hot_leads()
    listening(segment, name="Welcome hot leads")
    clock.sweep()
    ann = ContactFactory(email="ann@example.com")
    ann.add_tag("hot")
    clock.at(minutes=1).sweep()

    edit = reverse("flows_contacts_modeladmin_edit", args=[ann.pk])
    page = admin_client.get(edit).content.decode()
    assert "Entered flow “Welcome hot leads” on entering the segment “Hot leads”" in page


def test_a_contact_whose_tag_is_removed_leaves_and_starts_the_leaving_flow(clock):
    segment = hot_leads()
    entering = listening(segment, "segment_entered")
    leaving = listening(segment, "segment_left")
    ann = ContactFactory(email="ann@example.com")
    ann.add_tag("hot")
    clock.sweep()

    ann.remove_tag("hot")
    fired = clock.at(minutes=1).sweep()

    assert (fired["segment_entered"], fired["segment_left"]) == (0, 1)
    assert enrolled(leaving) == ["ann@example.com"]
    assert enrolled(entering) == []
    assert Enrollment.objects.get(flow=leaving).context["trigger"] == "segment_left"
    assert not SegmentMember.objects.exists()


def test_a_contact_leaves_when_the_event_window_passes(clock):
    """“Viewed a page in the last 7 days”: nothing happens on the day they drop out, the
    window just passes — the sweep sees it."""
    segment = hot_leads(
        name="Recent visitors",
        conditions=[("did_event", {"kind": "page_viewed", "min_count": 1, "within_days": 7})],
    )
    entering = listening(segment, "segment_entered")
    leaving = listening(segment, "segment_left")
    ann = ContactFactory(email="ann@example.com")
    clock.sweep()

    record_event(EventKind.PAGE_VIEWED, contact=ann, at=clock.at(hours=1).now)
    clock.at(hours=2).sweep()
    assert enrolled(entering) == ["ann@example.com"]

    clock.at(days=7).sweep()  # 6 days 23 hours after the visit: still in
    assert enrolled(leaving) == []
    assert clock.at(days=7, hours=2).sweep()["segment_left"] == 1
    assert enrolled(leaving) == ["ann@example.com"]


def test_contacts_already_in_the_segment_when_the_flow_goes_live_start_nothing(clock):
    segment = hot_leads()
    flow = listening(segment)
    ann = ContactFactory(email="ann@example.com")
    ann.add_tag("hot")

    assert clock.sweep()["segment_entered"] == 0
    segment.refresh_from_db()
    assert segment.members_synced_at == START  # the snapshot's time
    assert list(segment.members.values_list("contact__email", flat=True)) == [ann.email]

    assert clock.at(minutes=1).sweep()["segment_entered"] == 0
    assert enrolled(flow) == []


def test_two_sweeps_do_not_start_a_contact_twice(clock):
    segment = hot_leads()
    flow = listening(segment, reentry="always")
    clock.sweep()
    ContactFactory(email="ann@example.com").add_tag("hot")

    clock.at(minutes=1).sweep()
    clock.at(minutes=2).sweep()
    clock.at(minutes=3).sweep()

    assert enrolled(flow) == ["ann@example.com"]


@pytest.mark.parametrize(
    "reentry, runs", [("never", 1), ("after_exit", 2), ("always", 2)], ids=lambda v: str(v)
)
def test_coming_back_into_the_segment_starts_again_only_if_the_flow_allows(clock, reentry, runs):
    segment = hot_leads()
    flow = listening(segment, reentry=reentry, steps=[("add_tag", {"tag": "welcomed"})])
    ann = ContactFactory(email="ann@example.com")
    clock.sweep()
    ann.add_tag("hot")
    clock.at(minutes=1).sweep()
    assert Enrollment.objects.get(flow=flow).status == EnrollmentStatus.COMPLETED

    ann.remove_tag("hot")
    clock.at(minutes=2).sweep()
    ann.add_tag("hot")
    clock.at(minutes=3).sweep()

    assert Enrollment.objects.filter(flow=flow).count() == runs


def test_the_flows_entry_conditions_and_never_enter_if_apply(clock):
    segment = hot_leads()
    flow = listening(
        segment,
        entry_conditions=[("is_subscribed", None)],
        exit_conditions=[("has_tag", {"tag": "customer"})],
    )
    clock.sweep()
    ann = ContactFactory(email="ann@example.com")
    unsubscribed = ContactFactory(email="bob@example.com", status="unsubscribed")
    customer = ContactFactory(email="cat@example.com")
    customer.add_tag("customer")
    for contact in (ann, unsubscribed, customer):
        contact.add_tag("hot")

    clock.at(minutes=1).sweep()

    assert enrolled(flow) == ["ann@example.com"]
    assert segment.members.count() == 3  # they all entered; only Ann could start


def test_one_look_at_a_segment_serves_every_flow_listening_to_it(clock):
    segment = hot_leads()
    welcome = listening(segment, name="Welcome hot leads")
    alert = listening(segment, name="Tell sales")
    clock.sweep()
    ContactFactory(email="ann@example.com").add_tag("hot")

    assert clock.at(minutes=1).sweep()["segment_entered"] == 2
    assert enrolled(welcome) == enrolled(alert) == ["ann@example.com"]
    assert segment.members.count() == 1


def test_a_flow_listening_again_after_a_pause_starts_from_a_new_snapshot(clock):
    """While paused nothing starts (as for events); on resuming, who came in meanwhile is
    already in — not a flood of everyone who entered during the pause."""
    segment = hot_leads()
    flow = listening(segment)
    clock.sweep()
    Flow.objects.filter(pk=flow.pk).update(status="paused")
    clock.at(minutes=1).sweep()
    segment.refresh_from_db()
    assert segment.members_synced_at is None  # nobody listens: the snapshot is forgotten

    ContactFactory(email="ann@example.com").add_tag("hot")
    clock.at(minutes=2).sweep()
    Flow.objects.filter(pk=flow.pk).update(status="live")
    clock.at(minutes=3).sweep()
    ContactFactory(email="bob@example.com").add_tag("hot")
    clock.at(minutes=4).sweep()

    assert enrolled(flow) == ["bob@example.com"]


def test_a_trigger_whose_segment_was_deleted_starts_nothing_and_asks_for_a_segment(clock):
    segment = hot_leads()
    flow = listening(segment)
    ContactFactory(email="ann@example.com").add_tag("hot")
    segment.delete()  # from the shell: the admin refuses it (below)

    assert clock.sweep()["segment_entered"] == 0
    flow = Flow.objects.get(pk=flow.pk)
    with pytest.raises(ValidationError) as refusal:
        flow.validate_for_activation()
    assert "Triggers › Trigger 1 (Enters a segment) › segment: Choose a segment." in (
        refusal.value.messages
    )


# --- queries --------------------------------------------------------------------------------


def _entering_and_leaving(count, sweep):
    """A flow for entering and one for leaving a segment; after a first sweep, ``count``
    contacts are about to enter it and ``count`` others to leave it."""
    segment = hot_leads()
    flows = listening(segment, "segment_entered"), listening(segment, "segment_left")
    leavers = ContactFactory.create_batch(count)
    comers = ContactFactory.create_batch(count)
    for contact in leavers:
        contact.add_tag("hot")
    sweep(START)
    for contact in leavers:
        contact.remove_tag("hot")
    for contact in comers:
        contact.add_tag("hot")
    return flows


def _all_started(count, fired, flows):
    assert (fired["segment_entered"], fired["segment_left"]) == (count, count)
    assert [len(enrolled(flow)) for flow in flows] == [count, count]


@pytest.mark.usefixtures("queue_for_real")
def test_a_sweep_costs_the_same_queries_for_3_or_30_contacts_entering_and_leaving(
    monkeypatch, django_assert_num_queries, django_capture_on_commit_callbacks
):
    def sweep(when):
        monkeypatch.setattr(timezone, "now", lambda: when)
        with django_capture_on_commit_callbacks(execute=True):
            return run_sweep_task()["enrolled"]

    flows = _entering_and_leaving(3, sweep)
    with CaptureQueriesContext(connection) as three:
        fired = sweep(START + timedelta(minutes=1))
    _all_started(3, fired, flows)
    for model in (Flow, Contact, Event, Segment, OrmQ):
        model.objects.all().delete()

    flows = _entering_and_leaving(30, sweep)
    with django_assert_num_queries(len(three)):
        fired = sweep(START + timedelta(minutes=1))
    _all_started(30, fired, flows)


def test_a_large_segment_is_looked_at_a_batch_per_sweep(clock, settings):
    settings.WAGTAIL_FLOWS = {**settings.WAGTAIL_FLOWS, "SWEEP_BATCH_SIZE": 4}
    segment = hot_leads()
    flow = listening(segment)
    for contact in ContactFactory.create_batch(6):
        contact.add_tag("hot")  # in it before the flow listens: the snapshot takes two sweeps
    clock.sweep()
    segment.refresh_from_db()
    assert (segment.members.count(), segment.members_synced_at) == (4, None)
    clock.at(minutes=1).sweep()
    assert segment.members.count() == 6

    for contact in ContactFactory.create_batch(6):
        contact.add_tag("hot")
    assert clock.at(minutes=2).sweep()["segment_entered"] == 4
    assert clock.at(minutes=3).sweep()["segment_entered"] == 2
    assert len(enrolled(flow)) == 6


# --- words, the tester, the chooser, deleting a segment --------------------------------------


def test_the_trigger_reads_as_a_sentence():
    segment = hot_leads()
    assert describe(("segment_entered", {"segment": segment})) == "Enters the segment “Hot leads”"
    assert describe(("segment_left", {"segment": segment})) == "Leaves the segment “Hot leads”"
    assert describe(("segment_left", {"segment": None})) == "Leaves a segment (none chosen)"


def test_the_tester_says_whether_the_contact_is_in_the_segment_now(admin_client):
    segment = hot_leads()
    flow = listening(segment, steps=[WAIT_A_WEEK])
    ann = ContactFactory(email="ann@example.com")
    ContactFactory(email="bob@example.com").add_tag("hot")

    tester = reverse("wagtail_flows_reports:tester", args=[flow.pk])
    body = admin_client.get(tester, {"run": "1", "email": ann.email}).content.decode()
    assert "Enters the segment “Hot leads”: ann@example.com is not in it now." in body
    assert re.search(r'<li data-step-type="wait"', body)  # the run shown all the same
    assert trigger_notes(flow, Contact.objects.get(email="bob@example.com")) == [
        "Enters the segment “Hot leads”: bob@example.com is in it now."
    ]
    assert trigger_notes(flow, None) == [
        "Enters the segment “Hot leads”: tested as if the sample contact had just entered it."
    ]


def test_a_flow_editor_may_choose_a_segment_and_others_may_not(client, flows_editor):
    hot_leads()
    chooser = reverse(choosers.segment_chooser.get_url_name("choose"))
    client.force_login(flows_editor)
    assert "Hot leads" in client.get(chooser).json()["html"]

    client.force_login(make_staff_user("stranger"))  # admin access, no flow permission
    assert client.get(chooser).status_code in (302, 403)


def _delete_url(segment):
    return reverse("flows_segments_modeladmin_delete", args=[segment.pk])


def test_a_segment_a_live_flow_listens_to_cannot_be_deleted(admin_client):
    segment = hot_leads()
    listening(segment, "segment_left", name="Win back")

    page = admin_client.get(_delete_url(segment)).content.decode()
    assert "The segment “Hot leads” cannot be deleted" in page
    assert "Win back" in page
    response = admin_client.post(_delete_url(segment))
    assert response.status_code == 200
    assert Segment.objects.filter(pk=segment.pk).exists()


def test_a_segment_only_a_draft_names_can_be_deleted(admin_client):
    segment = hot_leads()
    listening(segment, status="draft")
    assert "Yes, delete" in admin_client.get(_delete_url(segment)).content.decode()
    assert admin_client.post(_delete_url(segment)).status_code == 302
    assert not Segment.objects.filter(pk=segment.pk).exists()
