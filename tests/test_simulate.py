"""The simulator shows a marketer the path a contact would take — times, branch decisions,
email subjects — without writing or sending anything, and it is the path the engine takes."""

from datetime import timedelta

import pytest
from django.core import mail
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import ContactFactory, make_email_page
from tests.test_engine_tree import (
    T0,
    branch,
    make_flow,
    run,
    run_to_end,
    score_at_least,
    split,
    start,
    step,
    tag,
    wait,
)
from wagtail_flows.engine import SimEvent, simulate
from wagtail_flows.models import Contact, Enrollment, Event, Message, StepRun

pytestmark = pytest.mark.django_db


def _welcome_flow(page, **fields):
    return make_flow(
        [
            step("send_email", "hello", page=page.pk),
            wait("w", amount=2, unit="days"),
            branch(
                "b",
                [score_at_least(10)],
                yes=[step("send_email", "offer", page=page.pk, subject_override="For you")],
                no=[tag("cold", "cold")],
            ),
        ],
        **fields,
    )


def test_the_path_of_a_sample_contact_with_times_decisions_and_subjects():
    page = make_email_page(subject="Welcome, {{ contact.first_name }}")
    flow = _welcome_flow(page, status="draft")
    path = simulate(flow, start=T0)
    summary = [(p.step_id, p.outcome, p.branch, p.subject, p.at - T0) for p in path]
    assert summary == [
        ("hello", "queued", "", "Welcome, Sample", timedelta(0)),
        ("w", "waiting", "", "", timedelta(0)),
        ("w", "waited", "", "", timedelta(days=2)),
        ("b", "no", "no", "", timedelta(days=2)),
        ("cold", "changed", "", "", timedelta(days=2)),
        ("", "completed", "", "", timedelta(days=2)),
    ]
    assert path[1].until == T0 + timedelta(days=2)
    assert path[0].label and path[-1].label == "Completed"


def test_a_real_contact_takes_the_branch_their_data_picks(contact):
    contact.change_score(20)
    page = make_email_page(subject="Welcome, {{ contact.first_name }}")
    path = simulate(_welcome_flow(page), contact, start=T0)
    assert [(p.step_id, p.subject) for p in path if p.step_type == "send_email"] == [
        ("hello", "Welcome, Ann"),
        ("offer", "For you"),
    ]


def test_events_on_the_way_can_meet_the_goal(contact):
    page = make_email_page()
    goal = [{"type": "has_ordered", "value": {}, "id": "g"}]
    flow = _welcome_flow(page, goal=goal)
    order = SimEvent(at=timedelta(days=1), kind="order_placed", object_id="1001", value=59)
    path = simulate(flow, contact, events=[order], start=T0)
    assert [(p.step_type, p.outcome) for p in path][-2:] == [
        ("event", "event"),
        ("end", "converted"),
    ]
    assert path[-1].at == T0 + timedelta(days=1)
    assert path[-1].label == "Converted: goal reached"


def test_simulating_writes_nothing_and_sends_nothing(contact, django_capture_on_commit_callbacks):
    page = make_email_page()
    flow = _welcome_flow(page)
    counts = [m.objects.count() for m in (Contact, Enrollment, StepRun, Message, Event)]
    with django_capture_on_commit_callbacks() as callbacks:
        path = simulate(
            flow,
            contact,
            events=[{"at": timedelta(hours=1), "kind": "custom", "name": "webinar"}],
            start=T0,
        )
    assert len(path) > 4
    assert callbacks == []
    assert mail.outbox == []
    assert [m.objects.count() for m in (Contact, Enrollment, StepRun, Message, Event)] == counts
    contact.refresh_from_db()
    assert contact.score == 0


def test_the_sites_receivers_hear_nothing_of_a_simulation(contact):
    """The site's own receivers of our public signals never see what the simulator plays."""
    from wagtail_flows import signals, track

    heard = []

    def receiver(signal, **kwargs):
        heard.append(signal)

    watched = (signals.event_recorded, signals.contact_enrolled, signals.step_executed)
    for signal in watched:
        signal.connect(receiver, weak=False)
    try:
        flow = make_flow([tag("vip", "t"), step("change_score", "s", delta=5)])
        order = SimEvent(at=timedelta(hours=1), kind="order_placed", object_id="7", value=9)
        path = simulate(flow, contact, events=[order], start=T0)
        assert [p.outcome for p in path if p.step_id] == ["changed", "changed"]
        assert heard == []
        track("webinar_attended", contact=contact)  # outside a simulation: heard again
        assert heard == [signals.event_recorded]
    finally:
        for signal in watched:
            signal.disconnect(receiver)


def test_webhooks_and_team_notifications_are_shown_not_sent(contact):
    flow = make_flow(
        [
            step("webhook", "wh", url="http://127.0.0.1:9/never-called"),
            step("notify", "n", recipients="sales@example.com", subject="Hot lead"),
            split("ab", ("Short subject", 1, []), ("Long subject", 0, [])),
        ]
    )
    running = start(flow, contact)
    path = simulate(flow, contact, start=T0)
    assert [(p.step_id, p.outcome, p.branch) for p in path] == [
        ("wh", "http 200", ""),
        ("n", "notified", ""),
        ("ab", "variant", "Short subject"),
        ("", "completed", ""),
    ]
    assert mail.outbox == []
    running.refresh_from_db()
    assert running.status == "active"  # the contact's real run is untouched


def test_the_horizon_stops_a_long_wait():
    flow = make_flow([wait("w", amount=30, unit="days"), tag("t", "t")])
    path = simulate(flow, until=timedelta(days=7), start=T0)
    assert [(p.step_id, p.outcome) for p in path] == [("w", "waiting")]


def _waits_for(condition):
    return branch(
        "b",
        [condition],
        yes=[tag("keen", "keen")],
        no=[tag("cold", "cold")],
        wait_up_to_amount=3,
        wait_up_to_unit="days",
    )


def _decision(path):
    return [(p.branch, p.at - T0) for p in path if p.step_id == "b" and p.branch]


def test_a_click_on_the_way_is_a_click_on_the_runs_email(contact):
    page = make_email_page()
    clicked = {"type": "clicked_email", "value": {}, "id": "c"}
    flow = make_flow([step("send_email", "hello", page=page.pk), _waits_for(clicked)])
    click = SimEvent(at=timedelta(hours=5), kind="link_clicked", page=page)
    assert _decision(simulate(flow, contact, events=[click], start=T0)) == [
        ("yes", timedelta(hours=5))
    ]
    assert _decision(simulate(flow, contact, start=T0)) == [("no", timedelta(days=3))]
    assert not Message.objects.exists()


def test_a_score_change_on_the_way_changes_the_score(contact):
    flow = make_flow([_waits_for(score_at_least(10))])
    rise = SimEvent(at=timedelta(days=1), kind="score_changed", value=15)
    assert _decision(simulate(flow, contact, events=[rise], start=T0)) == [
        ("yes", timedelta(days=1))
    ]
    contact.refresh_from_db()
    assert contact.score == 0


def test_the_trigger_gives_the_run_its_context(contact):
    """A webinar reminder waits for the date the registration form gave."""
    reminder = step(
        "wait_until", "w", date_source="context", date_key="form.webinar_date", offset_days=-1
    )
    flow = make_flow([reminder, tag("reminded", "t")])
    webinar = (T0 + timedelta(days=20)).date()
    form = SimEvent(at=T0, kind="form_submitted", data={"webinar_date": webinar.isoformat()})
    path = simulate(flow, contact, trigger=form, start=T0)
    assert [p.at.date() for p in path if p.step_id == "t"] == [webinar - timedelta(days=1)]
    without = simulate(flow, contact, start=T0)
    assert [p.at for p in without if p.step_id == "t"] == [T0]


# --- the simulator and the engine agree --------------------------------------------------

LEAVES = st.sampled_from(["tag", "score", "wait", "send"])


def _leaf(kind, page, counter):
    counter[0] += 1
    sid = f"s{counter[0]}"
    if kind == "tag":
        return tag(f"tag{counter[0]}", sid)
    if kind == "score":
        return step("change_score", sid, delta=5)
    if kind == "wait":
        return wait(sid, amount=counter[0] % 3, unit="hours")
    return step("send_email", sid, page=page.pk)


@st.composite
def flows(draw, depth=2):
    kinds = draw(st.lists(st.sampled_from(["leaf", "leaf", "branch", "split"]), max_size=5))
    return [draw(_node(kind, depth)) for kind in kinds]


@st.composite
def _node(draw, kind, depth):
    if kind == "leaf" or depth == 0:
        return ("leaf", draw(LEAVES))
    if kind == "branch":
        threshold = draw(st.sampled_from([0, 5, 10]))
        return ("branch", threshold, draw(flows(depth - 1)), draw(flows(depth - 1)))
    weights = draw(st.lists(st.integers(0, 3), min_size=1, max_size=3))
    return ("split", [(w, draw(flows(depth - 1))) for w in weights])


def _build(spec, page, counter):
    steps = []
    for node in spec:
        if node[0] == "leaf":
            steps.append(_leaf(node[1], page, counter))
        elif node[0] == "branch":
            counter[0] += 1
            steps.append(
                branch(
                    f"b{counter[0]}",
                    [score_at_least(node[1])],
                    yes=_build(node[2], page, counter),
                    no=_build(node[3], page, counter),
                )
            )
        else:
            counter[0] += 1
            sid = f"x{counter[0]}"
            variants = [
                (f"v{index}", weight, _build(sub, page, counter))
                for index, (weight, sub) in enumerate(node[1])
            ]
            steps.append(split(sid, *variants))
    return steps


@pytest.fixture
def email_page(db):
    return make_email_page()


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(spec=flows())
def test_the_simulator_takes_the_path_the_engine_takes(email_page, spec):
    flow = make_flow(_build(spec, email_page, [0]))
    contact = ContactFactory()
    simulated = [
        (p.step_id, p.outcome, p.branch)
        for p in simulate(flow, contact, start=T0)
        if p.step_id
        and p.outcome not in ("waiting", "deferred")
        and not p.outcome.startswith("held by")
    ]
    enrollment = run_to_end(start(flow, contact, now=T0), T0)
    real = list(
        StepRun.objects.filter(enrollment=enrollment)
        .order_by("pk")
        .values_list("step_id", "outcome", "branch")
    )
    assert simulated == real


def test_a_contact_already_waiting_goes_on_from_where_they_are(contact):
    """Ann got the email and waits at the branch's three days: the tester sends nothing
    again, waits once, and her click on that email takes the branch to "yes"."""
    page = make_email_page()
    clicked = {"type": "clicked_email", "value": {}, "id": "c"}
    flow = make_flow([step("send_email", "hello", page=page.pk), _waits_for(clicked)])
    enrollment = start(flow, contact, now=T0)
    waiting = run(enrollment, T0)
    assert waiting.current_step == "b" and Message.objects.filter(contact=contact).count() == 1

    click = SimEvent(at=timedelta(hours=5), kind="link_clicked", page=page)
    path = simulate(flow, contact, events=[click], start=T0 + timedelta(hours=1))

    assert path[0].outcome == "now" and path[0].step_id == "b"
    assert [p.step_id for p in path if p.step_type == "send_email"] == []
    assert [p.branch for p in path if p.step_id == "b" and p.branch] == ["yes"]
    assert Enrollment.objects.get(pk=enrollment.pk).status == "waiting"  # nothing changed
