"""A page view is committed when its response leaves, in a transaction of its own; on
PostgreSQL that transaction alone skips the wait for the WAL flush (CAPTURE_ASYNC_COMMIT),
and the visitor cookie keeps working across a change of secret key."""

import contextlib

import pytest
from django.db import connection, connections, transaction
from django.test import Client

from tests.factories import ContactFactory, make_standard_page
from wagtail_flows import capture as tracking
from wagtail_flows.models import Event, Visitor

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"
postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="synchronous_commit is PostgreSQL's"
)


def flows(settings, **values):
    settings.WAGTAIL_FLOWS = {**settings.WAGTAIL_FLOWS, **values}


def events_seen_by_another_connection():
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            table = other.ops.quote_name(Event._meta.db_table)
            cursor.execute(f"SELECT COUNT(*) FROM {table} WHERE kind = 'page_viewed'")  # noqa: S608
            return cursor.fetchone()[0]
    finally:
        other.close()


def synchronous_commit_now():
    """The setting in the connection's current transaction (a cursor of its own: the
    event's cursor still holds the INSERT's RETURNING row)."""
    with connection.connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        return cursor.fetchone()[0]


@contextlib.contextmanager
def commit_setting_of_event_insert():
    """Runs the event INSERT inside a transaction (as its own would be) and reads
    ``synchronous_commit`` there, right after it; the readings are yielded."""
    seen = []

    def wrapper(execute, sql, params, many, context):
        if not sql.startswith('INSERT INTO "wagtail_flows_event"'):
            return execute(sql, params, many, context)
        with transaction.atomic():
            result = execute(sql, params, many, context)
            seen.append(synchronous_commit_now())
        return result

    with connection.execute_wrapper(wrapper):
        yield seen


@pytest.mark.django_db(transaction=True)
def test_a_page_view_is_committed_when_the_response_leaves():
    page = make_standard_page("Prices")
    browser = Client(headers={"user-agent": BROWSER})
    for expected in (1, 2):  # a new visitor, then a returning one
        assert browser.get(page.url).status_code == 200
        assert not connection.in_atomic_block
        assert events_seen_by_another_connection() == expected


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_on_postgresql_only_the_page_views_transaction_skips_the_wal_flush(settings):
    page = make_standard_page("Prices")
    browser = Client(headers={"user-agent": BROWSER})
    with commit_setting_of_event_insert() as seen:
        browser.get(page.url)
        browser.get(page.url)
    assert seen == ["off", "off"]
    assert synchronous_commit_now() == "on"  # the connection's other transactions: as set
    assert events_seen_by_another_connection() == 2

    flows(settings, CAPTURE_ASYNC_COMMIT=False)
    with commit_setting_of_event_insert() as seen:
        browser.get(page.url)
    assert seen == ["on"]
    assert events_seen_by_another_connection() == 3


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_under_atomic_requests_the_requests_transaction_keeps_its_commit(monkeypatch):
    page = make_standard_page("Prices")
    monkeypatch.setitem(connection.settings_dict, "ATOMIC_REQUESTS", True)
    seen = []

    def wrapper(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if sql.startswith('INSERT INTO "wagtail_flows_event"'):
            seen.append(synchronous_commit_now())
        return result

    with connection.execute_wrapper(wrapper):
        assert Client(headers={"user-agent": BROWSER}).get(page.url).status_code == 200
    assert seen == ["on"]
    assert events_seen_by_another_connection() == 1


@pytest.mark.django_db
def test_an_identified_returning_browser_s_page_view_names_its_contact(django_assert_num_queries):
    from wagtail_flows.signals import event_recorded

    page = make_standard_page("Prices")
    browser = Client(headers={"user-agent": BROWSER})
    browser.get(page.url)
    state = tracking.VisitorCookie.loads(browser.cookies["flows_vid"].value)
    contact = ContactFactory()
    Visitor.objects.create(id=state.id, contact=contact)
    heard = []
    event_recorded.connect(receiver := lambda event, **kw: heard.append(event), weak=False)
    try:
        browser.get(page.url)
    finally:
        event_recorded.disconnect(receiver)
    (event,) = heard
    row = Event.objects.get(pk=event.pk)
    assert row.contact_id == contact.pk and row.data["path"] == page.url
    with django_assert_num_queries(1):  # the contact was set inside the INSERT: read it back
        assert event.contact_id == contact.pk


@pytest.mark.django_db
def test_a_new_secret_key_starts_new_visitors_unless_the_old_one_is_a_fallback(settings):
    page = make_standard_page("Prices")
    browser = Client(headers={"user-agent": BROWSER})
    browser.get(page.url)
    old_cookie = browser.cookies["flows_vid"].value
    visitor = tracking.VisitorCookie.loads(old_cookie).id
    old_key = settings.SECRET_KEY

    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = "a-new-key-" + old_key, [old_key]
    browser.get(page.url)
    assert Event.objects.latest("pk").visitor_id == visitor  # still the same browser

    settings.SECRET_KEY_FALLBACKS = []
    assert tracking.VisitorCookie.loads(old_cookie) is None
    browser.cookies["flows_vid"] = old_cookie
    response = browser.get(page.url)
    assert Event.objects.latest("pk").visitor_id != visitor
    assert tracking.VisitorCookie.loads(response.cookies["flows_vid"].value) is not None
