"""The ``property`` condition on a property defined in the admin compares as its type, and
``evaluate`` (the contact's JSON copy) agrees with ``to_q`` (the typed table) on every
contact, including values that did not read as the type when the property was defined."""

import contextlib
import datetime
import os
import uuid

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from wagtail_flows.flows import conditions
from wagtail_flows.flows.blocks import ConditionsBlock
from wagtail_flows.models import Contact, ContactProperty, Segment
from wagtail_flows.models.properties import set_values

pytestmark = pytest.mark.django_db

NOW = timezone.now()
TODAY = timezone.localdate(NOW)
OPERATORS = [
    "equals", "not_equals", "contains", "gt", "gte", "lt", "lte", "is_set", "is_not_set",
    "before", "after", "in_last_days", "in_next_days",
]  # fmt: skip
DEFINED = {
    "company_size": ("number", ""),
    "renewal_date": ("date", ""),
    "newsletter": ("boolean", ""),
    "topic": ("choice", "Gardening\nCooking\nTravel"),
    "plan": ("text", ""),
}


def day(offset):
    return (TODAY + datetime.timedelta(days=offset)).isoformat()


# Raw JSON a contact may hold before the property is defined (some do not read as the type).
RAW = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 600),
    st.sampled_from([2.5, 10.0, "12", "1,500", "big", "", "yes", "no", "Cooking", "cooking"]),
    st.sampled_from([day(-40), day(-3), day(0), day(2), day(45), "2026-13-01", "soon"]),
    st.sampled_from(["Pro plan", "pro", "Gardening", "Travel"]),
)
VALUES = [
    "", "10", "12", "2.5", "-1", "600", "yes", "no", "true", "Cooking", "cooking", "pro",
    "Pro", "plan", "3", "30", day(-3), day(0), day(2), "x",
]  # fmt: skip


def raw(name, operator, value):
    block = {"name": name, "operator": operator, "value": value}
    return {"type": "property", "value": block, "id": str(uuid.uuid4())}


def define_all():
    for key, (kind, choices) in DEFINED.items():
        ContactProperty.objects.create(key=key, label=key.title(), type=kind, choices=choices)


def assert_agree(stream, match):
    selected = set(
        Contact.objects.filter(conditions.to_q(stream, match=match, now=NOW)).values_list(
            "pk", flat=True
        )
    )
    assert conditions.count(stream, match=match, now=NOW) == len(selected)
    for contact in Contact.objects.all():
        expected = conditions.evaluate(stream, contact, match=match, now=NOW)
        assert expected == (contact.pk in selected), (
            f"{[dict(c.value) for c in stream]} {match} disagree on {contact.properties!r}"
        )


@settings(
    max_examples=int(os.environ.get("FLOWS_HYPOTHESIS_EXAMPLES", 60)),
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_typed_property_conditions_agree_in_the_database_and_on_one_contact(data):
    before = data.draw(
        st.lists(st.dictionaries(st.sampled_from(sorted(DEFINED)), RAW, max_size=4), max_size=4)
    )
    after = data.draw(st.lists(st.tuples(st.sampled_from(sorted(DEFINED)), RAW), max_size=3))
    condition = st.builds(
        raw, st.sampled_from(sorted(DEFINED)), st.sampled_from(OPERATORS), st.sampled_from(VALUES)
    )
    raws = data.draw(st.lists(condition, min_size=1, max_size=2))
    match = data.draw(st.sampled_from(["all", "any"]))
    with transaction.atomic():
        contacts = [
            Contact.objects.create(email=f"c{i}@example.com", properties=props)
            for i, props in enumerate(before)
        ]
        define_all()  # copies the JSON values that read as each type
        for index, (key, value) in enumerate(after):
            if contacts:
                with contextlib.suppress(ValidationError):  # a bad value changes nothing
                    set_values(contacts[index % len(contacts)], {key: value})
        assert_agree(ConditionsBlock().to_python(raws), match)
        transaction.set_rollback(True)


# --- worked examples ----------------------------------------------------------------------


@pytest.fixture
def defined():
    define_all()
    ann = Contact.objects.create(email="ann@example.com")
    bob = Contact.objects.create(email="bob@example.com")
    set_values(ann, {"company_size": "250", "renewal_date": day(10), "topic": "cooking"})
    set_values(bob, {"company_size": "9", "renewal_date": day(-10), "newsletter": "yes"})
    return ann, bob


def matching(name, operator, value):
    stream = ConditionsBlock().to_python([raw(name, operator, value)])
    in_db = sorted(
        Contact.objects.filter(conditions.to_q(stream, now=NOW)).values_list("email", flat=True)
    )
    one_by_one = sorted(
        c.email for c in Contact.objects.all() if conditions.evaluate(stream, c, now=NOW)
    )
    assert in_db == one_by_one
    return [email.split("@")[0] for email in in_db]


def test_numbers_compare_as_numbers_not_as_text(defined):
    assert matching("company_size", "gte", "100") == ["ann"]  # as text "9" > "100"
    assert matching("company_size", "lt", "10") == ["bob"]
    assert matching("company_size", "equals", "250.0") == ["ann"]


def test_dates_compare_as_dates_with_before_after_and_windows(defined):
    assert matching("renewal_date", "after", day(0)) == ["ann"]
    assert matching("renewal_date", "before", day(0)) == ["bob"]
    assert matching("renewal_date", "in_next_days", "30") == ["ann"]
    assert matching("renewal_date", "in_next_days", "5") == []
    assert matching("renewal_date", "in_last_days", "10") == ["bob"]


def test_yes_no_and_choices(defined):
    assert matching("newsletter", "equals", "yes") == ["bob"]
    assert matching("newsletter", "is_not_set", "") == ["ann"]
    assert matching("topic", "equals", "Cooking") == ["ann"]  # stored as the choice is spelt
    assert matching("topic", "not_equals", "Cooking") == ["bob"]


def test_a_segment_counts_contacts_by_a_typed_property(defined):
    segment = Segment.objects.create(
        name="Big companies", conditions=[raw("company_size", "gte", "100")]
    )
    assert list(segment.contacts().values_list("email", flat=True)) == ["ann@example.com"]
