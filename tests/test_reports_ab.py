"""A/B results: a marketer sees which variant wins, and is told when it is too early to say."""

import datetime as dt

import pytest
from django.utils import timezone

from tests.factories import ContactFactory, make_email_page
from tests.test_reports import History, make_report_flow
from wagtail_flows.reports import queries as reports
from wagtail_flows.reports.queries import SplitResult, VariantFigures


def split_of(metric, *variants):
    result = SplitResult("ab", "Split", metric)
    for label, entered, successes in variants:
        figures = VariantFigures(label, 50, entered=entered)
        setattr(figures, metric, successes)
        result.variants.append(figures)
    reports.compare_variants(result)
    return result


def test_a_clear_difference_is_called_with_99_percent_confidence():
    result = split_of("converted", ("A", 1000, 100), ("B", 1000, 150))
    assert result.verdict == "B converts better than A, 99 % confidence."
    assert result.winner == "B"
    assert result.variants[1].uplift == 50.0
    assert result.variants[1].p_value < 0.01


def test_a_smaller_difference_is_called_with_95_percent_confidence():
    result = split_of("converted", ("A", 500, 50), ("B", 500, 72))
    assert 0.01 < result.variants[1].p_value < 0.05
    assert result.verdict == "B converts better than A, 95 % confidence."


def test_the_control_can_win_too():
    result = split_of("clicked", ("A", 500, 72), ("B", 500, 50))
    assert result.verdict == "A gets more clicks than B, 95 % confidence."
    assert result.variants[1].uplift == pytest.approx(-30.6)


def test_no_clear_difference_says_so():
    result = split_of("converted", ("A", 500, 50), ("B", 500, 52))
    assert result.verdict == "No clear difference yet: the variants perform about the same."
    assert result.winner == ""


@pytest.mark.parametrize(
    "a, b",
    [
        (("A", 20, 2), ("B", 20, 15)),  # fewer than 30 contacts in a variant
        (("A", 400, 0), ("B", 400, 4)),  # too few conversions: n·p < 5
        (("A", 0, 0), ("B", 0, 0)),  # nobody yet
    ],
)
def test_too_little_data_is_not_enough_data_yet(a, b):
    result = split_of("converted", a, b)
    assert result.verdict == "Not enough data yet."
    assert result.winner == ""


def test_the_minimum_sample_is_a_setting(settings):
    settings.WAGTAIL_FLOWS = {"AB_MIN_CONTACTS": 10}
    result = split_of("converted", ("A", 20, 2), ("B", 20, 15))
    assert result.winner == "B"


def test_the_p_value_matches_a_hand_computed_z_test():
    # p1 = 0.1, p2 = 0.5, pooled 0.3: se = sqrt(0.3 * 0.7 * (2 / 40)) = 0.10247, z = 3.9036
    assert reports.two_proportion_p_value(40, 4, 40, 20) == pytest.approx(9.48e-5, rel=0.01)
    assert reports.two_proportion_p_value(10, 0, 10, 0) == 1.0
    assert reports.two_proportion_p_value(0, 0, 10, 1) is None


@pytest.mark.django_db
def test_the_report_compares_the_variants_a_flow_really_ran():
    now = timezone.now()
    flow = make_report_flow(make_email_page("One"), make_email_page("Two"))
    history = History(flow, now)
    at = now - dt.timedelta(days=2)
    for index, contact in enumerate(ContactFactory.create_batch(80)):
        variant = "A" if index < 40 else "B"
        converted = (index < 4) or (40 <= index < 60)
        enrollment = history.enroll(contact, "converted" if converted else "completed", at=at)
        history.ran(enrollment, f"ab:{variant}")
        if index % 10 == 0:  # one in ten clicks an email sent after the split
            history.message(enrollment, "email1", clicks=1, at=at + dt.timedelta(hours=2))
        history.message(enrollment, "n_email", clicks=1, at=at - dt.timedelta(hours=1))
    (result,) = reports.flow_report(flow).splits
    a, b = result.variants
    assert (a.label, a.entered, a.converted, a.clicked) == ("A", 40, 4, 4)
    assert (b.label, b.entered, b.converted, b.clicked) == ("B", 40, 20, 4)
    assert (a.conversion_rate, b.conversion_rate, b.uplift) == (10.0, 50.0, 400.0)
    assert result.metric == "converted"
    assert result.verdict == "B converts better than A, 99 % confidence."
