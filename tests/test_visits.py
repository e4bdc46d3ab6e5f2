"""A visit is one browsing session — the pages a browser views within 30 minutes of arriving —
not one page view. Capture notes on each page view the visit it belongs to, from the visitor
cookie alone (no query), sending the cookie again only when a visit starts; "Highly engaged",
the page-view trigger and the "Did something" condition count visits from it. Page views
recorded before visits were kept count one visit each, as every view counted before."""

import json
import uuid
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.factories import ContactFactory, identified_browser, make_form_page, make_standard_page
from wagtail_flows.engine.sweeps import run_sweep
from wagtail_flows.flows.blocks import ConditionsBlock
from wagtail_flows.flows.describe import describe
from wagtail_flows.models import Contact, Enrollment, Event, Flow, Segment

pytestmark = pytest.mark.django_db
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"


def child(block_type, value=None):
    return {"type": block_type, "value": value, "id": str(uuid.uuid4())}


class Clock:
    """Every ``timezone.now()`` reads this clock; ``at(minutes)`` travels from its start."""

    def __init__(self, monkeypatch):
        self.start = timezone.now().replace(second=0, microsecond=0) - timedelta(days=1)
        self.now = self.start
        monkeypatch.setattr(timezone, "now", lambda: self.now)

    def at(self, minutes):
        self.now = self.start + timedelta(minutes=minutes)
        return self.now


@pytest.fixture
def clock(monkeypatch):
    return Clock(monkeypatch)


@pytest.fixture
def pages():
    return [make_standard_page(f"Page {n}") for n in range(3)]


def view(browser, page):
    """Load ``page``; True when the response (re)sent the visitor cookie."""
    response = browser.get(page.url)
    assert response.status_code == 200
    return "flows_vid" in response.cookies


def visits_of(contact):
    """(page views, visits), as the "Did something" condition counts them for one contact
    and for a segment (the two always agree)."""
    counts = []
    for count_visits in (False, True):
        n = 0
        while True:
            value = {"kind": "page_viewed", "min_count": n + 1, "count_visits": count_visits}
            raw = [child("did_event", value)]
            stream = ConditionsBlock().to_python(raw)
            one = evaluate_one(stream, contact)
            segment = Segment.objects.create(name=f"S {uuid.uuid4()}", conditions=raw)
            assert one == segment.contacts().filter(pk=contact.pk).exists()
            if not one:
                break
            n += 1
        counts.append(n)
    return tuple(counts)


def evaluate_one(stream, contact):
    from wagtail_flows.flows import conditions

    return conditions.evaluate(stream, Contact.objects.get(pk=contact.pk))


def test_ten_pages_in_half_an_hour_are_one_visit_and_a_view_31_minutes_on_another(clock, pages):
    ann = ContactFactory(email="ann@example.com")
    browser = identified_browser(ann)
    cookie_sent = []
    for minute in range(0, 30, 3):  # ten pages: minutes 0, 3 … 27
        clock.at(minute)
        cookie_sent.append(view(browser, pages[minute % 3]))
    assert cookie_sent == [True] + [False] * 9  # the cookie goes out once per visit
    assert visits_of(ann) == (10, 1)

    clock.at(31)
    assert view(browser, pages[0])  # a new visit: the cookie carries its start
    assert not view(browser, pages[1])
    assert visits_of(ann) == (12, 2)
    noted = list(
        Event.objects.filter(contact=ann, kind="page_viewed")
        .order_by("pk")
        .values_list("data__visit", flat=True)
    )
    first, second = int(clock.start.timestamp() // 60), int(clock.at(31).timestamp() // 60)
    assert noted == [first] * 10 + [second] * 2
    ann.refresh_from_db()
    assert ann.last_visit_at == clock.start + timedelta(minutes=31)  # once per visit


def test_an_anonymous_browser_keeps_its_visit_when_it_signs_up(clock, pages):
    form = make_form_page("Newsletter")
    browser = Client(headers={"user-agent": BROWSER})
    assert view(browser, pages[0])  # minute 0: a new browser, its first visit
    clock.at(5)
    assert not view(browser, pages[1])
    clock.at(8)
    response = browser.post(form.url, {"email": "bo@example.com", "first_name": "Bo"})
    assert response.status_code == 200 and "flows_vid" in response.cookies  # now identified
    bo = Contact.objects.get(email="bo@example.com")
    bo.refresh_from_db()
    assert bo.last_visit_at == clock.start + timedelta(minutes=5)  # its anonymous views moved
    for minute in (12, 20):
        clock.at(minute)
        assert not view(browser, pages[2])  # the same visit goes on
    assert visits_of(bo) == (4, 1)

    clock.at(35)
    assert view(browser, pages[0])
    assert visits_of(bo) == (5, 2)
    bo.refresh_from_db()
    assert bo.last_visit_at == clock.start + timedelta(minutes=35)


def test_highly_engaged_counts_visits_not_page_views(clock, pages):
    flow = Flow.objects.create(
        name="Super leads",
        status="live",
        triggers=[child("engagement", {"min_visits": 2, "within_days": 7})],
        steps=[child("add_tag", {"tag": "hot"})],
    )
    binge, regular = ContactFactory(email="binge@example.com"), ContactFactory()
    binge_browser, regular_browser = identified_browser(binge), identified_browser(regular)
    for minute in range(0, 20, 2):  # ten pages in one sitting
        clock.at(minute)
        view(binge_browser, pages[0])
    for minute in (0, 60):  # two short visits
        clock.at(minute)
        view(regular_browser, pages[1])

    run_sweep(now=clock.at(90))
    assert set(Enrollment.objects.filter(flow=flow).values_list("contact_id", flat=True)) == {
        regular.pk
    }


def test_the_page_view_trigger_can_count_visits(clock, pages, django_capture_on_commit_callbacks):
    trigger = {"page": pages[0].pk, "min_views": 2, "count_visits": True, "within_days": 7}
    flow = Flow.objects.create(
        name="Came back to pricing",
        status="live",
        triggers=[child("page_viewed", trigger)],
        steps=[child("add_tag", {"tag": "returning"})],
    )
    assert describe(flow.triggers[0]) == "Views “Page 0” in 2 visits within 7 days"
    cy = ContactFactory(email="cy@example.com")
    browser = identified_browser(cy)
    for minute in (0, 4, 9):  # three views of the page in one visit
        clock.at(minute)
        with django_capture_on_commit_callbacks(execute=True):
            view(browser, pages[0])
    assert not Enrollment.objects.filter(flow=flow).exists()
    clock.at(50)
    with django_capture_on_commit_callbacks(execute=True):
        view(browser, pages[0])
    run = Enrollment.objects.get(flow=flow)
    views = Event.objects.filter(contact=cy, kind="page_viewed")
    assert run.trigger_event == views.latest("pk")  # the first view of the second visit


def beacon(client, page):
    return client.post(
        reverse("wagtail_flows:beacon"),
        json.dumps({"kind": "page_viewed", "page": page.pk, "data": {"visit": 7}}),
        content_type="application/json",
        headers={"origin": "http://testserver"},
    )


def test_views_the_beacon_reports_are_marked_the_same_way(clock, pages):
    cache.clear()
    browser = Client(headers={"user-agent": BROWSER})
    sent = []
    for minute in (0, 10, 29, 30):
        clock.at(minute)
        response = beacon(browser, pages[0])
        assert response.status_code == 204
        sent.append("flows_vid" in response.cookies)
    assert sent == [True, False, False, True]
    noted = list(Event.objects.order_by("pk").values_list("data__visit", flat=True))
    start = int(clock.start.timestamp() // 60)
    assert noted == [start, start, start, start + 30]  # the page's own "visit" is not ours


def test_views_recorded_before_visits_were_kept_count_one_visit_each(clock, pages):
    dee = ContactFactory(email="dee@example.com")
    for minutes in (1, 2, 3):  # old views: no visit noted
        Event.objects.create(
            contact=dee, kind="page_viewed", created_at=clock.start - timedelta(minutes=minutes)
        )
    browser = identified_browser(dee)
    for minute in (0, 5, 10):
        clock.at(minute)
        view(browser, pages[0])
    assert visits_of(dee) == (6, 4)


def capture_queries(browser, page):
    with CaptureQueriesContext(connection) as queries:
        assert browser.get(page.url).status_code == 200
    return [q["sql"] for q in queries.captured_queries]


def test_a_new_visit_of_an_anonymous_browser_costs_no_query_but_the_insert(settings, clock, pages):
    settings.WAGTAIL_FLOWS = {**settings.WAGTAIL_FLOWS, "TRACKING_CONSENT": "off"}
    browser = Client(headers={"user-agent": BROWSER})
    browser.get(pages[0].url)  # warm Wagtail's caches
    baseline = len(capture_queries(browser, pages[0]))
    settings.WAGTAIL_FLOWS = {**settings.WAGTAIL_FLOWS, "TRACKING_CONSENT": "always"}

    counted = []
    for minute in (0, 10, 40, 41):  # a new browser, the same visit, a new visit, the same
        clock.at(minute)
        counted.append(capture_queries(browser, pages[0]))
    for queries in counted:
        assert len(queries) == baseline + 1
        (insert,) = [sql for sql in queries if sql.startswith("INSERT")]
        assert "wagtail_flows_event" in insert
    visits = set(Event.objects.values_list("data__visit", flat=True))
    assert len(visits) == 2
