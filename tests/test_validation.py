"""A flow goes live only when it can run: each refusal names the block and the field, in a
form the editor highlights and a programmer can read, and a draft may stay incomplete."""

import uuid
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from wagtail.blocks import StreamBlockValidationError, StructBlockValidationError

from tests.factories import ContactListFactory, make_email_page
from wagtail_flows.models import Flow
from wagtail_flows.models.flows import FlowStatus

pytestmark = pytest.mark.django_db


def child(block_type, value=None):
    return {"type": block_type, "value": value, "id": str(uuid.uuid4())}


MANUAL = [child("manual")]


@pytest.fixture
def email():
    return make_email_page("Welcome")


def refusal(flow):
    with pytest.raises(ValidationError) as excinfo:
        flow.validate_for_activation()
    return excinfo.value


def step_error(error, field="steps", index=0):
    stream_error = error.error_dict[field][0]
    assert isinstance(stream_error, StreamBlockValidationError)
    return stream_error.block_errors[index]


def test_a_draft_saves_incomplete_and_cleans_without_activation_checks():
    flow = Flow(
        name="Half done",
        steps=[child("send_email", {"page": None}), child("wait", {"amount": 0, "unit": "days"})],
    )
    flow.full_clean()
    flow.save()
    assert Flow.objects.get(pk=flow.pk).status == FlowStatus.DRAFT


def test_a_complete_flow_passes(email):
    flow = Flow.objects.create(
        name="Welcome",
        triggers=MANUAL,
        steps=[
            child("send_email", {"page": email.pk, "subject_override": ""}),
            child("wait", {"amount": 2, "unit": "days"}),
        ],
    )
    flow.validate_for_activation()


def test_no_trigger_is_refused_on_the_triggers_field():
    error = refusal(Flow(name="Nothing starts it", steps=[child("exit", {"reason": ""})]))
    assert list(error.message_dict) == ["triggers"]
    assert "Add a trigger" in error.message_dict["triggers"][0]
    assert error.error_dict["triggers"][0].non_block_errors


def test_send_email_needs_a_published_email(email):
    draft_email = make_email_page("Draft offer", publish=False, live=False)
    flow = Flow(
        name="Emails",
        triggers=MANUAL,
        steps=[
            child("send_email", {"page": None}),
            child("send_email", {"page": draft_email.pk}),
            child("send_email", {"page": email.pk}),
        ],
    )
    error = refusal(flow)
    missing, unpublished = step_error(error, index=0), step_error(error, index=1)
    assert isinstance(missing, StructBlockValidationError)
    assert missing.block_errors["page"].messages == ["Choose an email."]
    assert "not published" in unpublished.block_errors["page"].messages[0]
    assert 2 not in error.error_dict["steps"][0].block_errors
    assert error.message_dict["steps"][0].startswith("Steps › Step 1 (Send email) › page:")


@pytest.mark.parametrize("amount", [0, -3, None])
def test_a_wait_must_be_longer_than_zero(amount):
    error = refusal(
        Flow(name="W", triggers=MANUAL, steps=[child("wait", {"amount": amount, "unit": "hours"})])
    )
    assert "amount" in step_error(error).block_errors


def test_a_branch_with_no_steps_on_either_side_is_refused():
    branch = child(
        "branch",
        {
            "conditions": [child("is_subscribed")],
            "match": "all",
            "wait_up_to_amount": None,
            "wait_up_to_unit": "days",
            "yes": [],
            "no": [],
        },
    )
    error = refusal(Flow(name="B", triggers=MANUAL, steps=[branch]))
    assert "yes" in step_error(error).block_errors


def test_errors_inside_a_branch_name_the_nested_step():
    branch = child(
        "branch",
        {
            "conditions": [child("is_subscribed")],
            "match": "all",
            "yes": [
                child("wait", {"amount": 1, "unit": "days"}),
                child("wait", {"amount": -1, "unit": "days"}),
            ],
            "no": [],
        },
    )
    error = refusal(Flow(name="B", triggers=MANUAL, steps=[branch]))
    nested = step_error(error).block_errors["yes"]
    assert isinstance(nested, StreamBlockValidationError)
    assert "amount" in nested.block_errors[1].block_errors
    assert "Steps › Step 1 (Branch) › Yes › Step 2 (Wait) › amount" in error.messages[0]
    json_data = error.error_dict["steps"][0].as_json_data()
    assert json_data["blockErrors"][0]["blockErrors"]["yes"]["blockErrors"][1]


def variant(label, weight, steps):
    return {
        "type": "item",
        "id": str(uuid.uuid4()),
        "value": {"label": label, "weight": weight, "steps": steps},
    }


def test_split_weights_must_not_add_up_to_zero():
    wait = child("wait", {"amount": 1, "unit": "days"})
    split = child("split", {"variants": [variant("A", 0, [wait]), variant("B", 0, [])]})
    error = refusal(Flow(name="S", triggers=MANUAL, steps=[split]))
    variants = step_error(error).block_errors["variants"]
    assert "weights add up to 0" in variants.non_block_errors.as_data()[0].messages[0]


def test_a_split_whose_every_variant_is_empty_is_refused():
    split = child("split", {"variants": [variant("A", 50, []), variant("B", 50, [])]})
    error = refusal(Flow(name="S", triggers=MANUAL, steps=[split]))
    assert "this split does nothing" in " ".join(error.messages)


def test_a_split_with_an_empty_control_group_is_fine():
    wait = child("wait", {"amount": 1, "unit": "days"})
    split = child(
        "split", {"variants": [variant("Offer", 80, [wait]), variant("Control", 20, [])]}
    )
    Flow(name="S", triggers=MANUAL, steps=[split]).validate_for_activation()


def test_webhooks_need_https_except_in_debug(settings):
    hook = child("webhook", {"url": "http://crm.example.com/hook", "secret": ""})
    flow = Flow(name="H", triggers=MANUAL, steps=[hook])
    assert "url" in step_error(refusal(flow)).block_errors
    settings.DEBUG = True
    flow.validate_for_activation()


def test_notify_addresses_must_be_valid():
    notify = child(
        "notify",
        {"recipients": "sales@example.com, not-an-address", "subject": "Lead", "message": ""},
    )
    error = refusal(Flow(name="N", triggers=MANUAL, steps=[notify]))
    assert "not-an-address" in step_error(error).block_errors["recipients"].messages[0]


def test_end_before_start_is_refused_and_named():
    now = timezone.now()
    flow = Flow(name="Dates", triggers=MANUAL, starts_at=now, ends_at=now - timedelta(days=1))
    assert "ends_at" in refusal(flow).message_dict
    with pytest.raises(ValidationError) as excinfo:
        flow.full_clean()  # a wrong date is refused even on a draft
    assert "ends_at" in excinfo.value.message_dict


def test_block_level_errors_are_caught_for_programmatic_saves():
    """full_clean() skips StreamField block validation; activation runs it."""
    hook = child("webhook", {"url": "not a url", "secret": ""})
    error = refusal(Flow(name="Bad URL", triggers=MANUAL, steps=[hook]))
    assert "url" in step_error(error).block_errors
    assert "Steps › Step 1 (Webhook) › url" in error.message_dict["steps"][0]


def test_list_steps_and_triggers_need_their_fields():
    flow = Flow(
        name="L",
        triggers=[child("custom_event", {"name": ""})],
        steps=[
            child("add_to_list", {"list": None}),
            child("add_to_list", {"list": ContactListFactory().pk}),
        ],
    )
    error = refusal(flow)
    assert "name" in step_error(error, "triggers").block_errors
    assert "list" in step_error(error).block_errors
    assert 1 not in error.error_dict["steps"][0].block_errors


def test_editing_a_live_flow_into_a_broken_state_is_refused_at_clean(email):
    flow = Flow.objects.create(
        name="Live",
        triggers=MANUAL,
        steps=[child("send_email", {"page": email.pk}), child("wait", {"amount": 1})],
    )
    flow.activate()
    flow.steps = [child("wait", {"amount": -1, "unit": "days"})]
    with pytest.raises(ValidationError) as excinfo:
        flow.full_clean()
    assert "steps" in excinfo.value.message_dict


def test_an_error_on_a_field_the_form_leaves_out_moves_to_the_top_of_the_form():
    now = timezone.now()
    flow = Flow(name="Dates", starts_at=now, ends_at=now - timedelta(days=1))
    with pytest.raises(ValidationError) as excinfo:
        flow.full_clean(exclude=["ends_at", "starts_at"])
    assert list(excinfo.value.message_dict) == ["__all__"]
    assert "end must be after the start" in excinfo.value.messages[0]


# --- refused at activation, each with its block and field named ---------------------------


def activation_refusal(field="steps", **streams):
    """Activate a saved draft as a publisher does: refused, still a draft, errors returned."""
    flow = Flow.objects.create(name="Audit", **{"triggers": MANUAL, **streams})
    with pytest.raises(ValidationError) as excinfo:
        flow.activate()
    flow.refresh_from_db()
    assert flow.status == FlowStatus.DRAFT
    return excinfo.value, step_error(excinfo.value, field)


def names(error, block_label, field, stream="Steps"):
    """The readable message names the block and the field, e.g. ``Steps › Step 1 (Wait) ›
    amount``; the structured error (what the editor highlights) holds the field."""
    where = f"{stream} › " + ("Trigger" if stream == "Triggers" else "Step")
    assert f"{where} 1 ({block_label}) › {field}:" in " ".join(error.messages)
    return True


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ({"time": None, "weekdays": [], "date_source": "", "date_key": ""}, "time"),
        ({"time": None, "weekdays": [], "date_source": "property", "date_key": ""}, "date_key"),
        ({"date_source": "context", "date_key": "  "}, "date_key"),
    ],
)
def test_wait_until_needs_something_to_wait_for(value, field):
    error, block = activation_refusal(steps=[child("wait_until", value)])
    assert field in block.block_errors and names(error, "Wait until", field)


@pytest.mark.parametrize(
    ("block_type", "value", "field", "label"),
    [
        ("add_tag", {"tag": ""}, "tag", "Add tag"),
        ("add_tag", {"tag": "   "}, "tag", "Add tag"),
        ("remove_tag", {"tag": None}, "tag", "Remove tag"),
        ("set_stage", {"stage": ""}, "stage", "Set lifecycle stage"),
        ("change_score", {"delta": 0}, "delta", "Change score"),
        ("change_score", {"delta": None}, "delta", "Change score"),
        ("remove_from_list", {"list": None}, "list", "Remove from list"),
    ],
)
def test_contact_steps_need_their_field(block_type, value, field, label):
    error, block = activation_refusal(steps=[child(block_type, value)])
    assert field in block.block_errors and names(error, label, field)


def test_a_date_trigger_on_a_property_needs_the_property_name():
    trigger = child("date_reached", {"date_source": "property", "property_name": ""})
    error, block = activation_refusal("triggers", triggers=[trigger])
    assert "property_name" in block.block_errors
    assert names(error, "Date reached", "property_name", stream="Triggers")


def test_a_date_trigger_on_the_last_order_needs_no_property_name():
    trigger = child("date_reached", {"date_source": "last_order", "property_name": ""})
    flow = Flow.objects.create(name="Reorder", triggers=[trigger], steps=[child("exit", {})])
    flow.activate()
    assert flow.status == FlowStatus.LIVE


def test_an_engagement_trigger_needs_a_threshold():
    trigger = child(
        "engagement", {"min_visits": None, "min_open_rate": None, "min_click_rate": None}
    )
    error, block = activation_refusal("triggers", triggers=[trigger])
    assert "min_visits" in block.block_errors
    assert names(error, "Highly engaged", "min_visits", stream="Triggers")


def branch_of(conditions, wait_up_to=None):
    return child(
        "branch",
        {
            "conditions": conditions,
            "match": "all",
            "wait_up_to_amount": wait_up_to,
            "wait_up_to_unit": "days",
            "yes": [child("exit", {})],
            "no": [],
        },
    )


def test_a_branch_needs_a_condition():
    error, block = activation_refusal(steps=[branch_of([])])
    assert "conditions" in block.block_errors and names(error, "Branch", "conditions")


def test_a_branch_may_not_wait_a_negative_time():
    error, block = activation_refusal(steps=[branch_of([child("is_subscribed")], -2)])
    assert "wait_up_to_amount" in block.block_errors
    assert names(error, "Branch", "wait_up_to_amount")


def test_a_branch_condition_needs_its_fields():
    unnamed = child("property", {"name": " ", "operator": "equals", "value": "x"})
    error, block = activation_refusal(steps=[branch_of([unnamed])])
    conditions = block.block_errors["conditions"]
    assert isinstance(conditions, StreamBlockValidationError)
    assert "name" in conditions.block_errors[0].block_errors
    assert "Step 1 (Branch) › Conditions › Condition 1 (Property) › name:" in error.messages[0]


def test_a_split_needs_a_variant():
    error, block = activation_refusal(steps=[child("split", {"variants": []})])
    assert "variants" in block.block_errors and names(error, "A/B split", "variants")
