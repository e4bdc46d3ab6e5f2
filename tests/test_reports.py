"""A marketer reads a flow's report: every figure checked against a known, hand-built history.

The history (see ``history``): six contacts went through a flow with an email, a wait, a
branch (yes: a tag; no: a second email) and an A/B split. Five entered in the last 30 days,
one 60 days ago. The expected numbers in each test are counted by hand from that story.
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.factories import ContactFactory, make_email_page
from wagtail_flows.models import Enrollment, Event, Flow, Message, StepRun
from wagtail_flows.reports import queries as reports

pytestmark = pytest.mark.django_db

DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)


# --- building a history -------------------------------------------------------------------


def step(type_, id_, **value):
    return {"type": type_, "value": value, "id": id_}


def split(id_, *variants):
    items = [
        {
            "type": "item",
            "id": f"{id_}-{label}",
            "value": {"label": label, "weight": weight, "steps": steps},
        }
        for label, weight, steps in variants
    ]
    return step("split", id_, variants=items)


ORDER_GOAL = [{"type": "did_event", "value": {"kind": "order_placed", "min_count": 1}, "id": "g"}]


def make_report_flow(page1, page2, name="Welcome series"):
    flow = Flow(name=name, status="live")
    flow.steps = [
        step("send_email", "email1", page=page1.pk, subject_override=""),
        step("wait", "wait", amount=2, unit="days"),
        step(
            "branch",
            "branch",
            conditions=[{"type": "has_tag", "value": {"tag": "vip"}, "id": "c1"}],
            match="all",
            yes=[step("add_tag", "y_tag", tag="loyal")],
            no=[step("send_email", "n_email", page=page2.pk, subject_override="")],
        ),
        split(
            "ab",
            ("A", 50, [step("add_tag", "a_tag", tag="a")]),
            ("B", 50, [step("add_tag", "b_tag", tag="b")]),
        ),
    ]
    flow.goal = ORDER_GOAL
    flow.save()
    return flow


class History:
    """Rows written directly, so each figure is known: no engine timing involved."""

    def __init__(self, flow, now):
        self.flow = flow
        self.now = now

    def enroll(self, contact, status, *, at, current="", finished=None):
        return Enrollment.objects.create(
            flow=self.flow,
            contact=contact,
            status=status,
            current_step=current,
            enrolled_at=at,
            finished_at=finished,
        )

    def ran(self, enrollment, *steps, at=None):
        for step_id in steps:
            step_id, _, branch = step_id.partition(":")
            outcome = "failed" if branch == "failed" else "done"
            StepRun.objects.create(
                enrollment=enrollment,
                step_id=step_id,
                step_type="step",
                outcome=outcome,
                branch="" if branch == "failed" else branch,
                created_at=at or enrollment.enrolled_at + HOUR,
            )

    def message(self, enrollment, step_id, status="sent", opens=0, clicks=0, **fields):
        at = fields.pop("at", enrollment.enrolled_at)
        return Message.objects.create(
            contact=enrollment.contact,
            enrollment=enrollment,
            flow=self.flow,
            step_id=step_id,
            to_email=enrollment.contact.email,
            status=status,
            opens=opens,
            clicks=clicks,
            created_at=at,
            sent_at=at if status == "sent" else None,
            first_opened_at=at + HOUR if opens else None,
            first_clicked_at=at + HOUR if clicks else None,
            **fields,
        )

    def order(self, contact, value, at):
        return Event.objects.create(
            contact=contact, kind="order_placed", value=Decimal(value), created_at=at
        )


@pytest.fixture
def history():
    return build_history()


def build_history():
    now = timezone.now()
    page1, page2 = make_email_page("Welcome"), make_email_page("Second chance")
    flow = make_report_flow(page1, page2)
    h = History(flow, now)
    c1, c2, c3, c4, c5, c6, stranger = ContactFactory.create_batch(7)
    t = now - 5 * DAY

    e1 = h.enroll(c1, "completed", at=t, finished=t + 2 * DAY)
    h.ran(e1, "email1", "wait", "branch:yes", "y_tag", "ab:A", "a_tag")
    h.message(e1, "email1", opens=3, clicks=1)
    h.order(c1, "30.00", t + 3 * DAY)  # after the run, 3 days after the click: counted
    h.order(c1, "99.00", t + 10 * DAY - HOUR)  # outside the 7-day click window: not counted

    e2 = h.enroll(c2, "converted", at=t, finished=t + 3 * DAY)
    h.ran(e2, "email1", "wait", "branch:no", "n_email")
    h.message(e2, "email1", opens=1)
    h.message(e2, "n_email", clicks=1, at=t + 2 * DAY)
    h.order(c2, "50.00", t + 3 * DAY)  # while enrolled (it met the goal): counted

    e3 = h.enroll(c3, "waiting", at=t, current="wait")
    h.ran(e3, "email1")
    h.message(e3, "email1")
    h.order(c3, "20.00", t - DAY)  # before entering: not counted

    e4 = h.enroll(c4, "failed", at=t, finished=t + 2 * DAY)
    h.ran(e4, "email1", "wait", "branch:failed")
    h.message(e4, "email1", status="failed")

    e5 = h.enroll(c5, "active", at=t, current="b_tag")
    h.ran(e5, "email1", "wait", "branch:yes", "y_tag", "ab:B")
    h.message(e5, "email1", opens=2, clicks=2, unsubscribed_at=t + HOUR)
    h.order(c5, "40.00", t + DAY)  # while enrolled and after a click: counted once

    old = now - 60 * DAY
    e6 = h.enroll(c6, "exited", at=old, finished=old + DAY)
    h.ran(e6, "email1")
    h.message(e6, "email1", opens=1)
    h.order(c6, "10.00", old + HOUR)  # while enrolled, but 60 days ago

    h.order(stranger, "500.00", t + DAY)  # never in the flow
    return h


def figures(report, step_id):
    return next(s for s in report.steps if s.id == step_id)


# --- the report ----------------------------------------------------------------------------


def test_the_flow_totals_of_the_last_30_days_match_the_history(history):
    report = reports.flow_report(history.flow, since=history.now - 30 * DAY)
    assert report.enrolled == 5
    assert report.active == 2  # e3 waiting, e5 active
    assert (report.completed, report.converted, report.exited, report.failed) == (1, 1, 0, 1)
    assert report.conversion_rate == 20.0
    assert report.orders == 3  # c1 after a click, c2 while enrolled, c5 (once)
    assert report.revenue == Decimal("120.00")


def test_all_time_includes_the_run_from_60_days_ago(history):
    report = reports.flow_report(history.flow)
    assert (report.enrolled, report.exited, report.converted) == (6, 1, 1)
    assert report.conversion_rate == pytest.approx(16.7)
    assert report.orders == 4
    assert report.revenue == Decimal("130.00")
    email = figures(report, "email1")
    assert (email.entered, email.sent, email.opened, email.clicked) == (6, 5, 4, 2)


def test_every_step_of_the_tree_has_its_funnel_figures(history):
    report = reports.flow_report(history.flow, since=history.now - 30 * DAY)
    assert [s.id for s in report.steps] == [
        "email1",
        "wait",
        "branch",
        "y_tag",
        "n_email",
        "ab",
        "a_tag",
        "b_tag",
    ]
    expected = {  # entered, waiting here, completed, failed
        "email1": (5, 0, 5, 0),
        "wait": (5, 1, 4, 0),
        "branch": (4, 0, 3, 1),
        "y_tag": (2, 0, 2, 0),
        "n_email": (1, 0, 1, 0),
        "ab": (2, 0, 2, 0),
        "a_tag": (1, 0, 1, 0),
        "b_tag": (1, 1, 0, 0),
    }
    for step_id, numbers in expected.items():
        s = figures(report, step_id)
        assert (s.entered, s.here, s.completed, s.failed) == numbers, step_id
    assert [(s.depth, s.path) for s in report.steps if s.depth] == [
        (1, "Yes"),
        (1, "No"),
        (1, "Variant A"),
        (1, "Variant B"),
    ]


def test_send_steps_count_sent_unique_opens_clicks_and_unsubscribes_with_rates(history):
    report = reports.flow_report(history.flow, since=history.now - 30 * DAY)
    email = figures(report, "email1")
    # sent to c1, c2, c3, c5 (c4's failed); opened by c1, c2, c5; clicked by c1, c5.
    assert (email.sent, email.opened, email.clicked, email.unsubscribed) == (4, 3, 2, 1)
    assert (email.open_rate, email.click_rate, email.unsubscribe_rate) == (75.0, 50.0, 25.0)
    second = figures(report, "n_email")
    assert (second.sent, second.opened, second.clicked, second.unsubscribed) == (1, 0, 1, 0)
    assert (second.open_rate, second.click_rate) == (0.0, 100.0)
    tag = figures(report, "y_tag")
    assert not tag.is_email and tag.open_rate is None


def test_a_custom_range_selects_the_runs_that_entered_in_it(history):
    params = {
        "range": "custom",
        "from": (history.now - 61 * DAY).date().isoformat(),
        "to": (history.now - 59 * DAY).date().isoformat(),
    }
    since, until, key = reports.date_range(params, history.now)
    report = reports.flow_report(history.flow, since, until)
    assert key == "custom" and report.enrolled == 1 and report.exited == 1
    assert report.revenue == Decimal("10.00")


@pytest.mark.parametrize(
    "params, days",
    [({}, 30), ({"range": "7"}, 7), ({"range": "90"}, 90), ({"range": "nonsense"}, 30)],
)
def test_preset_ranges_count_back_from_now(params, days):
    now = timezone.now()
    since, until, _ = reports.date_range(params, now)
    assert (since, until) == (now - dt.timedelta(days=days), None)


def test_a_bad_custom_date_falls_back_to_30_days():
    now = timezone.now()
    assert reports.date_range({"range": "custom", "from": "yesterday"}, now)[2] == "30"


def test_each_order_after_a_click_goes_to_the_email_clicked_last(history):
    report = reports.flow_report(history.flow, since=history.now - 30 * DAY)
    first, second = figures(report, "email1"), figures(report, "n_email")
    # c1 clicked email1, ordered 30 three days later; c5 clicked it, ordered 40 a day later;
    # c2 clicked the second email, ordered 50. c1's 99 came after the window: nobody's.
    assert (first.orders, first.revenue) == (2, Decimal("70.00"))
    assert (second.orders, second.revenue) == (1, Decimal("50.00"))
    assert figures(report, "wait").revenue == 0


def test_an_order_after_clicks_on_two_emails_counts_once_for_the_later_one(history):
    c2 = Enrollment.objects.get(flow=history.flow, status="converted")
    Message.objects.filter(enrollment=c2, step_id="email1").update(
        clicks=1, first_clicked_at=c2.enrolled_at + HOUR
    )
    report = reports.flow_report(history.flow, since=history.now - 30 * DAY)
    assert figures(report, "email1").revenue == Decimal("70.00")
    assert figures(report, "n_email").revenue == Decimal("50.00")


def test_the_revenue_window_is_a_setting(history, settings):
    settings.WAGTAIL_FLOWS = {"REVENUE_WINDOW_DAYS": 10}
    report = reports.flow_report(history.flow, since=history.now - 30 * DAY)
    assert report.revenue == Decimal(
        "219.00"
    )  # c1's second order is now 9 days 22 h after the click


def test_the_report_takes_the_same_number_of_queries_however_many_contacts(
    history, django_assert_num_queries
):
    flow = Flow.objects.get(pk=history.flow.pk)
    reports.walk_steps(flow)  # step labels (page titles) are loaded once per flow
    # One query per kind of figure (held emails and held runs are the two newest), however
    # many contacts.
    with django_assert_num_queries(11) as small:
        reports.flow_report(flow)
    h = History(flow, history.now)
    for contact in ContactFactory.create_batch(30):
        enrollment = h.enroll(contact, "completed", at=history.now - DAY)
        h.ran(enrollment, "email1", "wait", "branch:yes", "y_tag", "ab:B", "b_tag")
        h.message(enrollment, "email1", opens=1, clicks=1)
        h.order(contact, "5.00", history.now - DAY + HOUR)
    with django_assert_num_queries(len(small.captured_queries)):
        report = reports.flow_report(flow)
    assert report.enrolled == 36


def test_a_trend_has_one_entry_per_day_with_enrollments_and_conversions(history):
    until = history.now
    days = reports.daily_trend(history.flow, until - 7 * DAY, until)
    assert len(days) in (7, 8)  # the first partial day counts
    assert sum(e for _, e, _c in days) == 5
    assert sum(c for _, _e, c in days) == 1  # e2 converted 2 days ago
    t = history.now - 5 * DAY
    by_day = {day: (e, c) for day, e, c in days}
    assert by_day[timezone.localtime(t).date()][0] == 5


def test_a_draft_flow_without_runs_has_an_empty_report():
    flow = Flow.objects.create(name="Empty")
    report = reports.flow_report(flow)
    assert (report.enrolled, report.conversion_rate, report.steps, report.splits) == (
        0,
        None,
        [],
        [],
    )


def test_contacts_who_leave_at_a_wait_count_where_they_left_and_in_the_totals(
    django_capture_on_commit_callbacks,
):
    """Ann unsubscribes while she waits: she entered the wait and exited there (not lost
    from the report); Bob reaches the goal while waiting there."""
    from tests.test_engine_tree import T0, make_flow, run, start, wait
    from tests.test_engine_tree import step as engine_step

    page = make_email_page("Hello")
    flow = make_flow(
        [
            engine_step("send_email", "s", page=page.pk),
            wait("w", amount=2),
            engine_step("add_tag", "t", tag="x"),
        ],
        kind="marketing",
    )
    ann, bob = ContactFactory(status="subscribed"), ContactFactory(status="subscribed")
    for contact in (ann, bob):
        run(start(flow, contact, now=T0), T0)
    with django_capture_on_commit_callbacks(execute=True):
        ann.unsubscribe(reason="link")  # dispatched after commit: her run exits
    Enrollment.objects.filter(contact=bob).update(status="converted", finished_at=T0)

    report = reports.flow_report(flow)

    wait_row = next(row for row in report.steps if row.id == "w")
    assert (wait_row.exited_here, wait_row.unsubscribed_here, wait_row.converted_here) == (1, 1, 1)
    assert wait_row.entered == 2 and wait_row.here == 0
    assert (report.exited, report.converted, report.enrolled) == (1, 1, 2)


def test_each_emails_links_show_their_clicks_most_clicked_first(client):
    """Clicks counted from the real click redirect: per link, contacts and every click."""
    from django.urls import reverse

    from wagtail_flows.emails import tokens

    page = make_email_page("Offer")
    flow = Flow.objects.create(
        name="Offer", status="live", steps=[step("send_email", "email1", page=page.pk)]
    )
    h = History(flow, timezone.now())
    links = ["https://example.com/sale", "https://example.com/about"]
    messages = []
    for contact in ContactFactory.create_batch(2):
        enrollment = h.enroll(contact, "completed", at=h.now - DAY)
        messages.append(h.message(enrollment, "email1", links=links))

    def click(message, index):
        token = tokens.make_token(message.pk, tokens.CLICK)
        response = client.get(reverse("wagtail_flows:click", args=[token, index]))
        assert response.status_code == 302 and response["Location"] == links[index]

    click(messages[0], 0)
    click(messages[0], 0)
    click(messages[1], 0)
    click(messages[1], 1)

    row = next(s for s in reports.flow_report(flow).steps if s.id == "email1")
    assert [(link.url, link.contacts, link.clicks) for link in row.links] == [
        ("https://example.com/sale", 2, 3),
        ("https://example.com/about", 1, 1),
    ]
