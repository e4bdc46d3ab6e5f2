"""Typed contact properties: one write path (``set_values``) keeps the typed table, the JSON
copy and the timeline together; form answers, merge tags, exports and the GDPR export read
the typed values."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from tests.factories import make_form_page
from wagtail_flows import gdpr
from wagtail_flows.emails.merge_tags import render
from wagtail_flows.models import Contact, ContactProperty, Event, FormFieldMapping, PropertyValue
from wagtail_flows.models.properties import (
    check_values,
    parse,
    rebuild_values,
    set_values,
    set_values_bulk,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def props():
    return {
        "company_size": ContactProperty.objects.create(
            key="company_size", label="Company size", type="number"
        ),
        "renewal_date": ContactProperty.objects.create(
            key="renewal_date", label="Renewal date", type="date"
        ),
        "newsletter": ContactProperty.objects.create(
            key="newsletter", label="Newsletter", type="boolean"
        ),
        "topic": ContactProperty.objects.create(
            key="topic", label="Favourite topic", type="choice", choices="Gardening\nCooking"
        ),
    }


@pytest.fixture
def ann(db):
    return Contact.objects.create(email="ann@example.com")


def typed(contact):
    rows = PropertyValue.objects.filter(contact=contact).select_related("property")
    return {
        row.property.key: next(
            v for v in (row.text, row.number, row.date, row.boolean) if v is not None
        )
        for row in rows
    }


# --- reading a value as its type ----------------------------------------------------------


def test_values_are_read_as_their_type(props):
    assert parse(props["company_size"], "1,500") == 1500
    assert parse(props["company_size"], 2.5) == parse(props["company_size"], "2.50")
    assert parse(props["renewal_date"], "2027-03-01") == datetime.date(2027, 3, 1)
    assert parse(props["newsletter"], "Yes") is True and parse(props["newsletter"], "0") is False
    assert parse(props["topic"], "cooking") == "Cooking"  # as the definition spells it
    assert parse(props["company_size"], "  ") is None


@pytest.mark.parametrize(
    ("key", "raw", "message"),
    [
        ("company_size", "lots", "Company size: enter a number"),
        ("company_size", True, "Company size: enter a number"),
        ("renewal_date", "next spring", "Renewal date: enter a date as YYYY-MM-DD"),
        ("newsletter", "perhaps", "Newsletter: enter yes or no"),
        ("topic", "Skiing", "Favourite topic: choose one of: Gardening, Cooking"),
    ],
)
def test_a_value_that_does_not_read_as_the_type_is_named(props, key, raw, message):
    _parsed, errors = check_values({key: raw}, props)
    assert errors == {key: message}


# --- the write path -----------------------------------------------------------------------


def test_set_values_writes_the_typed_row_the_json_copy_and_the_timeline(props, ann):
    changed = set_values(
        ann,
        {"company_size": "250", "renewal_date": "2027-03-01", "shoe_size": 42},
        source="import",
    )
    assert sorted(changed) == ["company_size", "renewal_date", "shoe_size"]
    ann.refresh_from_db()
    assert ann.properties == {"company_size": 250, "renewal_date": "2027-03-01", "shoe_size": 42}
    assert typed(ann) == {"company_size": 250, "renewal_date": datetime.date(2027, 3, 1)}
    events = Event.objects.filter(contact=ann, kind="property_changed", name="company_size")
    assert events.get().data == {"from": None, "to": 250, "source": "import"}


def test_setting_the_same_value_again_changes_and_records_nothing(props, ann):
    set_values(ann, {"company_size": 250})
    assert set_values(ann, {"company_size": "250.0"}) == []
    assert Event.objects.filter(kind="property_changed").count() == 1


def test_a_blank_value_removes_the_property(props, ann):
    set_values(ann, {"company_size": 250, "shoe_size": 42})
    set_values(ann, {"company_size": "", "shoe_size": None})
    ann.refresh_from_db()
    assert ann.properties == {} and typed(ann) == {}
    removed = Event.objects.filter(kind="property_changed", name="company_size").first()
    assert removed.data == {"from": 250, "to": None}


def test_a_bad_value_changes_nothing_and_names_the_property(props, ann):
    set_values(ann, {"company_size": 10})
    with pytest.raises(ValidationError) as error:
        set_values(ann, {"company_size": "lots", "topic": "Cooking"})
    assert error.value.message_dict == {"company_size": ["Company size: enter a number"]}
    ann.refresh_from_db()
    assert ann.properties == {"company_size": 10} and typed(ann) == {"company_size": 10}


def test_set_values_bulk_costs_the_same_queries_for_five_or_forty_contacts(
    props, django_assert_max_num_queries
):
    def batch(count, start):
        contacts = [Contact(email=f"c{start + i}@example.com") for i in range(count)]
        Contact.objects.bulk_create(contacts)
        contacts = list(Contact.objects.filter(email__in=[c.email for c in contacts]))
        return [(c, {"company_size": i, "topic": "Gardening"}) for i, c in enumerate(contacts)]

    # (SQLite takes at most 999 parameters a query: past ~100 rows an INSERT is split.)
    small, large = batch(5, 0), batch(40, 100)
    with django_assert_max_num_queries(7) as few:
        set_values_bulk(small, source="import")
    with django_assert_max_num_queries(len(few.captured_queries)):
        set_values_bulk(large, source="import")
    assert PropertyValue.objects.count() == 90
    assert Event.objects.filter(kind="property_changed").count() == 90


def test_set_values_bulk_refuses_a_batch_with_a_bad_row_naming_it(props, ann):
    bob = Contact.objects.create(email="bob@example.com")
    with pytest.raises(ValidationError) as error:
        set_values_bulk([(ann, {"company_size": 1}), (bob, {"company_size": "x"})])
    assert error.value.message_dict == {"1": ["Company size: enter a number"]}
    assert not PropertyValue.objects.exists()


# --- defining a property over a key already in use, changing a type -----------------------


def test_a_new_property_takes_the_values_its_key_already_has(ann):
    Contact.objects.filter(pk=ann.pk).update(properties={"phone": "+44 20 7946 0000"})
    Contact.objects.create(email="bob@example.com", properties={"seats": "12"})
    Contact.objects.create(email="cat@example.com", properties={"seats": "a dozen"})
    phone = ContactProperty.objects.create(key="phone", label="Phone", type="text")
    seats = ContactProperty.objects.create(key="seats", label="Seats", type="number")
    assert phone.rebuild_report.copied == 1
    assert (seats.rebuild_report.copied, seats.rebuild_report.failed) == (1, 1)
    assert seats.rebuild_report.examples[0][:2] == ("cat@example.com", "a dozen")
    assert Contact.objects.get(email="bob@example.com").properties == {"seats": 12}
    assert Contact.objects.get(email="cat@example.com").properties == {"seats": "a dozen"}
    assert not Event.objects.filter(kind="property_changed").exists()  # nobody changed it


def test_a_type_change_is_refused_while_a_value_would_not_fit_and_rebuilds_when_all_do(ann):
    plan = ContactProperty.objects.create(key="plan", label="Plan", type="text")
    set_values(ann, {"plan": "12"})
    plan.type = "number"
    plan.full_clean()
    plan.save()
    assert typed(ann) == {"plan": 12}
    set_values(ann, {"plan": 13})
    plan.type = "date"
    with pytest.raises(ValidationError) as error:
        plan.full_clean()
    assert "“13”" in error.value.message_dict["type"][0]
    ann.refresh_from_db()
    assert ann.properties == {"plan": 13}


def test_rebuild_values_repairs_a_json_copy_written_around_set_values(props, ann):
    Contact.objects.filter(pk=ann.pk).update(properties={"company_size": "40"})
    rebuild_values(props["company_size"])
    assert typed(ann) == {"company_size": 40}


# --- form answers -------------------------------------------------------------------------


@pytest.fixture
def signup_page():
    page = make_form_page(
        "Sign up",
        fields=[
            ("Your email", "email", True),
            ("Company size", "singleline", False),
            ("Topic", "singleline", False),
        ],
    )
    FormFieldMapping.objects.create(
        page=page,
        targets={
            "your_email": {"target": "email"},
            "company_size": {"target": "property", "key": "company_size"},
            "topic": {"target": "property", "key": "topic"},
        },
    )
    return page


def submit(page, **data):
    response = Client().post(page.url, data)
    assert response.status_code == 200, response.content[:300]
    return Contact.objects.get(email=data["your_email"])


def test_a_form_answer_fills_a_defined_property_as_its_type(props, signup_page):
    ann = submit(signup_page, your_email="ann@example.com", company_size="1 500", topic="cooking")
    assert ann.properties == {"company_size": 1500, "topic": "Cooking"}
    assert typed(ann) == {"company_size": 1500, "topic": "Cooking"}


def test_an_answer_that_does_not_fit_is_kept_in_the_submission_and_noted(props, signup_page):
    ann = submit(signup_page, your_email="ann@example.com", company_size="huge", topic="Cooking")
    assert ann.properties == {"topic": "Cooking"}
    event = Event.objects.get(contact=ann, kind="form_submitted")
    assert event.data["company_size"] == "huge"
    assert event.data["_not_saved_as_property"] == {"company_size": "Company size: enter a number"}


# --- merge tags, GDPR ---------------------------------------------------------------------


def test_merge_tags_show_typed_values(props, ann):
    set_values(ann, {"company_size": 250, "renewal_date": "2027-03-01", "newsletter": True})
    ann.refresh_from_db()
    data = {"contact": {"first_name": "Ann", "properties": ann.properties}}
    source = (
        "{{ contact.properties.company_size }} staff, renews {{ contact.properties.renewal_date }}"
        ' ({{ contact.properties.renewal_date|date:"j M" }}),'
        ' news: {{ contact.properties.newsletter|yesno:"yes,no" }}'
    )
    assert render(source, data) == "250 staff, renews March 1, 2027 (1 Mar), news: yes"


def test_the_gdpr_export_lists_typed_values_and_erasing_removes_them(props, ann):
    set_values(ann, {"company_size": 250, "topic": "Gardening"})
    exported = gdpr.export_contact(ann)
    assert [(p["label"], p["value"]) for p in exported["properties"]] == [
        ("Company size", "250.0000"),
        ("Favourite topic", "Gardening"),
    ]
    assert exported["contact"]["properties"] == {"company_size": 250, "topic": "Gardening"}
    gdpr.erase_contact(ann)
    assert not PropertyValue.objects.exists()
