"""Flow helpers for the engine tests, and: steps are found by block id, never by index."""

import uuid
from datetime import UTC, datetime

import pytest

from wagtail_flows.engine.advance import advance_enrollment
from wagtail_flows.engine.dispatch import enroll
from wagtail_flows.flows.tree import FlowTree
from wagtail_flows.models import Enrollment, Flow, StepRun

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # a Monday, 09:00 in Amsterdam


def step(type_, id_=None, **value):
    return {"type": type_, "value": value, "id": id_ or uuid.uuid4().hex[:12]}


def wait(id_=None, amount=1, unit="days"):
    return step("wait", id_, amount=amount, unit=unit)


def tag(name, id_=None):
    return step("add_tag", id_, tag=name)


def branch(id_, conditions, yes=(), no=(), match="all", **extra):
    return step(
        "branch",
        id_,
        conditions=list(conditions),
        match=match,
        yes=list(yes),
        no=list(no),
        **extra,
    )


def has_tag(name):
    return {"type": "has_tag", "value": {"tag": name}, "id": uuid.uuid4().hex[:12]}


def score_at_least(score):
    return {"type": "score_at_least", "value": {"score": score}, "id": uuid.uuid4().hex[:12]}


def split(id_, *variants):
    items = [
        {
            "type": "item",
            "id": f"{id_}-{label}",
            "value": {"label": label, "weight": weight, "steps": list(steps)},
        }
        for label, weight, steps in variants
    ]
    return step("split", id_, variants=items)


def make_flow(steps, *, triggers=(), status="live", name="Test flow", **fields):
    flow = Flow(name=name, status=status, **fields)
    flow.steps = list(steps)
    flow.triggers = list(triggers)
    flow.save()
    return flow


def run(enrollment, now):
    """Advance the enrollment at ``now`` and return it fresh from the database."""
    advance_enrollment(enrollment.pk, now=now)
    enrollment.refresh_from_db()
    return enrollment


def run_to_end(enrollment, start=T0, limit=50):
    """Advance, jumping the clock to each wake-up, until the run ends."""
    now = start
    for _ in range(limit):
        enrollment = run(enrollment, now)
        if not enrollment.is_open:
            return enrollment
        now = max(now, enrollment.next_run_at)
    raise AssertionError("the run did not end")


def start(flow, contact, now=T0, **kwargs):
    enrollment = enroll(flow, contact, now=now, **kwargs)
    assert enrollment is not None
    return enrollment


def executed(enrollment):
    return list(
        StepRun.objects.filter(enrollment=enrollment)
        .order_by("pk")
        .values_list("step_id", flat=True)
    )


def open_count(flow):
    return Enrollment.objects.filter(flow=flow, status__in=["active", "waiting"]).count()


# --- the tree ----------------------------------------------------------------------------


NESTED = [
    tag("a", "s1"),
    branch("b1", [has_tag("x")], yes=[tag("y1", "y1"), tag("y2", "y2")], no=[tag("n1", "n1")]),
    split("sp", ("A", 50, [tag("va", "va")]), ("B", 50, [])),
    tag("z", "s9"),
]


def test_the_step_after_a_branch_side_is_the_step_after_the_branch():
    tree = FlowTree(NESTED)
    assert tree.first().id == "s1"
    assert tree.next_after("s1").id == "b1"
    assert tree.next_after("y1").id == "y2"
    assert tree.next_after("y2").id == "sp"
    assert tree.next_after("n1").id == "sp"
    assert tree.next_after("va").id == "s9"
    assert tree.next_after("s9") is None


def test_an_empty_branch_side_continues_after_the_branch():
    tree = FlowTree(NESTED)
    variant_b = tree.get("sp").variants[1]
    assert variant_b.label == "B" and variant_b.weight == 50
    assert tree.start_of(variant_b.steps, "sp").id == "s9"


def test_a_route_never_enters_branches():
    assert FlowTree(NESTED).route_from("y1") == ["y1", "y2", "sp", "s9"]


def test_a_deleted_step_resolves_to_the_next_surviving_step_of_the_route():
    old = FlowTree(NESTED)
    route = old.route_from("y2")
    edited = [s for s in NESTED if s["id"] != "b1"]  # the whole branch is gone
    new = FlowTree(edited)
    assert new.resolve("y2", route).id == "sp"
    assert new.resolve("s1", route).id == "s1"
    assert new.resolve("", []).id == "s1"
    assert FlowTree([tag("a", "s1")]).resolve("y2", route) is None


def test_walk_visits_every_step_in_document_order():
    ids = [s.id for s in FlowTree(NESTED).walk()]
    assert ids == ["s1", "b1", "y1", "y2", "n1", "sp", "va", "s9"]


@pytest.mark.django_db
def test_a_saved_flow_reads_its_nested_steps_from_the_streamfield():
    flow = make_flow(NESTED, status="draft")
    flow = Flow.objects.get(pk=flow.pk)
    from wagtail_flows.flows.tree import tree_for

    tree = tree_for(flow)
    assert [s.id for s in tree.walk()] == ["s1", "b1", "y1", "y2", "n1", "sp", "va", "s9"]
    assert tree.get("y1").get("tag") == "y1"
    assert tree.next_after("n1").id == "sp"


@pytest.mark.django_db
def test_nested_steps_given_without_ids_get_them_and_the_run_reaches_the_end(contact):
    """The Python API may give raw steps without block ids; a run is "at" an id, so each is
    given one when the flow is saved (else a nested step would lead back to the start)."""
    yes = [{"type": "add_tag", "value": {"tag": "yes-side"}}]
    branch_value = {"conditions": [], "match": "all", "yes": yes, "no": []}
    flow = Flow.objects.create(
        name="Built in Python",
        status="live",
        steps=[
            {"type": "add_tag", "value": {"tag": "first"}},
            {"type": "branch", "value": branch_value},
            {"type": "add_tag", "value": {"tag": "last"}},
        ],
    )
    flow.refresh_from_db()
    ids = [step.id for step in FlowTree(flow.steps).walk()]
    assert len(ids) == 4 and all(ids) and len(set(ids)) == 4

    enrollment = run_to_end(start(flow, contact))

    assert enrollment.status == "completed"
    assert set(contact.tagged_items.values_list("tag__name", flat=True)) == {
        "first",
        "yes-side",
        "last",
    }
