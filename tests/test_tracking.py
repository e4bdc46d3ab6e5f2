"""Page views and document downloads are captured as a visitor browses the site."""

import logging
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.factories import (
    ContactFactory,
    make_document,
    make_standard_page,
    restrict_to_logged_in,
)
from wagtail_flows import capture as tracking
from wagtail_flows.models import Contact, Event, Visitor

pytestmark = pytest.mark.django_db

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"


@pytest.fixture
def browser():
    return Client(headers={"user-agent": BROWSER})


@pytest.fixture
def page():
    return make_standard_page("About us", body="We make flows.")


def views():
    return Event.objects.filter(kind="page_viewed")


def flows(settings, **values):
    settings.WAGTAIL_FLOWS = {**settings.WAGTAIL_FLOWS, **values}


def test_a_page_view_is_recorded_with_a_first_party_cookie(browser, page):
    response = browser.get(page.url + "?utm_source=news&utm_campaign=spring")
    assert response.status_code == 200
    event = views().get()
    assert event.page_id == page.pk
    cookie = response.cookies["flows_vid"]
    visit = tracking.VisitorCookie.loads(cookie.value).stamp  # the minute its visit started
    assert event.data == {
        "path": page.url,
        "utm_source": "news",
        "utm_campaign": "spring",
        "visit": visit,
    }
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and not cookie["secure"]
    assert event.visitor_id == tracking.VisitorCookie.loads(cookie.value).id
    assert event.contact_id is None


def test_the_cookie_is_secure_on_https(browser, page):
    response = browser.get(page.url, secure=True)
    assert response.cookies["flows_vid"]["secure"]


def test_a_returning_browser_keeps_its_visitor_id(browser, page):
    browser.get(page.url)
    second = browser.get(page.url)
    assert "flows_vid" not in second.cookies  # nothing to change: not resent
    assert views().count() == 2
    assert len(set(views().values_list("visitor_id", flat=True))) == 1


def test_a_forged_cookie_is_replaced(browser, page):
    browser.cookies["flows_vid"] = "0" * 32 + ":forged"
    response = browser.get(page.url)
    assert tracking.VisitorCookie.loads(response.cookies["flows_vid"].value) is not None
    assert views().get().visitor_id.hex != "0" * 32


def test_a_restricted_page_sends_the_visitor_to_login_and_records_nothing(browser, page):
    restrict_to_logged_in(page)
    response = browser.get(page.url)
    assert response.status_code == 302 and "login" in response["Location"]
    assert not views().exists()
    assert "flows_vid" not in response.cookies


def test_a_missing_page_post_and_head_record_nothing(browser, page):
    assert browser.get("/no-such-page/").status_code == 404
    browser.head(page.url)
    browser.post(page.url)
    assert not views().exists()


def test_a_preview_records_nothing(admin_client, page):
    admin_client.defaults["HTTP_USER_AGENT"] = BROWSER
    response = admin_client.get(f"/admin/pages/{page.pk}/view_draft/")
    assert response.status_code == 200
    assert not views().exists()


@pytest.mark.parametrize(
    "agent",
    ["Googlebot/2.1 (+http://www.google.com/bot.html)", "curl/8.5", "HeadlessChrome/120", ""],
)
def test_bots_are_not_counted(page, agent):
    Client(headers={"user-agent": agent}).get(page.url)
    assert not views().exists()


@pytest.mark.parametrize("header", [{"dnt": "1"}, {"sec-gpc": "1"}])
def test_do_not_track_and_global_privacy_control_are_honoured(page, header):
    response = Client(headers={"user-agent": BROWSER, **header}).get(page.url)
    assert not views().exists()
    assert "flows_vid" not in response.cookies


def test_dnt_can_be_ignored_by_setting(settings, page):
    flows(settings, HONOUR_DNT=False)
    Client(headers={"user-agent": BROWSER, "dnt": "1"}).get(page.url)
    assert views().count() == 1


def test_consent_mode_off_records_nothing_and_sets_no_cookie(settings, browser, page):
    flows(settings, TRACKING_CONSENT="off")
    response = browser.get(page.url)
    assert response.status_code == 200
    assert not views().exists() and "flows_vid" not in response.cookies


@pytest.mark.parametrize(("cookie", "recorded"), [(None, 0), ("0", 0), ("denied", 0), ("1", 1)])
def test_consent_cookie_mode_waits_for_the_consent_cookie(
    settings, browser, page, cookie, recorded
):
    flows(settings, TRACKING_CONSENT="consent-cookie")
    if cookie is not None:
        browser.cookies["flows_consent"] = cookie
    browser.get(page.url)
    assert views().count() == recorded


def test_an_error_in_capture_is_logged_and_the_page_still_served(
    browser, page, monkeypatch, caplog
):
    def broken(*args, **kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr("wagtail_flows.capture.pages.record_visit", broken)
    with caplog.at_level(logging.ERROR, logger="wagtail_flows.capture"):
        response = browser.get(page.url)
    assert response.status_code == 200
    assert b"We make flows." in response.content
    assert "capture failed" in caplog.text and "database on fire" in caplog.text


def test_an_identified_browser_attributes_page_views_to_its_contact(browser, page):
    contact = ContactFactory(email="ann@example.com")
    browser.get(page.url)
    visitor_id = views().get().visitor_id
    Visitor.objects.create(id=visitor_id, contact=contact)
    browser.get(page.url)
    assert views().filter(contact=contact).count() == 1


def test_the_visitors_page_views_keep_last_visit_current_once_per_visit(browser, page):
    from django.test import RequestFactory

    contact = ContactFactory()
    request = RequestFactory(headers={"user-agent": BROWSER}).get("/")
    assert tracking.identify(request, contact)
    browser.cookies["flows_vid"] = request._flows_visitor.dumps()
    browser.get(page.url)
    contact.refresh_from_db()
    assert contact.last_visit_at == views().get().created_at
    assert contact.last_activity_at == contact.last_visit_at


# --- cheap when idle ---------------------------------------------------------------------------


def count_queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return [q["sql"] for q in queries.captured_queries]


def test_page_view_capture_costs_one_insert_and_nothing_else(settings, browser, page):
    flows(settings, TRACKING_CONSENT="off")
    browser.get(page.url)  # warm Wagtail's caches
    baseline = len(count_queries(browser, page.url))

    flows(settings, TRACKING_CONSENT="always")
    first = count_queries(browser, page.url)  # a new browser: cookie issued
    returning = count_queries(browser, page.url)
    for queries in (first, returning):
        assert len(queries) == baseline + 1
        inserts = [sql for sql in queries if sql.startswith("INSERT")]
        assert len(inserts) == 1 and "wagtail_flows_event" in inserts[0]


def test_capture_off_costs_no_query(settings, browser, page, django_assert_num_queries):
    browser.get(page.url)
    baseline = len(count_queries(browser, page.url))
    flows(settings, TRACKING_CONSENT="off")
    with django_assert_num_queries(baseline - 1):
        browser.get(page.url)


def test_an_identified_browser_costs_one_update_per_visit(settings, browser, page):
    contact = ContactFactory()
    browser.get(page.url)
    baseline = len(count_queries(browser, page.url))  # anonymous: + 1 INSERT
    state = tracking.VisitorCookie.loads(browser.cookies["flows_vid"].value)
    Visitor.objects.create(id=state.id, contact=contact)
    state.identified, state.stamp = True, 0  # its last visit was long ago
    browser.cookies["flows_vid"] = state.dumps()
    start_of_visit = count_queries(browser, page.url)
    assert len(start_of_visit) == baseline + 1
    assert any(re.match(r"UPDATE .wagtail_flows_contact.", sql) for sql in start_of_visit)
    assert len(count_queries(browser, page.url)) == baseline  # the rest of the visit
    assert Contact.objects.get(pk=contact.pk).last_visit_at is not None


def test_a_live_flow_listening_for_another_kind_leaves_page_views_at_one_insert(
    settings, browser, page, django_assert_num_queries
):
    from wagtail_flows.engine import dispatch
    from wagtail_flows.models import Flow

    flows(settings, TRACKING_CONSENT="off")
    browser.get(page.url)
    baseline = len(count_queries(browser, page.url))
    flow = Flow(name="Welcome", status="live")
    flow.triggers = [("form_submitted", {"form_page": None})]
    flow.steps = [("add_tag", {"tag": "welcomed"})]
    flow.save()
    flows(settings, TRACKING_CONSENT="always")
    browser.get(page.url)  # the listening index is rebuilt once, on the first capture
    assert dispatch.is_listened("form_submitted") and not dispatch.is_listened("page_viewed")
    with django_assert_num_queries(baseline + 1) as queries:
        browser.get(page.url)
    inserts = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("INSERT")]
    assert len(inserts) == 1 and "wagtail_flows_event" in inserts[0]
    assert not views().filter(pending_dispatch=True).exists()


# --- documents ---------------------------------------------------------------------------------


def test_a_document_download_is_recorded(browser, page):
    document = make_document()
    browser.get(page.url)
    response = browser.get(document.url)
    assert response.status_code == 200
    event = Event.objects.get(kind="document_downloaded")
    assert event.object_id == str(document.pk) and event.name == "Price list"
    assert event.visitor_id == views().get().visitor_id
    assert event.data == {"filename": document.filename, "collection_id": document.collection_id}


@pytest.mark.parametrize("returning", [False, True])
def test_a_download_costs_one_insert_and_nothing_else(
    settings, browser, page, returning, django_assert_num_queries
):
    document = make_document()
    if returning:
        browser.get(page.url)  # the browser has its visitor cookie
    flows(settings, TRACKING_CONSENT="off")
    browser.get(document.url)  # warm Wagtail's caches
    with CaptureQueriesContext(connection) as off:
        assert browser.get(document.url).status_code == 200
    flows(settings, TRACKING_CONSENT="always")
    with django_assert_num_queries(len(off) + 1) as queries:
        assert browser.get(document.url).status_code == 200
    inserts = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("INSERT")]
    assert len(inserts) == 1 and "wagtail_flows_event" in inserts[0]
    event = Event.objects.get(kind="document_downloaded")
    assert (event.visitor_id is not None) == returning


def test_a_restricted_document_records_nothing(browser):
    from wagtail.models import Collection, CollectionViewRestriction

    collection = Collection.get_first_root_node().add_child(name="Private")
    CollectionViewRestriction.objects.create(collection=collection, restriction_type="login")
    document = make_document()
    document.collection = collection
    document.save()
    assert browser.get(document.url).status_code == 302
    assert not Event.objects.filter(kind="document_downloaded").exists()


def test_a_download_by_a_bot_is_not_counted(page):
    document = make_document()
    Client(headers={"user-agent": "Googlebot"}).get(document.url)
    assert not Event.objects.exists()


def test_a_database_error_in_capture_does_not_poison_an_atomic_request(browser, page, monkeypatch):
    from django.db import connection as conn

    def failing_insert(*args, **kwargs):
        with conn.cursor() as cursor:
            cursor.execute("SELECT * FROM no_such_table_for_capture")

    monkeypatch.setitem(conn.settings_dict, "ATOMIC_REQUESTS", True)
    monkeypatch.setattr("wagtail_flows.capture.pages.record_visit", failing_insert)
    response = browser.get(page.url)
    assert response.status_code == 200 and b"We make flows." in response.content
    assert Contact.objects.count() == 0  # the connection is still usable
