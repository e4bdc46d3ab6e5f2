"""A flow starts when a contact property changes — optionally from one value, to another —
wherever the property is changed: the contact's page in the admin, a form answer mapped to
the property, a developer's ``set_values``. An import changes properties without starting
flows, and a contact field (first_name, stage…) is no property: activation says so."""

import uuid

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from tests.conftest import make_staff_user
from tests.factories import make_form_page
from tests.test_admin_properties import contact_form_data
from wagtail_flows.flows.describe import describe
from wagtail_flows.models import Contact, ContactProperty, Enrollment, Flow, FormFieldMapping
from wagtail_flows.models.properties import set_values

pytestmark = pytest.mark.django_db
BROWSER = "Mozilla/5.0 (Windows NT 10.0) Firefox/128.0"
CONTACTS_URL = "/admin/flows/contacts/"


def child(block_type, value=None):
    return {"type": block_type, "value": value, "id": str(uuid.uuid4())}


def live_flow(title, **trigger):
    value = {"name": "plan", "from_value": "", "to_value": "", **trigger}
    return Flow.objects.create(
        name=title,
        status="live",
        triggers=[child("property_changed", value)],
        steps=[child("add_tag", {"tag": title.lower()})],
    )


def started(flow):
    return set(Enrollment.objects.filter(flow=flow).values_list("contact__email", flat=True))


@pytest.fixture
def plan(db):
    return ContactProperty.objects.create(
        key="plan", label="Plan", type="choice", choices="Free\nPro\nTeam"
    )


@pytest.fixture
def manager():
    client = Client()
    client.force_login(make_staff_user("manager", "change_contact", "view_contact"))
    return client


def test_an_upgrade_typed_on_the_contacts_page_starts_the_upgrade_flow(
    plan, manager, django_capture_on_commit_callbacks
):
    ann = Contact.objects.create(email="ann@example.com", status="subscribed")
    set_values(ann, {"plan": "Free"})
    upgraded = live_flow("Upgraded", from_value="Free", to_value="Pro")
    any_change = live_flow("Plan changed")
    downgraded = live_flow("Downgraded", from_value="Pro", to_value="Free")

    with django_capture_on_commit_callbacks(execute=True):
        response = manager.post(
            f"{CONTACTS_URL}edit/{ann.pk}/", contact_form_data(ann, property__plan="Pro")
        )
    assert response.status_code == 302, response.context["form"].errors

    assert started(upgraded) == {"ann@example.com"}
    assert started(any_change) == {"ann@example.com"}
    assert started(downgraded) == set()
    change = ann.events.filter(kind="property_changed").latest("pk")
    assert (change.name, change.data["from"], change.data["to"]) == ("plan", "Free", "Pro")


def test_a_form_answer_mapped_to_the_property_starts_the_flow(
    plan, django_capture_on_commit_callbacks
):
    page = make_form_page(
        "Pricing questions",
        fields=[("Email", "email", True), ("Which plan", "singleline", False)],
    )
    FormFieldMapping.objects.create(
        page=page,
        targets={
            "email": {"target": "email"},
            "which_plan": {"target": "property", "key": "plan"},
        },
    )
    to_team = live_flow("Team trial", to_value="team")  # a choice, in any case
    from_free = live_flow("Left free", from_value="Free")

    with django_capture_on_commit_callbacks(execute=True):
        response = Client(headers={"user-agent": BROWSER}).post(
            page.url, {"email": "bo@example.com", "which_plan": "Team"}
        )
    assert response.status_code == 200

    bo = Contact.objects.get(email="bo@example.com")
    assert bo.properties == {"plan": "Team"}
    assert started(to_team) == {"bo@example.com"}
    assert started(from_free) == set()  # bo had no plan before: not "from Free"


@pytest.mark.parametrize(
    ("prop", "before", "after", "trigger", "starts"),
    [
        # defined properties, compared as their type
        ({"type": "number"}, 10, "250", {"to_value": "250.0"}, True),
        ({"type": "number"}, 10, "250", {"from_value": "9"}, False),
        ({"type": "date"}, "2026-03-01", "2027-03-01", {"to_value": "2027-03-01"}, True),
        ({"type": "boolean"}, None, "yes", {"to_value": "true"}, True),
        ({"type": "boolean"}, "yes", "no", {"from_value": "false"}, False),
        # free-form keys, compared as JSON (text exactly, numbers as numbers)
        (None, "basic", "gold", {"from_value": "basic", "to_value": "gold"}, True),
        (None, "basic", "gold", {"to_value": "Gold"}, False),
        (None, 3, 5, {"to_value": "5.0"}, True),
        (None, "gold", None, {}, True),  # removed: any change
    ],
)
def test_from_and_to_compare_as_the_property_condition_does(
    prop, before, after, trigger, starts, django_capture_on_commit_callbacks
):
    if prop is not None:
        ContactProperty.objects.create(key="tier", label="Tier", **prop)
    cy = Contact.objects.create(email="cy@example.com")
    if before is not None:
        set_values(cy, {"tier": before})
    flow = live_flow("Tier", name="tier", **trigger)
    with django_capture_on_commit_callbacks(execute=True):
        assert set_values(cy, {"tier": after}, source="crm sync") == ["tier"]
    assert started(flow) == ({"cy@example.com"} if starts else set())


def test_a_change_of_another_property_or_the_same_value_again_starts_nothing(
    plan, django_capture_on_commit_callbacks
):
    dee = Contact.objects.create(email="dee@example.com")
    set_values(dee, {"plan": "Pro"})
    flow = live_flow("Plan changed")
    with django_capture_on_commit_callbacks(execute=True):
        set_values(dee, {"company": "Green Spoon", "plan": "Pro"})
    assert started(flow) == set()


def test_an_import_changes_the_property_without_starting_the_flow(
    plan, django_capture_on_commit_callbacks
):
    from wagtail_flows.engine import imports as importing
    from wagtail_flows.engine.tasks import run_import_task

    eve = Contact.objects.create(email="eve@example.com")
    set_values(eve, {"plan": "Free"})
    flow = live_flow("Plan changed")
    content = b"Email,Plan\neve@example.com,Pro\n"
    with django_capture_on_commit_callbacks(execute=True):
        contact_import, _preview = importing.create_import("plans.csv", content)
        contact_import.mapping = {"Email": "email", "Plan": "property:plan"}
        contact_import.consent, contact_import.existing = "none", "update"
        importing.start_import(contact_import, background=False)
        run_import_task(contact_import.pk)
    eve.refresh_from_db()
    assert eve.properties == {"plan": "Pro"}
    assert started(flow) == set()


def refusal(trigger):
    flow = Flow.objects.create(name="Watch", triggers=[child("property_changed", trigger)])
    with pytest.raises(ValidationError) as excinfo:
        flow.validate_for_activation()
    return excinfo.value.error_dict["triggers"][0]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "Name the property to watch."),
        ("first_name", "“first_name” is a contact field, not a property"),
        ("Stage", "“Stage” is a contact field, not a property"),
    ],
)
def test_activation_names_the_property_field(name, message):
    error = refusal({"name": name, "from_value": "", "to_value": ""})
    assert list(error.block_errors[0].block_errors) == ["name"]
    assert message in error.message
    assert "Triggers › Trigger 1 (Property changed) › name" in error.message


def test_a_watched_property_goes_live():
    flow = Flow.objects.create(
        name="Watch",
        triggers=[child("property_changed", {"name": "plan", "from_value": "", "to_value": ""})],
        steps=[child("add_tag", {"tag": "x"})],
    )
    flow.validate_for_activation()


@pytest.mark.parametrize(
    ("value", "sentence"),
    [
        ({"name": "plan"}, "Property plan changes"),
        ({"name": "plan", "to_value": "Pro"}, "Property plan changes to “Pro”"),
        (
            {"name": "plan", "from_value": "Free", "to_value": "Pro"},
            "Property plan changes from “Free” to “Pro”",
        ),
        ({"name": ""}, "Property (none named) changes"),
    ],
)
def test_the_trigger_reads_as_a_sentence(value, sentence):
    assert describe(("property_changed", value)) == sentence
