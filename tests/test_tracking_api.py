"""A developer records events with one call; the engine hears of them after commit."""

from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.core.exceptions import ValidationError
from django.test import RequestFactory
from django.utils import timezone

import wagtail_flows
from tests.factories import ContactFactory
from wagtail_flows import capture as tracking
from wagtail_flows.engine import dispatch
from wagtail_flows.models import Contact, Event, Visitor

pytestmark = pytest.mark.django_db
BROWSER = "Mozilla/5.0 (Macintosh) Safari/605.1"


class Engine(SimpleNamespace):
    """The real listening index, set to the kinds a test names; enqueued dispatches noted."""

    @property
    def kinds(self):
        return dispatch.current_index().kinds

    @kinds.setter
    def kinds(self, kinds):
        dispatch.reset_index(kinds)


@pytest.fixture
def engine(monkeypatch):
    engine = Engine(enqueued=[])
    monkeypatch.setattr(dispatch, "enqueue_dispatch", engine.enqueued.append)
    return engine


def browser_request(**headers):
    return RequestFactory(headers={"user-agent": BROWSER, **headers}).get("/")


def test_record_event_is_one_insert_when_nobody_listens(engine, django_assert_num_queries):
    contact = ContactFactory()
    with django_assert_num_queries(1):
        event = tracking.record_event("custom", contact=contact, name="webinar")
    assert event.pending_dispatch is False and engine.enqueued == []


def test_a_listened_event_is_dispatched_after_commit(engine, django_capture_on_commit_callbacks):
    engine.kinds = {"order_placed"}
    contact = ContactFactory()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        event = tracking.record_event("order_placed", contact=contact, value=Decimal("20"))
        assert engine.enqueued == []  # not before commit
    assert event.pending_dispatch is True
    for callback in callbacks:
        callback()
    assert engine.enqueued == [event.pk]


def test_activity_dates_move_forward_only(engine):
    contact = ContactFactory()
    now = timezone.now()
    tracking.record_event("email_opened", contact=contact, at=now)
    tracking.record_event("email_opened", contact=contact, at=now - timezone.timedelta(days=3))
    contact.refresh_from_db()
    assert contact.last_open_at == now and contact.last_activity_at == now


def test_orders_add_up_on_the_contact(engine):
    contact = ContactFactory()
    tracking.record_event("order_placed", contact=contact, value=Decimal("20.50"))
    tracking.record_event("order_placed", contact=contact, value=Decimal("9.50"))
    contact.refresh_from_db()
    assert contact.orders_count == 2 and contact.revenue_total == Decimal("30.00")
    assert contact.last_order_at is not None


def test_track_a_custom_event_by_email_creates_the_contact():
    event = wagtail_flows.track("Webinar attended", email=" Ann@Example.com ", topic="flows")
    assert event.kind == "custom" and event.name == "Webinar attended"
    assert event.data == {"topic": "flows"}
    assert event.contact.email == "ann@example.com"


def test_track_a_known_kind_for_a_contact_with_a_value():
    contact = ContactFactory()
    event = wagtail_flows.track("order_placed", contact=contact, value="12.5", order_id="A1")
    assert (event.kind, event.name, event.value) == ("order_placed", "", Decimal("12.50"))
    contact.refresh_from_db()
    assert contact.orders_count == 1


def test_track_by_request_uses_the_browsers_visitor_and_its_contact():
    contact = ContactFactory()
    request = browser_request()
    tracking.identify(request, contact)
    event = wagtail_flows.track("quiz_finished", request=request, score=7)
    assert event.contact == contact and event.visitor_id == request._flows_visitor.id


def test_a_view_outside_wagtail_sends_the_visitor_cookie_through_the_middleware():
    from django.http import HttpResponse

    from wagtail_flows.capture.middleware import VisitorCookieMiddleware
    from wagtail_flows.conf import flows_settings

    def quote_view(request):
        wagtail_flows.track("quote_requested", request=request)
        return HttpResponse("Thanks")

    response = VisitorCookieMiddleware(quote_view)(browser_request())
    event = Event.objects.get(name="quote_requested")
    cookie = tracking.VisitorCookie.loads(response.cookies[flows_settings.VISITOR_COOKIE].value)
    assert cookie.id == event.visitor_id  # the browser now carries the id its event names

    quiet = VisitorCookieMiddleware(lambda request: HttpResponse())(browser_request())
    assert flows_settings.VISITOR_COOKIE not in quiet.cookies


def test_track_by_request_respects_do_not_track():
    assert wagtail_flows.track("quiz_finished", request=browser_request(dnt="1")) is None
    assert not Event.objects.exists()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"email": "not-an-address"}, "email"),
        ({"email": "a" * 250 + "@example.com"}, "email"),
        ({"email": "ann@example.com", "blob": "x" * 9000}, "data"),
        ({"email": "ann@example.com", "when": object()}, "data"),
        ({"email": "ann@example.com", "value": "lots"}, "value"),
        ({"email": "ann@example.com", "friend": {"email": "bob@example.com"}}, "data"),
        ({"email": "ann@example.com", "note": "cc bob@example.com"}, "data"),
        ({"email": "ann@example.com", "user_email": "bob"}, "data"),
        ({"email": "ann@example.com", "score": float("nan")}, "data"),
        ({"email": "ann@example.com", "note": "\ud800"}, "data"),
        ({}, "contact"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(kwargs, field):
    with pytest.raises(ValidationError) as error:
        wagtail_flows.track("signed_up", **kwargs)
    assert field in error.value.message_dict
    assert not Event.objects.exists() and not Contact.objects.exists()


@pytest.mark.parametrize(
    ("name", "field"),
    [("", "kind"), ("x" * 101, "name"), (None, "kind"), ("invited bob@example.com", "name")],
)
def test_a_bad_event_name_is_named(name, field):
    with pytest.raises(ValidationError) as error:
        wagtail_flows.track(name, email="ann@example.com")
    assert field in error.value.message_dict


def test_get_or_create_contact_matches_case_insensitively():
    first, created = tracking.get_or_create_contact("Ann@Example.COM", first_name="Ann")
    again, created_again = tracking.get_or_create_contact("ann@example.com")
    assert created and not created_again and first == again
    assert Contact.objects.count() == 1


def test_get_or_create_contact_refuses_a_bad_email():
    with pytest.raises(ValidationError) as error:
        tracking.get_or_create_contact("ann@")
    assert "email" in error.value.message_dict


def test_event_recorded_signal_is_sent():
    from wagtail_flows.signals import event_recorded

    heard = []
    event_recorded.connect(lambda sender, event, **kw: heard.append(event), weak=False)
    try:
        event = wagtail_flows.track("custom_thing", contact=ContactFactory())
    finally:
        event_recorded.receivers.clear()
        event_recorded.sender_receivers_cache.clear()
    assert heard == [event]


def test_a_listened_page_view_resolves_the_contact_and_is_dispatched(engine, client):
    from tests.factories import make_standard_page

    engine.kinds = {"page_viewed"}
    page = make_standard_page()
    contact = ContactFactory()
    client.defaults["HTTP_USER_AGENT"] = BROWSER
    client.get(page.url)
    visitor_id = Event.objects.get().visitor_id
    Visitor.objects.create(id=visitor_id, contact=contact)
    client.get(page.url)
    event = Event.objects.filter(contact=contact).get()
    assert event.pending_dispatch and event.page_id == page.pk


# --- record_event: the lower-level call refuses bad input as track() does -------------------


@pytest.mark.parametrize(
    ("kind", "kwargs", "field"),
    [
        ("page_visited", {}, "kind"),
        ("", {}, "kind"),
        ("custom", {"name": "x" * 101}, "name"),
        ("custom", {"data": {"blob": "x" * 9000}}, "data"),
        ("custom", {"data": {"when": object()}}, "data"),
        ("custom", {"data": ["not", "an", "object"]}, "data"),
        ("order_placed", {"value": "lots"}, "value"),
        ("order_placed", {"value": "1e12"}, "value"),
        ("order_placed", {"object_id": "9" * 256}, "object_id"),
    ],
)
def test_record_event_refuses_bad_input_naming_the_field_and_writes_nothing(
    engine, kind, kwargs, field
):
    engine.kinds = {"order_placed", "custom"}
    contact = ContactFactory()
    with pytest.raises(ValidationError) as error:
        tracking.record_event(kind, contact=contact, **kwargs)
    assert field in error.value.message_dict
    assert not Event.objects.exists() and engine.enqueued == []
    contact.refresh_from_db()
    assert (contact.orders_count, contact.last_order_at) == (0, None)


def test_record_event_keeps_data_json_safe_and_labels_within_the_column(engine):
    contact = ContactFactory()
    event = tracking.record_event(
        "list_joined",
        contact=contact,
        name="A list with a very long name " * 8,
        data={"total": Decimal("9.50"), "at": timezone.now().date()},
    )
    stored = Event.objects.get(pk=event.pk)
    assert len(stored.name) == 100 and stored.name.startswith("A list with")
    assert stored.data["total"] == "9.50" and isinstance(stored.data["at"], str)
