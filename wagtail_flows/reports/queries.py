"""A flow's report: per-step funnel, email figures, conversions, revenue and A/B results.

Every figure comes from a handful of aggregate queries (GROUP BY step id), so the number of
queries does not grow with contacts, enrollments or messages. The date range picks a
cohort: the runs that *entered* the flow in the range, and everything that happened to them.
"""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import (
    BigIntegerField,
    CharField,
    Count,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    OuterRef,
    Q,
    Subquery,
    Sum,
)
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from wagtail_flows.conf import flows_settings
from wagtail_flows.engine.ab_winner import decision_sentence, variant_counts
from wagtail_flows.flows.abtest import enough_data, two_proportion_p_value  # noqa: F401
from wagtail_flows.flows.describe import describe
from wagtail_flows.flows.tree import FlowTree
from wagtail_flows.models import Enrollment, Event, Message, StepRun
from wagtail_flows.models.contacts import EventKind
from wagtail_flows.models.enrollments import OPEN_STATUSES, EnrollmentStatus
from wagtail_flows.models.messages import MessageStatus
from wagtail_flows.vocabulary import HoldReason

RANGES = {"7": 7, "30": 30, "90": 90}
CONFIDENCE_LEVELS = (0.99, 0.95)
CENTS = Decimal("0.01")


def rate(part, whole):
    """A share in percent (one decimal), or None when there is nothing to divide by."""
    return round(100 * part / whole, 1) if whole else None


@dataclass
class StepFigures:
    id: str
    type: str
    label: str
    depth: int
    path: str = ""  # e.g. "Yes" or "Variant B": where in the tree this step sits
    completed: int = 0
    failed: int = 0
    here: int = 0
    exited_here: int = 0  # left the flow while at this step (exit condition, unsubscribed)
    unsubscribed_here: int = 0  # of those, because they unsubscribed
    converted_here: int = 0  # reached the goal while at this step
    sent: int = 0
    held: int = 0  # queued, held back by the pace (docs/deliverability.md)
    # Held by the send step before the email was made: {HoldReason label: emails} sent after
    # a hold, and the contacts it holds now (quiet hours, frequency caps, send window).
    held_first: dict = field(default_factory=dict)
    holding: int = 0
    opened: int = 0
    clicked: int = 0
    unsubscribed: int = 0
    goal_reached: int = 0  # of the contacts sent this email, those whose run converted
    orders: int = 0  # orders placed within the revenue window after a click on this email
    revenue: Decimal = Decimal("0")  # their value (each order to the email clicked last)
    links: list = field(default_factory=list)  # LinkFigures of an email, most clicked first

    @property
    def entered(self):
        return self.completed + self.failed + self.here + self.exited_here + self.converted_here

    @property
    def is_email(self):
        return self.type == "send_email"

    @property
    def open_rate(self):
        return rate(self.opened, self.sent)

    @property
    def click_rate(self):
        return rate(self.clicked, self.sent)

    @property
    def unsubscribe_rate(self):
        return rate(self.unsubscribed, self.sent)

    @property
    def goal_rate(self):
        return rate(self.goal_reached, self.sent)


@dataclass
class LinkFigures:
    url: str
    clicks: int  # every click, repeats included
    contacts: int  # contacts who clicked it (once each)


@dataclass
class VariantFigures:
    label: str
    weight: int
    entered: int = 0
    clicked: int = 0
    converted: int = 0
    uplift: float | None = None  # conversion (or click) rate relative to the first variant, %
    p_value: float | None = None

    @property
    def click_rate(self):
        return rate(self.clicked, self.entered)

    @property
    def conversion_rate(self):
        return rate(self.converted, self.entered)


@dataclass
class SplitResult:
    id: str
    label: str
    metric: str  # "converted" when the flow has a goal, else "clicked"
    variants: list = field(default_factory=list)
    verdict: str = ""
    winner: str = ""
    decision: str = ""  # "Variant B won on clicks on 12 Dec 2026 (…)" once decided


@dataclass
class FlowReport:
    flow: object
    since: dt.datetime | None
    until: dt.datetime | None
    steps: list
    enrolled: int = 0
    active: int = 0
    completed: int = 0
    converted: int = 0
    exited: int = 0
    failed: int = 0
    orders: int = 0
    revenue: Decimal = Decimal("0")
    splits: list = field(default_factory=list)

    @property
    def conversion_rate(self):
        return rate(self.converted, self.enrolled)


# --- the step tree -------------------------------------------------------------------------


def walk_steps(flow):
    """StepFigures (zeroed) for every step, depth first in document order; and the splits."""
    tree = FlowTree(flow.steps)
    rows, splits = [], []
    _walk(tree.root, 0, "", rows, splits)
    return rows, splits


def _walk(steps, depth, path, rows, splits):
    for step in steps:
        label = describe((step.type, step.value))
        rows.append(StepFigures(step.id, step.type, label, depth, path))
        for side, side_steps in step.sides.items():
            _walk(side_steps, depth + 1, _("Yes") if side == "yes" else _("No"), rows, splits)
        if step.type == "split":
            splits.append(step)
        for index, variant in enumerate(step.variants):
            name = variant_name(variant, index)
            _walk(variant.steps, depth + 1, _("Variant %s") % name, rows, splits)


def variant_name(variant, index):
    return variant.label or chr(ord("A") + index)


# --- queries -------------------------------------------------------------------------------


def _cohort(since, until, prefix=""):
    """Q for runs that entered the flow in [since, until)."""
    q = Q()
    if since:
        q &= Q(**{f"{prefix}enrolled_at__gte": since})
    if until:
        q &= Q(**{f"{prefix}enrolled_at__lt": until})
    return q


def _enrollments(flow, since, until):
    return Enrollment.objects.filter(_cohort(since, until), flow_id=flow.pk)


def _totals(flow, since, until):
    counts = {s: Count("pk", filter=Q(status=s)) for s in EnrollmentStatus.values}
    return _enrollments(flow, since, until).aggregate(enrolled=Count("pk"), **counts)


def _step_runs(flow, since, until):
    failed = Q(outcome="failed")
    return (
        StepRun.objects.filter(_cohort(since, until, "enrollment__"), enrollment__flow_id=flow.pk)
        .values("step_id")
        .annotate(completed=Count("pk", filter=~failed), failed=Count("pk", filter=failed))
        .order_by()
    )


def _waiting(flow, since, until):
    rows = (
        _enrollments(flow, since, until)
        .filter(status__in=OPEN_STATUSES)
        .values_list("current_step")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return dict(rows)


def _held_by_step(flow, since, until):
    """Emails made after their send step held them, by step and reason; and the contacts a
    send step holds now, by step."""
    made = (
        Message.objects.filter(_cohort(since, until, "enrollment__"), flow_id=flow.pk)
        .exclude(held_reason="")
        .values_list("step_id", "held_reason")
        .annotate(n=Count("pk"))
        .order_by()
    )
    holding = (
        _enrollments(flow, since, until)
        .filter(status=EnrollmentStatus.WAITING)
        .exclude(held_reason="")
        .values_list("current_step")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return made, dict(holding)


def _left_at(flow, since, until):
    """Runs that ended at a step without completing it (exited while waiting there, or
    converted there), by step: they entered it, and are counted where they left."""
    completed_it = StepRun.objects.filter(
        enrollment=OuterRef("pk"), step_id=OuterRef("current_step")
    )
    exited = Q(status=EnrollmentStatus.EXITED)
    return (
        _enrollments(flow, since, until)
        .filter(status__in=(EnrollmentStatus.EXITED, EnrollmentStatus.CONVERTED))
        .exclude(Exists(completed_it))
        .values("current_step")
        .annotate(
            exited_here=Count("pk", filter=exited),
            unsubscribed_here=Count("pk", filter=exited & Q(exit_reason="unsubscribed")),
            converted_here=Count("pk", filter=Q(status=EnrollmentStatus.CONVERTED)),
        )
        .order_by()
    )


def _messages(flow, since, until):
    return (
        Message.objects.filter(_cohort(since, until, "enrollment__"), flow_id=flow.pk)
        .values("step_id")
        .annotate(
            sent=Count("pk", filter=Q(status=MessageStatus.SENT)),
            held=Count("pk", filter=Q(status=MessageStatus.QUEUED, paced_at__isnull=False)),
            opened=Count("contact", filter=Q(opens__gt=0), distinct=True),
            clicked=Count("contact", filter=Q(clicks__gt=0), distinct=True),
            unsubscribed=Count("contact", filter=Q(unsubscribed_at__isnull=False), distinct=True),
            goal_reached=Count(
                "contact",
                filter=Q(status=MessageStatus.SENT, enrollment__status=EnrollmentStatus.CONVERTED),
                distinct=True,
            ),
        )
        .order_by()
    )


def _link_clicks(flow, since, until):
    """Clicks on each link of each email step: the click events name their message."""
    messages = Message.objects.filter(_cohort(since, until, "enrollment__"), flow_id=flow.pk)
    step_of_message = Message.objects.filter(
        pk=Cast(OuterRef("object_id"), output_field=BigIntegerField())
    ).values("step_id")[:1]
    return (
        Event.objects.filter(
            kind=EventKind.LINK_CLICKED,
            object_id__in=messages.annotate(key=Cast("pk", CharField())).values("key"),
        )
        .annotate(step_id=Subquery(step_of_message), url=KeyTextTransform("url", "data"))
        .values("step_id", "url")
        .annotate(clicks=Count("pk"), contacts=Count("contact", distinct=True))
        .order_by("step_id", "-clicks", "url")
    )


def revenue_window():
    return dt.timedelta(days=flows_settings.REVENUE_WINDOW_DAYS)


def _revenue(flow, since, until):
    """Orders by a contact while their run was open, or within the window after they clicked
    an email of this flow. Each order counts once, however many runs or clicks match it."""
    at = OuterRef("created_at")
    while_enrolled = _enrollments(flow, since, until).filter(
        Q(finished_at__isnull=True) | Q(finished_at__gte=at),
        contact=OuterRef("contact"),
        enrolled_at__lte=at,
    )
    window_start = ExpressionWrapper(at - revenue_window(), output_field=DateTimeField())
    after_click = Message.objects.filter(
        _cohort(since, until, "enrollment__"),
        flow_id=flow.pk,
        contact=OuterRef("contact"),
        first_clicked_at__lte=at,
        first_clicked_at__gte=window_start,
    )
    return Event.objects.filter(
        Exists(while_enrolled) | Exists(after_click),
        kind=EventKind.ORDER_PLACED,
        contact__isnull=False,
    ).aggregate(orders=Count("pk"), revenue=Sum("value"))


def _email_revenue(flow, since, until):
    """Orders per email step: each order goes to the flow's email its contact clicked last
    (by first click) within the revenue window before it, so the emails never share one."""
    at = OuterRef("created_at")
    window_start = ExpressionWrapper(at - revenue_window(), output_field=DateTimeField())
    messages = Message.objects.filter(_cohort(since, until, "enrollment__"), flow_id=flow.pk)
    last_clicked = (
        messages.filter(contact=OuterRef("contact"), first_clicked_at__range=(window_start, at))
        .order_by("-first_clicked_at", "-pk")
        .values("step_id")[:1]
    )
    return (
        Event.objects.filter(
            kind=EventKind.ORDER_PLACED,
            contact__in=messages.filter(first_clicked_at__isnull=False).values("contact"),
        )
        .annotate(step_id=Subquery(last_clicked))
        .filter(step_id__isnull=False)
        .values("step_id")
        .annotate(orders=Count("pk"), revenue=Sum("value"))
        .order_by()
    )


def _variant_rows(flow, split_ids, since, until):
    """{(split id, variant label): counts} of the runs that went through each variant."""
    return variant_counts(flow.pk, split_ids, _cohort(since, until, "enrollment__"))


# --- the report ----------------------------------------------------------------------------


def flow_report(flow, since=None, until=None):
    """Every figure of the flow's report for runs that entered in [since, until)."""
    steps, split_steps = walk_steps(flow)
    report = FlowReport(flow, since, until, steps)
    if flow.pk is None:
        return report
    _fill_totals(report, _totals(flow, since, until))
    _fill_steps(report, flow, since, until)
    money = _revenue(flow, since, until)
    report.orders = money["orders"]
    report.revenue = (money["revenue"] or Decimal("0")).quantize(CENTS)
    variants = _variant_rows(flow, [s.id for s in split_steps], since, until)
    metric = "converted" if len(flow.goal) else "clicked"
    decisions = getattr(flow, "ab_decisions", None) or {}
    report.splits = [
        split_result(step, variants, metric, decisions.get(step.id)) for step in split_steps
    ]
    return report


def _fill_totals(report, totals):
    report.enrolled = totals["enrolled"]
    report.active = totals[EnrollmentStatus.ACTIVE] + totals[EnrollmentStatus.WAITING]
    for name in ("completed", "converted", "exited", "failed"):
        setattr(report, name, totals[name])


def _fill_steps(report, flow, since, until):
    by_id = {row.id: row for row in report.steps}
    for run in _step_runs(flow, since, until):
        if run["step_id"] in by_id:
            by_id[run["step_id"]].completed = run["completed"]
            by_id[run["step_id"]].failed = run["failed"]
    for step_id, n in _waiting(flow, since, until).items():
        if step_id in by_id:
            by_id[step_id].here = n
    for left in _left_at(flow, since, until):
        row = by_id.get(left.pop("current_step"))
        if row is not None:
            for name, value in left.items():
                setattr(row, name, value)
    for link in _link_clicks(flow, since, until):
        row = by_id.get(link["step_id"])
        if row is not None:
            row.links.append(LinkFigures(link["url"] or "", link["clicks"], link["contacts"]))
    for figures in _messages(flow, since, until):
        row = by_id.get(figures.pop("step_id"))
        if row is not None:
            for name, value in figures.items():
                setattr(row, name, value)
    made, holding = _held_by_step(flow, since, until)
    for step_id, reason, n in made:
        if step_id in by_id:
            label = str(HoldReason(reason).label) if reason in HoldReason.values else reason
            by_id[step_id].held_first[label] = n
    for step_id, n in holding.items():
        if step_id in by_id:
            by_id[step_id].holding = n
    for money in _email_revenue(flow, since, until):
        row = by_id.get(money["step_id"])
        if row is not None:
            row.orders = money["orders"]
            row.revenue = (money["revenue"] or Decimal("0")).quantize(CENTS)


# --- A/B -----------------------------------------------------------------------------------


def split_result(step, rows, metric, decision=None):
    result = SplitResult(step.id, describe((step.type, step.value)), metric)
    if decision:  # the automatic winner (engine/ab_winner.py): when and why
        result.decision = decision_sentence(decision)
    for index, variant in enumerate(step.variants):
        row = rows.get((step.id, (variant.label or variant.id)[:64]), {})
        result.variants.append(
            VariantFigures(
                variant_name(variant, index),
                variant.weight,
                entered=row.get("entered", 0),
                clicked=row.get("clicked", 0),
                converted=row.get("converted", 0),
            )
        )
    compare_variants(result)
    return result


def compare_variants(result):
    """Uplift and p-value of each variant against the first; the verdict in plain words."""
    if len(result.variants) < 2:
        result.verdict = _("A split needs two variants to compare.")
        return
    control = result.variants[0]
    for variant in result.variants[1:]:
        n1, x1 = control.entered, getattr(control, result.metric)
        n2, x2 = variant.entered, getattr(variant, result.metric)
        if n1 and n2 and x1:
            variant.uplift = round(100 * ((x2 / n2) / (x1 / n1) - 1), 1)
        variant.p_value = two_proportion_p_value(n1, x1, n2, x2)
    result.verdict, result.winner = verdict(result)


def verdict(result):
    """(sentence, winning label or "")."""
    control = result.variants[0]
    x_name = result.metric
    verb = _("converts better") if x_name == "converted" else _("gets more clicks")
    challengers = [
        v
        for v in result.variants[1:]
        if enough_data(control.entered, getattr(control, x_name), v.entered, getattr(v, x_name))
    ]
    if len(challengers) < len(result.variants) - 1:
        return _("Not enough data yet."), ""
    for variant in sorted(challengers, key=lambda v: v.p_value):
        level = next((c for c in CONFIDENCE_LEVELS if variant.p_value < 1 - c), None)
        if level is None:
            continue
        better, worse = (variant, control) if (variant.uplift or 0) > 0 else (control, variant)
        sentence = _("%(better)s %(verb)s than %(worse)s, %(level)s %% confidence.") % {
            "better": better.label,
            "verb": verb,
            "worse": worse.label,
            "level": round(level * 100),
        }
        return sentence, better.label
    return _("No clear difference yet: the variants perform about the same."), ""


# --- trends and date ranges ----------------------------------------------------------------


def daily_trend(flow, since, until):
    """[(date, enrollments, conversions)] for every day of [since, until)."""
    tz = timezone.get_current_timezone()
    enrolled = _per_day(_enrollments(flow, since, until), "enrolled_at", tz)
    done = Enrollment.objects.filter(
        flow_id=flow.pk,
        status=EnrollmentStatus.CONVERTED,
        finished_at__gte=since,
        finished_at__lt=until,
    )
    converted = _per_day(done, "finished_at", tz)
    first = timezone.localtime(since, tz).date()
    last = timezone.localtime(until - dt.timedelta(microseconds=1), tz).date()
    days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    return [(day, enrolled.get(day, 0), converted.get(day, 0)) for day in days]


def _per_day(queryset, field_name, tz):
    rows = (
        queryset.annotate(day=TruncDate(field_name, tzinfo=tz))
        .values_list("day")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return dict(rows)


def date_range(params, now=None):
    """(since, until, key) from GET params: range=7|30|90|all|custom with from/to dates."""
    now = now or timezone.now()
    key = params.get("range") or "30"
    if key == "all":
        return None, None, key
    if key == "custom":
        since, until = _parse_day(params.get("from")), _parse_day(params.get("to"))
        if since or until:
            until = until + dt.timedelta(days=1) if until else None
            return since, until, key
        key = "30"
    days = RANGES.get(key, 30)
    return now - dt.timedelta(days=days), None, key if key in RANGES else "30"


def _parse_day(text):
    try:
        day = dt.date.fromisoformat(text or "")
    except ValueError:
        return None
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))
