"""The automatic A/B winner: a marketer names a metric on a split; once one variant wins
clearly the sweep says so once, logs why, and every new contact goes to the winner."""

from datetime import timedelta

import pytest
from wagtail.models import ModelLogEntry

from tests.factories import ContactFactory, make_email_page
from tests.test_engine_tree import T0, executed, make_flow, run, split, start, step, tag, wait
from wagtail_flows.engine import ab_winner
from wagtail_flows.engine.simulate import simulate
from wagtail_flows.engine.sweeps import run_sweep
from wagtail_flows.flows import abtest
from wagtail_flows.flows.describe import describe
from wagtail_flows.models import Flow, Message, StepRun
from wagtail_flows.reports.queries import flow_report

pytestmark = pytest.mark.django_db


def ab_flow(metric="clicked", **options):
    page_a, page_b = make_email_page("Subject A"), make_email_page("Subject B")
    ab = split(
        "ab",
        ("A", 50, [step("send_email", "mail-a", page=page_a.pk), wait("wait-a"), tag("a", "t-a")]),
        ("B", 50, [step("send_email", "mail-b", page=page_b.pk), wait("wait-b"), tag("b", "t-b")]),
    )
    ab["value"].update(auto_winner=metric, **options)
    return make_flow([ab])


def enter(flow, n, at=T0):
    """n contacts enter the flow and run up to the wait in their variant."""
    return [run(start(flow, contact, now=at), at) for contact in ContactFactory.create_batch(n)]


def variant_of(enrollment):
    return StepRun.objects.get(enrollment=enrollment, step_id="ab").branch


def click(enrollments, variant, share):
    """``share`` of the contacts in ``variant`` click their email (as the click endpoint
    counts it)."""
    runs = [e for e in enrollments if variant_of(e) == variant]
    for enrollment in runs[: round(share * len(runs))]:
        Message.objects.get(enrollment=enrollment).count_click(T0 + timedelta(hours=1))


def decision(flow):
    flow.refresh_from_db()
    return flow.ab_decisions.get("ab")


def test_the_sweep_picks_the_variant_with_more_clicks_and_new_contacts_all_go_to_it():
    flow = ab_flow(decide_after_contacts=20)
    runs = enter(flow, 80)
    click(runs, "A", 0.1)
    click(runs, "B", 0.5)
    report = run_sweep(now=T0 + timedelta(hours=2))
    assert report["ab_winners"] == 1
    decided = decision(flow)
    assert (decided["name"], decided["metric"], decided["variant"]) == ("B", "clicked", "ab-B")
    assert decided["p"] < 0.01
    assert sum(f["entered"] for f in decided["figures"]) == 80

    later = enter(flow, 12, at=T0 + timedelta(hours=3))
    assert {variant_of(e) for e in later} == {"B"}
    # those already in A stay there and finish A's steps
    in_a = next(e for e in runs if variant_of(e) == "A")
    in_a = run(in_a, T0 + timedelta(days=2))
    assert executed(in_a)[-1] == "t-a"


def test_the_decision_is_logged_with_its_figures_and_shown_in_the_report():
    flow = ab_flow(decide_after_contacts=20)
    runs = enter(flow, 80)
    click(runs, "A", 0.1)
    click(runs, "B", 0.5)
    run_sweep(now=T0 + timedelta(hours=2))
    entry = ModelLogEntry.objects.get(action="wagtail_flows.ab_winner")
    assert entry.object_id == str(flow.pk)
    assert entry.data["split"]["name"] == "B"
    a, b = entry.data["split"]["figures"]
    assert a["entered"] + b["entered"] == 80 and b["successes"] > a["successes"]
    sentence = flow_report(Flow.objects.get(pk=flow.pk)).splits[0].decision
    assert sentence.startswith("Variant B won on clicks on 2 Mar 2026 (p ")
    assert f"{a['entered']} vs {b['entered']} contacts): new contacts all go to B." in sentence
    assert entry.data["reason"] == sentence


def test_the_winner_is_decided_once_even_when_two_sweeps_race():
    flow = ab_flow(decide_after_contacts=20)
    runs = enter(flow, 80)
    click(runs, "A", 0.1)
    click(runs, "B", 0.5)
    # two sweeps read the flow before either wrote: both find the split undecided
    first, second = Flow.objects.get(pk=flow.pk), Flow.objects.get(pk=flow.pk)
    (split_step,) = ab_winner.undecided_splits(first)
    assert ab_winner.undecided_splits(second) == [split_step]
    counts = ab_winner.variant_counts(flow.pk, ["ab"])
    clock = T0 + timedelta(hours=2)
    assert ab_winner.decide_split(first, split_step, counts, clock) == 1
    assert ab_winner.decide_split(second, split_step, counts, clock + timedelta(minutes=1)) == 0
    assert run_sweep(now=clock + timedelta(minutes=2))["ab_winners"] == 0
    assert ModelLogEntry.objects.filter(action="wagtail_flows.ab_winner").count() == 1
    assert decision(flow)["decided_at"] == clock.isoformat()


def test_no_decision_before_the_minimum_sample():
    flow = ab_flow(decide_after_contacts=60)  # about 40 in each variant: not yet
    runs = enter(flow, 80)
    click(runs, "A", 0.1)
    click(runs, "B", 0.5)
    assert run_sweep(now=T0 + timedelta(hours=2))["ab_winners"] == 0
    assert decision(flow) is None
    later = enter(flow, 30, at=T0 + timedelta(hours=3))
    assert {variant_of(e) for e in later} == {"A", "B"}  # still split by weight


def test_no_decision_before_the_date_then_on_it():
    flow = ab_flow(decide_after_contacts=20, decide_on="2026-03-05")
    runs = enter(flow, 80)
    click(runs, "A", 0.1)
    click(runs, "B", 0.5)
    assert run_sweep(now=T0 + timedelta(days=1))["ab_winners"] == 0
    assert decision(flow) is None
    assert run_sweep(now=T0 + timedelta(days=3, hours=1))["ab_winners"] == 1
    assert decision(flow)["name"] == "B"


def test_the_site_minimum_applies_when_the_split_names_none(settings):
    settings.WAGTAIL_FLOWS = {**settings.WAGTAIL_FLOWS, "AB_MIN_CONTACTS": 200}
    flow = ab_flow()
    runs = enter(flow, 80)
    click(runs, "A", 0.1)
    click(runs, "B", 0.5)
    assert run_sweep(now=T0 + timedelta(hours=2))["ab_winners"] == 0


def test_no_decision_when_the_difference_is_not_significant():
    flow = ab_flow(decide_after_contacts=20)
    runs = enter(flow, 80)
    click(runs, "A", 0.3)
    click(runs, "B", 0.35)
    assert run_sweep(now=T0 + timedelta(hours=2))["ab_winners"] == 0
    assert decision(flow) is None


def test_opens_can_pick_the_winner_and_the_control_can_win():
    flow = ab_flow("opened", decide_after_contacts=20)
    runs = enter(flow, 80)
    for enrollment in runs:
        if variant_of(enrollment) == "A" or enrollment.pk % 5 == 0:
            Message.objects.get(enrollment=enrollment).count_open(T0 + timedelta(hours=1))
    run_sweep(now=T0 + timedelta(hours=2))
    assert decision(flow)["name"] == "A"


def test_a_split_without_a_metric_is_never_decided():
    flow = ab_flow("")
    runs = enter(flow, 80)
    click(runs, "B", 0.9)
    assert run_sweep(now=T0 + timedelta(hours=2))["ab_winners"] == 0


def test_the_simulator_follows_the_decision():
    flow = ab_flow(decide_after_contacts=20)
    runs = enter(flow, 80)
    click(runs, "A", 0.1)
    click(runs, "B", 0.5)
    run_sweep(now=T0 + timedelta(hours=2))
    flow.refresh_from_db()
    for contact in ContactFactory.create_batch(5):
        path = simulate(flow, contact, start=T0 + timedelta(hours=3))
        ids = [row.step_id for row in path]
        assert "mail-b" in ids and "mail-a" not in ids


# Each variant needs 15 contacts; the split hashes the run (ids differ between databases):
# of 60, fewer than 15 in one variant is a chance of 1 in 20,000.
@pytest.mark.parametrize("contacts", [60, 120])
def test_deciding_takes_the_same_queries_whatever_the_number_of_contacts(
    contacts, django_assert_num_queries
):
    flow = ab_flow(decide_after_contacts=15)
    runs = enter(flow, contacts)
    click(runs, "A", 0.1)
    click(runs, "B", 0.6)
    # flows, the figures; then the locked read, the compare-and-set and the log entry
    # (+ its content type once per process, looked up lazily)
    from django.contrib.contenttypes.models import ContentType

    ContentType.objects.get_for_model(Flow)
    with django_assert_num_queries(QUERIES_TO_DECIDE):
        assert ab_winner.decide(T0 + timedelta(hours=2)) == 1
    with django_assert_num_queries(1):  # decided: only the live flows are read
        assert ab_winner.decide(T0 + timedelta(hours=3)) == 0


QUERIES_TO_DECIDE = 8  # with the savepoint and its release around the compare-and-set


def test_the_description_says_how_the_winner_is_picked():
    flow = ab_flow()
    (ab,) = flow.steps
    assert describe((ab.block_type, ab.value)) == (
        "Split: A 50%, B 50%; picks the winner on clicks"
    )


def test_splits_stored_before_the_auto_winner_still_load_and_split_by_weight(contact):
    old = split("ab", ("A", 50, [tag("a", "t-a")]), ("B", 50, [tag("b", "t-b")]))
    flow = make_flow([old])
    flow.refresh_from_db()
    assert flow.steps[0].value["auto_winner"] in ("", None)
    enrollment = run(start(flow, contact), T0)
    assert variant_of(enrollment) in ("A", "B")


def test_pick_winner_needs_the_best_to_beat_every_other_variant():
    a = abtest.Arm("a", "A", 100, 10)
    b = abtest.Arm("b", "B", 100, 40)
    c = abtest.Arm("c", "C", 100, 38)
    assert abtest.pick_winner([a, b], minimum=30).arm is b
    assert abtest.pick_winner([a, b, c], minimum=30) is None  # B vs C: no clear difference
    assert abtest.pick_winner([a, b], minimum=150) is None
