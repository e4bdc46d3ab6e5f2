"""A marketer reads a flow at a glance, and a contact's story on one page."""

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test import RequestFactory
from django.test.html import parse_html
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import ContactFactory, make_email_page
from wagtail_flows.models import Enrollment, Event, Flow, Message
from wagtail_flows.panels.diagram import FlowDiagramPanel, waiting_counts
from wagtail_flows.panels.timeline import ContactTimelinePanel, contact_timeline


def raw(type_, value=None, id_=None):
    return {
        "type": type_,
        "value": value if value is not None else {},
        "id": id_ or str(uuid.uuid4()),
    }


def variant(label, weight, steps):
    value = {"label": label, "weight": weight, "steps": steps}
    return {"type": "item", "value": value, "id": str(uuid.uuid4())}


NESTED_WAIT = str(uuid.uuid4())
TOP_WAIT = str(uuid.uuid4())


def nested_flow():
    welcome = make_email_page("Welcome")
    offer = make_email_page("VIP offer")
    steps = [
        raw("send_email", {"page": welcome.pk}),
        raw("wait", {"amount": 3, "unit": "days"}, TOP_WAIT),
        raw(
            "branch",
            {
                "conditions": [raw("has_tag", {"tag": "vip"})],
                "match": "all",
                "yes": [
                    raw("send_email", {"page": offer.pk}),
                    raw(
                        "split",
                        {
                            "variants": [
                                variant(
                                    "A",
                                    70,
                                    [raw("wait", {"amount": 1, "unit": "days"}, NESTED_WAIT)],
                                ),
                                variant("B", 30, [raw("add_tag", {"tag": "b"})]),
                            ]
                        },
                    ),
                ],
                "no": [raw("wait", {"amount": 2, "unit": "days"})],
            },
        ),
        raw("exit", {"reason": ""}),
    ]
    return Flow.objects.create(
        name="Welcome",
        triggers=[raw("form_submitted", {"form_page": None})],
        steps=steps,
        goal=[raw("has_ordered", {})],
    )


def render_diagram(flow):
    panel = FlowDiagramPanel().bind_to_model(Flow)
    bound = panel.get_bound_panel(instance=flow, request=RequestFactory().get("/"), form=None)
    return bound.render_html()


# --- a small reader for the rendered tree -------------------------------------------------


def classes(element):
    return dict(element.attributes).get("class", "").split()


def attr(element, name):
    return dict(element.attributes).get(name)


def children(element, tag=None, cls=None):
    return [
        c
        for c in element.children
        if not isinstance(c, str)
        and (tag is None or c.name == tag)
        and (cls is None or cls in classes(c))
    ]


def find(element, cls):
    """Depth-first, the first descendant with this class."""
    for child in children(element):
        if cls in classes(child):
            return child
        found = find(child, cls)
        if found is not None:
            return found
    return None


def text(element):
    parts = [c if isinstance(c, str) else text(c) for c in element.children]
    return " ".join(" ".join(parts).split())


def steps_of(steps_list):
    return children(steps_list, "li", "wf-step")


def label_of(step):
    return text(find(step, "wf-node__label"))


def columns_of(step):
    return {attr(col, "aria-label"): col for col in children(find(step, "wf-columns"), "section")}


def column_labels(column):
    return [label_of(step) for step in steps_of(children(column, "ol")[0])]


# --- the diagram --------------------------------------------------------------------------


@pytest.mark.django_db
def test_diagram_draws_nested_branches_and_splits_side_by_side():
    tree = parse_html(render_diagram(nested_flow()))
    top = steps_of(find(tree, "wf-steps"))
    assert [attr(s, "data-block-type") for s in top] == ["send_email", "wait", "branch", "exit"]
    assert label_of(top[0]) == "Send “Welcome”"
    assert label_of(top[1]) == "Wait 3 days"
    assert label_of(top[2]) == "If Has tag “vip”"

    sides = columns_of(top[2])
    assert list(sides) == ["Yes", "No"]
    assert column_labels(sides["No"]) == ["Wait 2 days"]
    yes_steps = steps_of(children(sides["Yes"], "ol")[0])
    assert [label_of(s) for s in yes_steps] == ["Send “VIP offer”", "Split: A 70%, B 30%"]

    variants = columns_of(yes_steps[1])
    assert list(variants) == ["A (70%)", "B (30%)"]
    assert column_labels(variants["A (70%)"]) == ["Wait 1 day"]
    assert column_labels(variants["B (30%)"]) == ["Add tag “b”"]


@pytest.mark.django_db
def test_diagram_shows_triggers_on_top_and_the_goal_at_the_bottom():
    tree = parse_html(render_diagram(nested_flow()))
    diagram = find(tree, "wf-diagram") or tree
    sections = [c for c in children(diagram) if "wf-diagram__section" in classes(c)]
    start, end = sections[0], sections[-1]
    assert "wf-diagram__start" in classes(start) and "Submits any form" in text(start)
    assert "wf-diagram__end" in classes(end) and "Has ordered" in text(end)


@pytest.mark.django_db
def test_diagram_counts_contacts_waiting_at_each_step(django_assert_num_queries):
    flow = nested_flow()
    for status, step in [
        ("waiting", NESTED_WAIT),
        ("waiting", NESTED_WAIT),
        ("active", TOP_WAIT),
        ("completed", NESTED_WAIT),
        ("converted", TOP_WAIT),
    ]:
        Enrollment.objects.create(
            flow=flow, contact=ContactFactory(), status=status, current_step=step
        )
    with django_assert_num_queries(1):
        assert waiting_counts(flow) == {NESTED_WAIT: 2, TOP_WAIT: 1}

    tree = parse_html(render_diagram(flow))
    top = steps_of(find(tree, "wf-steps"))
    assert text(find(top[1], "wf-count")) == "1 waiting at this step"
    nested = find(tree, "wf-diagram")
    nested_wait = [
        li for li in _all_steps(nested or tree) if attr(li, "data-step-id") == NESTED_WAIT
    ][0]
    assert text(find(nested_wait, "wf-count")) == "2 waiting at this step"
    assert find(top[0], "wf-count") is None


def _all_steps(element):
    for child in children(element):
        if "wf-step" in classes(child):
            yield child
        yield from _all_steps(child)


@pytest.mark.django_db
def test_an_empty_draft_says_what_is_missing():
    html = render_diagram(Flow(name="New"))
    assert "No trigger yet" in html and "No steps yet." in html and "No goal" in html


@pytest.mark.django_db
def test_the_report_tab_shows_the_diagram(admin_client):
    flow = nested_flow()
    html = admin_client.get(f"/admin/flows/edit/{flow.pk}/").content.decode()
    assert 'aria-label="Flow diagram"' in html
    assert "Wait 3 days" in html and "A (70%)" in html


# --- the contact timeline -----------------------------------------------------------------


@pytest.mark.django_db
def test_timeline_is_newest_first_across_events_emails_and_runs(contact):
    now = timezone.now()
    flow = Flow.objects.create(name="Welcome")
    Event.objects.create(
        contact=contact,
        kind="form_submitted",
        name="Newsletter",
        created_at=now - timedelta(days=3),
    )
    Enrollment.objects.create(flow=flow, contact=contact, enrolled_at=now - timedelta(days=2))
    Message.objects.create(
        contact=contact,
        to_email=contact.email,
        subject="Hello",
        status="sent",
        created_at=now - timedelta(days=1),
        sent_at=now - timedelta(days=1),
        opens=2,
    )
    Event.objects.create(contact=contact, kind="link_clicked", created_at=now)
    entries = contact_timeline(contact)
    assert [e.kind for e in entries] == ["event", "message", "enrollment", "event"]
    assert entries[0].title == "Link clicked"
    assert entries[1].title == "Email “Hello”" and "opened 2×" in entries[1].detail
    assert entries[2].title == "Entered flow “Welcome”"
    assert entries[3].detail == "Newsletter"


@pytest.mark.django_db
def test_timeline_is_bounded_and_its_queries_do_not_grow(contact, django_assert_max_num_queries):
    start = timezone.now()
    for i in range(30):
        Event.objects.create(
            contact=contact, kind="page_viewed", created_at=start + timedelta(minutes=i)
        )
    with django_assert_max_num_queries(4):  # events, messages, runs, consent records
        entries = contact_timeline(contact, limit=10)
    assert len(entries) == 10
    assert entries[0].at == start + timedelta(minutes=29)


@pytest.mark.django_db
def test_timeline_panel_renders_in_the_contact_page(admin_client, contact):
    Event.objects.create(contact=contact, kind="page_viewed", name="Pricing")
    panel = ContactTimelinePanel(limit=5).bind_to_model(type(contact))
    assert panel.limit == 5
    html = admin_client.get(f"/admin/flows/contacts/edit/{contact.pk}/").content.decode()
    assert "wf-timeline__entry--event" in html and "Pricing" in html


# --- a flow run's path on the timeline ----------------------------------------------------


def welcome_series(name, page, customers):
    """Transactional, so that one contact in many of them is not held by the frequency cap."""
    from tests.test_engine_tree import branch, make_flow, step, tag, wait

    in_list = {"type": "in_list", "value": {"list": customers.pk}, "id": uuid.uuid4().hex}
    return make_flow(
        [
            step("send_email", "s1", page=page.pk, subject_override=""),
            wait("w1", amount=2),
            branch("b1", [in_list], yes=[tag("fan", "t1")], no=[]),
            step("add_to_list", "l1", list=customers.pk),
            wait("w2", amount=1, unit="weeks"),
        ],
        name=name,
        kind="transactional",
    )


def walk_to_the_second_wait(flow, contact):
    from tests.test_engine_tree import T0, run, start

    enrollment = run(start(flow, contact), T0)
    return run(enrollment, T0 + timedelta(days=2))


@pytest.mark.django_db
def test_the_timeline_shows_each_runs_path_in_words(admin_client, contact):
    from tests.factories import ContactListFactory

    customers = ContactListFactory(name="Customers")
    contact.add_to_list(customers)
    flow = welcome_series("Welcome series", make_email_page("Welcome email"), customers)
    enrollment = walk_to_the_second_wait(flow, contact)
    assert enrollment.status == "waiting" and enrollment.current_step == "w2"

    html = admin_client.get(f"/admin/flows/contacts/edit/{contact.pk}/").content.decode()
    path = parse_html(html[html.index('class="wf-timeline__path"') - 4 :].split("</ol>")[0])
    lines = [" ".join(text(children(item, "span")[0]).split()) for item in children(path, "li")]
    assert lines == [
        "Send “Welcome email” → email queued",
        "Wait 2 days → waited",
        "If In list “Customers” → took Yes",
        "Add tag “fan” → done",
        "Add to “Customers” → nothing to change",
    ]
    assert "Now at: Wait 1 week, until" in html


@pytest.mark.django_db
def test_a_failed_step_and_a_removed_step_are_named_on_the_path(contact):
    from wagtail_flows.models import StepRun

    flow = Flow.objects.create(name="Old flow", steps=[raw("wait", {"amount": 1, "unit": "days"})])
    run = Enrollment.objects.create(flow=flow, contact=contact, status="failed")
    StepRun.objects.create(
        enrollment=run, step_id="gone", step_type="send_email", outcome="queued"
    )
    StepRun.objects.create(
        enrollment=run,
        step_id=flow.steps[0].id,
        step_type="wait",
        outcome="failed",
        error="wait step: boom",
    )
    (entry,) = contact_timeline(contact)
    assert [(s.label, s.outcome, s.failed) for s in entry.path] == [
        ("Send email (removed from the flow since)", "email queued", False),
        ("Wait 1 day", "failed: wait step: boom", True),
    ]
    assert entry.now == ""


@pytest.mark.django_db
def test_timeline_queries_do_not_grow_with_runs_or_flows(contact, django_assert_num_queries):
    from tests.factories import ContactListFactory

    customers = ContactListFactory(name="Customers")
    contact.add_to_list(customers)
    page = make_email_page("Welcome email")
    walk_to_the_second_wait(welcome_series("Flow 0", page, customers), contact)
    contact_timeline(contact)  # warm caches (content types)
    with CaptureQueriesContext(connection) as one:
        (run,) = [e for e in contact_timeline(contact) if e.kind == "enrollment"]
    assert len(run.path) == 5
    for i in range(1, 10):
        other_page = make_email_page(f"Email {i}")
        other_list = ContactListFactory(name=f"List {i}")
        contact.add_to_list(other_list)
        walk_to_the_second_wait(welcome_series(f"Flow {i}", other_page, other_list), contact)
    with django_assert_num_queries(len(one)):
        entries = [e for e in contact_timeline(contact) if e.kind == "enrollment"]
    assert len(entries) == 10 and all(len(entry.path) == 5 for entry in entries)
    assert {entry.path[0].label for entry in entries} >= {"Send “Email 9”", "Send “Welcome email”"}
