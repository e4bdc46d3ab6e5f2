"""What changed between two versions of a flow, steps matched by block id at any depth."""

import pytest

from wagtail_flows.flows.changes import flow_changes
from wagtail_flows.models import Flow

pytestmark = pytest.mark.django_db


def branch(step_id, yes, no):
    value = {"conditions": [], "match": "all", "yes": yes, "no": no}
    return {"type": "branch", "value": value, "id": step_id}


def tag(step_id, name):
    return {"type": "add_tag", "value": {"tag": name}, "id": step_id}


def version(steps, **fields):
    return Flow(name="Nurture", triggers=[], steps=steps, **fields)


def test_a_step_changed_inside_a_branch_is_one_change_where_it_is():
    published = version([branch("b", [tag("y1", "hot")], [tag("n1", "cold")]), tag("t", "seen")])
    draft = version([branch("b", [tag("y1", "warm")], [tag("n1", "cold")]), tag("t", "seen")])

    rows = [(r.change, r.depth, r.where, r.after) for r in flow_changes(published, draft).steps]

    assert rows == [
        ("unchanged", 0, "", "If Everyone"),
        ("changed", 1, "Yes", "Add tag “warm”"),
        ("unchanged", 1, "No", "Add tag “cold”"),
        ("unchanged", 0, "", "Add tag “seen”"),
    ]


def test_a_removed_step_shows_below_the_step_it_followed():
    published = version([tag("a", "a"), tag("b", "b"), tag("c", "c")])
    draft = version([tag("a", "a"), tag("c", "c"), tag("d", "d")])

    rows = [(r.change, r.before or r.after) for r in flow_changes(published, draft).steps]

    assert rows == [
        ("unchanged", "Add tag “a”"),
        ("removed", "Add tag “b”"),
        ("unchanged", "Add tag “c”"),
        ("added", "Add tag “d”"),
    ]


def test_timing_and_kind_are_compared_and_equal_versions_have_no_changes():
    published = version([tag("a", "a")], send_weekdays=[0, 1])
    assert not flow_changes(published, version([tag("a", "a")], send_weekdays=[0, 1])).has_changes

    changes = flow_changes(
        published, version([tag("a", "a")], send_weekdays=[5], kind="transactional")
    )

    labels = [section.label for section in changes.changed_sections]
    assert labels == ["Kind", "Send window"]
    assert changes.changed_sections[1].after == ["any time, Sat, The contact's time zone"]
