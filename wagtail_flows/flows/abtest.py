"""The statistics of an A/B split, with no database: the report and the engine share them.

- ``two_proportion_p_value``: two-sided p-value of a pooled two-proportion z-test;
- ``enough_data``: the minimum sample rule (each variant has the minimum contacts, and with
  the pooled rate p each expects at least 5 successes and 5 failures);
- ``pick_winner``: the automatic winner of a split whose editor named a metric — the best
  variant, if it beats every other one at 95 % confidence once the sample (and date) allow.
"""

import math
from dataclasses import dataclass

from wagtail_flows.conf import flows_settings

WINNER_CONFIDENCE = 0.95
# The split's ``auto_winner`` choice -> the count it compares (see engine/ab_winner.py).
METRICS = ("opened", "clicked", "converted")


@dataclass
class Arm:
    """One variant's figures: who entered it and how many of them did the metric."""

    key: str  # the variant's block id
    name: str  # what the marketer calls it: its label, or A, B, C…
    entered: int
    successes: int

    @property
    def rate(self):
        return self.successes / self.entered if self.entered else 0.0


@dataclass
class Winner:
    arm: Arm
    p_value: float  # the largest p-value of the winner against any other variant


def two_proportion_p_value(n1, x1, n2, x2):
    """Two-sided p-value of a two-proportion z-test (pooled), or None without data."""
    if not n1 or not n2:
        return None
    pooled = (x1 + x2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 1.0
    z = abs(x2 / n2 - x1 / n1) / se
    return 2 * (1 - 0.5 * (1 + math.erf(z / math.sqrt(2))))


def enough_data(n1, x1, n2, x2, minimum=None):
    """The minimum sample rule: each variant has ``minimum`` (default AB_MIN_CONTACTS)
    contacts, and with the pooled rate p each would expect at least 5 successes and 5
    failures (n·p ≥ 5, n·(1−p) ≥ 5)."""
    if minimum is None:
        minimum = flows_settings.AB_MIN_CONTACTS
    if min(n1, n2) < minimum:
        return False
    pooled = (x1 + x2) / (n1 + n2)
    return all(n * pooled >= 5 and n * (1 - pooled) >= 5 for n in (n1, n2))


def pick_winner(arms, *, minimum=None, decide_on=None, today=None):
    """The winning Arm (as a Winner), or None: too early (before ``decide_on``, or a variant
    below the minimum sample) or no variant better than all others at 95 % confidence."""
    if len(arms) < 2 or (decide_on and today and today < decide_on):
        return None
    best = max(arms, key=lambda arm: arm.rate)
    worst_p = 0.0
    for other in arms:
        if other is best:
            continue
        if not enough_data(other.entered, other.successes, best.entered, best.successes, minimum):
            return None
        if best.rate <= other.rate:
            return None
        p = two_proportion_p_value(other.entered, other.successes, best.entered, best.successes)
        if p is None or p >= 1 - WINNER_CONFIDENCE:
            return None
        worst_p = max(worst_p, p)
    return Winner(best, worst_p)
