"""A marketer activates, pauses, resumes, archives and duplicates flows: each change is
checked, written to Wagtail's audit log and announced with ``flow_status_changed``."""

import json
import uuid

import pytest
from django.core.exceptions import ValidationError
from wagtail.log_actions import registry as log_registry
from wagtail.models import ModelLogEntry

from tests.factories import make_email_page
from wagtail_flows.models import Flow
from wagtail_flows.models.flows import FlowStatus
from wagtail_flows.signals import flow_status_changed

pytestmark = pytest.mark.django_db


def child(block_type, value=None):
    return {"type": block_type, "value": value, "id": str(uuid.uuid4())}


@pytest.fixture
def email():
    return make_email_page("Welcome")


@pytest.fixture
def flow(email):
    return Flow.objects.create(
        name="Welcome series",
        triggers=json.dumps([child("list_joined", {"list": None})]),
        steps=json.dumps(
            [
                child("send_email", {"page": email.pk, "subject_override": ""}),
                child("wait", {"amount": 3, "unit": "days"}),
                child(
                    "branch",
                    {
                        "conditions": [child("clicked_email", {"email": None})],
                        "match": "all",
                        "wait_up_to_amount": 2,
                        "wait_up_to_unit": "days",
                        "yes": [child("add_tag", {"tag": "engaged"})],
                        "no": [],
                    },
                ),
            ]
        ),
        goal=[child("has_ordered", {})],
    )


@pytest.fixture
def changes():
    seen = []

    def receiver(sender, **kwargs):
        seen.append((kwargs["old"], kwargs["new"], kwargs["user"], kwargs["flow"].pk))

    flow_status_changed.connect(receiver)
    yield seen
    flow_status_changed.disconnect(receiver)


def log_actions(flow):
    return list(
        ModelLogEntry.objects.for_instance(flow).order_by("pk").values_list("action", "user_id")
    )


def test_activating_a_flow_built_from_raw_json_logs_and_signals(flow, admin_user, changes):
    flow.activate(user=admin_user)
    flow.refresh_from_db()
    assert flow.status == FlowStatus.LIVE and flow.activated_at is not None
    assert log_actions(flow) == [("wagtail_flows.activate", admin_user.pk)]
    assert changes == [("draft", "live", admin_user, flow.pk)]


def test_pause_resume_and_archive_each_leave_a_log_entry(flow, admin_user, changes):
    flow.activate(user=admin_user)
    flow.pause(user=admin_user)
    assert Flow.objects.get(pk=flow.pk).paused_at is not None
    flow.resume()
    flow.archive(user=admin_user)
    assert [a for a, _ in log_actions(flow)] == [
        "wagtail_flows.activate",
        "wagtail_flows.pause",
        "wagtail_flows.resume",
        "wagtail_flows.archive",
    ]
    assert [(old, new) for old, new, *_ in changes] == [
        ("draft", "live"),
        ("live", "paused"),
        ("paused", "live"),
        ("live", "archived"),
    ]
    assert Flow.objects.get(pk=flow.pk).status == FlowStatus.ARCHIVED


def test_the_log_actions_have_readable_labels():
    assert log_registry.get_action_label("wagtail_flows.pause") == "Pause flow"
    assert log_registry.action_exists("wagtail_flows.duplicate")


@pytest.mark.parametrize(
    "method, status",
    [("pause", "draft"), ("resume", "live"), ("activate", "paused"), ("archive", "archived")],
)
def test_impossible_transitions_are_refused_naming_the_status(flow, method, status, changes):
    Flow.objects.filter(pk=flow.pk).update(status=status)
    flow.refresh_from_db()
    with pytest.raises(ValidationError) as excinfo:
        getattr(flow, method)()
    assert "status" in excinfo.value.message_dict
    assert changes == [] and log_actions(flow) == []


def test_an_invalid_flow_is_refused_and_nothing_changes(email, changes):
    flow = Flow.objects.create(name="Broken", steps=[child("wait", {"amount": 0})])
    with pytest.raises(ValidationError) as excinfo:
        flow.activate()
    assert set(excinfo.value.message_dict) == {"triggers", "steps"}
    flow.refresh_from_db()
    assert flow.status == FlowStatus.DRAFT and flow.activated_at is None
    assert changes == [] and log_actions(flow) == []


def test_resume_checks_the_flow_again(flow):
    flow.activate()
    flow.pause()
    Flow.objects.filter(pk=flow.pk).update(steps=json.dumps([child("wait", {"amount": -1})]))
    flow.refresh_from_db()
    with pytest.raises(ValidationError, match="longer than 0"):
        flow.resume()
    assert Flow.objects.get(pk=flow.pk).status == FlowStatus.PAUSED


def test_two_people_pausing_at_once_change_it_once(flow, changes):
    flow.activate()
    stale = Flow.objects.get(pk=flow.pk)
    flow.pause()
    with pytest.raises(ValidationError):
        stale.pause()
    assert [new for _, new, *_ in changes] == ["live", "paused"]


def test_duplicate_is_a_draft_copy_with_fresh_block_ids(flow, admin_user, changes):
    flow.activate()
    copy = flow.duplicate(user=admin_user)
    assert copy.pk != flow.pk and copy.status == FlowStatus.DRAFT
    assert copy.name == "Copy of Welcome series"
    original_ids = {c.id for c in flow.steps} | {c.id for c in flow.steps[2].value["yes"]}
    copy_ids = {c.id for c in copy.steps} | {c.id for c in copy.steps[2].value["yes"]}
    assert len(copy_ids) == 4 and not original_ids & copy_ids
    assert [c.block_type for c in copy.steps] == ["send_email", "wait", "branch"]
    assert copy.steps[0].value["page"].pk == flow.steps[0].value["page"].pk
    assert log_actions(copy) == [("wagtail_flows.duplicate", admin_user.pk)]
    assert changes[-1] == (None, "draft", admin_user, copy.pk)
    copy.validate_for_activation()


def test_trigger_and_listened_kinds_feed_the_engine_index(flow):
    assert flow.trigger_kinds() == {"list_joined"}
    assert flow.listened_kinds() == {"list_joined", "order_placed"}
    manual = Flow(name="By hand", triggers=[child("manual"), child("inactive", {"days": 30})])
    assert manual.trigger_kinds() == set()
