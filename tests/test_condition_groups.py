"""NOT ("none of these") and groups (all / any of), nested two levels deep, answer the same
for one contact (``evaluate``) and in the database (``to_q``, ``count``), for every condition
type — so "opened a lot but hasn't ordered" or "not tagged dormant" can be said."""

import contextlib
import os
import uuid

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from taggit.models import Tag

from tests.test_conditions import (  # noqa: F401  (pool is a fixture)
    NOW,
    condition_strategy,
    contact_strategy,
    make_contact,
    pool,
)
from tests.test_property_conditions import DEFINED, OPERATORS, RAW, VALUES, define_all
from tests.test_property_conditions import raw as raw_property
from wagtail_flows.flows import conditions
from wagtail_flows.flows.blocks import CONDITION_TYPES, ConditionsBlock
from wagtail_flows.flows.describe import describe_conditions
from wagtail_flows.flows.kinds import conditions_event_kinds
from wagtail_flows.flows.validation import conditions_errors
from wagtail_flows.models import Contact, ContactProperty, TaggedContact
from wagtail_flows.models.properties import set_values

pytestmark = pytest.mark.django_db


def raw(block_type, value=None):
    return {"type": block_type, "value": value, "id": str(uuid.uuid4())}


def group(match, *children):
    return raw("group", {"match": match, "conditions": list(children)})


def none_of(*children):
    return raw("none_of", {"conditions": list(children)})


def stream(*children):
    return ConditionsBlock().to_python(list(children))


def _group(match, children):
    return group(match, *children)


def group_strategy(leaf):
    def wrap(inner):
        children = st.lists(inner, min_size=0, max_size=3)
        return st.one_of(
            leaf,
            st.builds(_group, st.sampled_from(["all", "any"]), children),
            st.builds(lambda cs: none_of(*cs), children),
        )

    return wrap(wrap(leaf))


def assert_agree(conds, match):
    selected = set(
        Contact.objects.filter(conditions.to_q(conds, match=match, now=NOW)).values_list(
            "pk", flat=True
        )
    )
    assert conditions.count(conds, match=match, now=NOW) == len(selected)
    for contact in Contact.objects.all():
        expected = conditions.evaluate(conds, contact, match=match, now=NOW)
        assert expected == (contact.pk in selected), (
            f"{describe_conditions(conds, match)} disagree on {contact.properties!r} "
            f"score={contact.score} stage={contact.stage}"
        )


HYPOTHESIS = settings(
    max_examples=int(os.environ.get("FLOWS_HYPOTHESIS_EXAMPLES", 80)),
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@HYPOTHESIS
@given(data=st.data())
def test_every_condition_type_agrees_under_not_and_in_nested_groups(pool, data):  # noqa: F811
    specs = data.draw(st.lists(contact_strategy(pool), min_size=1, max_size=4), label="contacts")
    conds = st.lists(group_strategy(condition_strategy(pool)), min_size=1, max_size=3)
    raws = data.draw(conds, label="conds")
    match = data.draw(st.sampled_from(["all", "any"]), label="match")
    with transaction.atomic():
        for index, spec in enumerate(specs):
            make_contact(pool, index, spec)
        assert_agree(ConditionsBlock().to_python(raws), match)
        transaction.set_rollback(True)


@HYPOTHESIS
@given(data=st.data())
def test_typed_properties_agree_under_not_and_in_groups(data):
    before = data.draw(
        st.lists(st.dictionaries(st.sampled_from(sorted(DEFINED)), RAW, max_size=4), max_size=4)
    )
    after = data.draw(st.lists(st.tuples(st.sampled_from(sorted(DEFINED)), RAW), max_size=3))
    leaf = st.builds(
        raw_property,
        st.sampled_from(sorted(DEFINED)),
        st.sampled_from(OPERATORS),
        st.sampled_from(VALUES),
    )
    raws = data.draw(st.lists(group_strategy(leaf), min_size=1, max_size=2))
    match = data.draw(st.sampled_from(["all", "any"]))
    with transaction.atomic():
        contacts = [
            Contact.objects.create(email=f"c{i}@example.com", properties=props)
            for i, props in enumerate(before)
        ]
        define_all()
        for index, (key, value) in enumerate(after):
            if contacts:
                with contextlib.suppress(ValidationError):
                    set_values(contacts[index % len(contacts)], {key: value})
        assert_agree(ConditionsBlock().to_python(raws), match)
        transaction.set_rollback(True)


# --- worked examples ----------------------------------------------------------------------


def test_the_editor_offers_group_and_not_two_levels_deep():
    assert {"group", "none_of"} <= CONDITION_TYPES
    top = ConditionsBlock()
    inner = top.child_blocks["group"].child_blocks["conditions"]
    innermost = inner.child_blocks["group"].child_blocks["conditions"]
    assert {"group", "none_of"} <= set(inner.child_blocks)
    assert {"group", "none_of"} <= set(innermost.child_blocks)
    assert "has_tag" in innermost.child_blocks


def test_not_tagged_dormant_keeps_dormant_contacts_out(contact):
    other = Contact.objects.create(email="awake@example.com")
    TaggedContact.objects.create(content_object=contact, tag=Tag.objects.create(name="dormant"))
    conds = stream(none_of(raw("has_tag", {"tag": "dormant"})))
    assert not conditions.evaluate(conds, contact)
    assert conditions.evaluate(conds, other)
    assert list(Contact.objects.filter(conditions.to_q(conds))) == [other]
    assert describe_conditions(conds) == "Not: Has tag “dormant”"


def test_not_on_a_missing_property_counts_contacts_without_it():
    """SQL NULL (no such key) must not drop a contact from "not plan is pro"."""
    Contact.objects.create(email="pro@example.com", properties={"plan": "pro"})
    Contact.objects.create(email="none@example.com", properties={})
    conds = stream(
        none_of(raw("property", {"name": "plan", "operator": "equals", "value": "pro"}))
    )
    assert conditions.count(conds) == 1
    assert list(
        Contact.objects.filter(conditions.to_q(conds)).values_list("email", flat=True)
    ) == ["none@example.com"]


def test_not_on_a_lone_typed_property_is_not_counted_by_the_fast_path():
    ContactProperty.objects.create(key="company_size", label="Size", type="number")
    big = Contact.objects.create(email="big@example.com")
    Contact.objects.create(email="small@example.com")
    set_values(big, {"company_size": 500})
    positive = raw("property", {"name": "company_size", "operator": "gte", "value": "100"})
    assert conditions.count(stream(positive)) == 1
    assert conditions.count(stream(none_of(positive))) == 1
    assert conditions.count(stream(group("all", positive))) == 1


def test_opened_a_lot_but_has_not_ordered(pool):  # noqa: F811
    from tests.test_conditions import make_contact as make

    base = {
        "stage": "lead", "status": "subscribed", "score": 0, "first_name": "", "properties": {},
        "lists": set(), "tags": set(), "answers": [], "messages": [(0, 1, None), (1, 1, None)],
    }  # fmt: skip
    buyer = make(pool, 0, {**base, "events": [("order_placed", 1, 3, "", 20, "")]})
    browser = make(pool, 1, {**base, "events": []})
    conds = stream(
        group(
            "all",
            raw("opened_email", {"email": pool["emails"][0].pk}),
            raw("opened_email", {"email": pool["emails"][1].pk}),
        ),
        none_of(raw("has_ordered", {})),
    )
    assert not conditions.evaluate(conds, buyer, now=NOW)
    assert conditions.evaluate(conds, browser, now=NOW)
    assert list(Contact.objects.filter(conditions.to_q(conds, now=NOW))) == [browser]


def test_groups_nested_two_levels_read_in_brackets():
    conds = stream(
        none_of(raw("has_tag", {"tag": "dormant"})),
        group(
            "any",
            raw("score_at_least", {"score": 50}),
            group("all", raw("stage_is", {"stage": "mql"}), none_of(raw("is_subscribed"))),
        ),
    )
    assert describe_conditions(conds) == (
        "Not: Has tag “dormant” and (Score at least 50 or "
        "(Stage is Marketing qualified lead and Not: Subscribed to marketing email))"
    )


def test_form_answers_inside_groups_and_not_read_the_runs_submission(contact):
    answer = raw("form_answer", {"field": "topic", "operator": "equals", "value": "Gardening"})
    conds = stream(group("any", raw("score_at_least", {"score": 999}), none_of(answer)))
    gardening = {"event": 1, "form": {"topic": "Gardening"}}
    cooking = {"event": 1, "form": {"topic": "Cooking"}}
    assert not conditions.evaluate(conds, contact, context=gardening)
    assert conditions.evaluate(conds, contact, context=cooking)


def test_goals_and_exits_listen_to_the_kinds_inside_groups():
    conds = stream(
        group("any", none_of(raw("has_tag", {"tag": "vip"})), raw("has_ordered", {})),
        none_of(group("all", raw("did_event", {"kind": "custom", "min_count": 1}))),
    )
    assert conditions_event_kinds(conds) == {"tag_added", "order_placed", "custom"}
    raw_json = [none_of(group("all", raw("opened_email", {})))]
    assert conditions_event_kinds(raw_json) == {"email_opened"}


def test_an_empty_group_or_not_is_an_error_naming_the_block():
    errors = conditions_errors(stream(group("any"), none_of()), "conditions")
    messages = errors["conditions"].readable_messages
    assert any("Condition 1 (Group (all / any of))" in m and "group" in m for m in messages)
    assert any("Condition 2 (Not (none of these))" in m for m in messages)


def test_a_half_filled_condition_deep_in_a_group_is_named():
    blank_property = raw("property", {"name": "", "operator": "equals", "value": "x"})
    errors = conditions_errors(stream(group("all", none_of(blank_property))), "conditions")
    (message,) = errors["conditions"].readable_messages
    assert message.count("›") == 4
    assert "Name the property to compare." in message


def test_old_flat_conditions_still_read_and_keep_the_top_level_match(contact):
    conds = stream(raw("score_at_least", {"score": 999}), raw("is_subscribed"))
    assert conditions.evaluate(conds, contact, match="any") == (contact.status == "subscribed")
    assert conditions.evaluate(stream(), contact)


def test_the_simulator_takes_a_branch_on_a_not_inside_a_group(contact):
    from wagtail_flows.engine.simulate import simulate
    from wagtail_flows.models import Flow

    conds = [group("any", raw("score_at_least", {"score": 999}), none_of(raw("has_tag", {})))]
    branch = {
        "conditions": conds,
        "match": "all",
        "wait_up_to_amount": None,
        "wait_up_to_unit": "days",
        "yes": [{"type": "add_tag", "value": {"tag": "untagged"}, "id": "yes-tag"}],
        "no": [{"type": "add_tag", "value": {"tag": "tagged"}, "id": "no-tag"}],
    }
    flow = Flow.objects.create(
        name="Sorting",
        triggers=[raw("manual", None)],
        steps=[{"type": "branch", "value": branch, "id": "sort"}],
    )
    assert "yes-tag" in [row.step_id for row in simulate(flow, contact)]
    TaggedContact.objects.create(content_object=contact, tag=Tag.objects.create(name="vip"))
    assert "no-tag" in [row.step_id for row in simulate(flow, contact)]
