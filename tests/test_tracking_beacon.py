"""Cached pages report views and custom events through the beacon; abuse gets a 4xx."""

import json
from pathlib import Path

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from tests.factories import (
    make_email_library,
    make_email_page,
    make_standard_page,
    restrict_to_logged_in,
    site_root,
)
from wagtail_flows import capture as tracking
from wagtail_flows.models import Contact, Event, Visitor

pytestmark = pytest.mark.django_db
BROWSER = "Mozilla/5.0 (iPhone) Mobile Safari/604.1"
ORIGIN = "http://testserver"


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()


@pytest.fixture
def browser():
    return Client(headers={"user-agent": BROWSER})


@pytest.fixture
def page():
    return make_standard_page("Pricing")


def beacon(client, payload, origin=ORIGIN, raw=None, environ=None, **headers):
    if origin:
        headers["origin"] = origin
    body = raw if raw is not None else json.dumps(payload)
    return client.post(
        reverse("wagtail_flows:beacon"),
        body,
        content_type="application/json",
        headers=headers,
        **(environ or {}),
    )


def errors(response):
    return set(response.json()["errors"])


def test_a_cached_page_view_is_recorded_for_the_browser(browser, page):
    response = beacon(browser, {"kind": "page_viewed", "page": page.pk, "path": page.url})
    assert response.status_code == 204
    event = Event.objects.get()
    state = tracking.VisitorCookie.loads(response.cookies["flows_vid"].value)
    visit = {"path": page.url, "visit": state.stamp}  # the minute its visit started
    assert (event.kind, event.page_id, event.data) == ("page_viewed", page.pk, visit)
    assert event.visitor_id == state.id


def test_a_page_can_be_named_by_path(browser, page):
    assert beacon(browser, {"kind": "page_viewed", "path": page.url}).status_code == 204
    assert Event.objects.get().page_id == page.pk


def test_a_custom_event_attaches_to_the_callers_own_cookie(browser, page):
    browser.get(page.url)
    visitor_id = Event.objects.get().visitor_id
    response = beacon(browser, {"kind": "custom", "name": "video_played", "data": {"v": "intro"}})
    assert response.status_code == 204
    event = Event.objects.get(kind="custom")
    assert (event.name, event.data, event.visitor_id) == (
        "video_played",
        {"v": "intro"},
        visitor_id,
    )


def test_the_referer_is_enough_when_there_is_no_origin(browser, page):
    response = beacon(
        browser, {"kind": "page_viewed", "page": page.pk}, origin=None, referer=ORIGIN + "/"
    )
    assert response.status_code == 204


@pytest.mark.parametrize("origin", ["https://evil.example", "null", None])
def test_another_site_cannot_post_events(browser, page, origin):
    response = beacon(browser, {"kind": "page_viewed", "page": page.pk}, origin=origin)
    assert response.status_code == 403 and errors(response) == {"origin"}
    assert not Event.objects.exists()


def test_a_trusted_origin_may_post(settings, browser, page):
    settings.CSRF_TRUSTED_ORIGINS = ["https://www.example.com"]
    response = beacon(
        browser, {"kind": "page_viewed", "page": page.pk}, origin="https://www.example.com"
    )
    assert response.status_code == 204


@pytest.mark.parametrize(
    ("payload", "raw", "field"),
    [
        (None, "{not json", "body"),
        (None, "[1, 2]", "body"),
        ({"kind": "order_placed"}, None, "kind"),
        ({"kind": "email_opened"}, None, "kind"),
        ({}, None, "kind"),
        ({"kind": "custom", "name": ""}, None, "name"),
        ({"kind": "custom", "name": "x" * 101}, None, "name"),
        ({"kind": "custom", "name": "a", "data": [1]}, None, "data"),
        ({"kind": "custom", "name": "a", "data": {"blob": "x" * 8200}}, None, "data"),
        ({"kind": "page_viewed", "page": 999999}, None, "page"),
        ({"kind": "page_viewed", "page": "1"}, None, "page"),
        ({"kind": "page_viewed", "path": "no-slash"}, None, "path"),
        ({"kind": "custom", "name": "a", "email": "boss@example.com"}, None, "email"),
        ({"kind": "custom", "name": "a", "data": {"email": "boss@example.com"}}, None, "data"),
    ],
)
def test_malformed_payloads_are_refused_naming_the_field(browser, payload, raw, field):
    response = beacon(browser, payload, raw=raw)
    assert 400 <= response.status_code < 500
    assert errors(response) == {field}
    assert not Event.objects.exists()


def test_the_path_the_beacon_adds_counts_towards_the_data_limit(browser, page):
    """Checked as it will be stored: an event that passes here is never refused later."""
    payload = {"kind": "page_viewed", "page": page.pk, "path": "/" + "p" * 499}
    response = beacon(browser, {**payload, "data": {"blob": "x" * 7800}})
    assert response.status_code == 400 and errors(response) == {"data"}
    assert not Event.objects.exists()
    assert beacon(browser, {**payload, "data": {"blob": "x" * 7000}}).status_code == 204


def test_a_huge_body_is_refused_without_reading_it_as_json(browser):
    response = beacon(browser, None, raw="x" * 20000)
    assert response.status_code == 413 and errors(response) == {"body"}


def test_a_restricted_page_cannot_be_reported(browser, page):
    restrict_to_logged_in(page)
    for payload, field in (
        ({"kind": "page_viewed", "page": page.pk}, "page"),
        ({"kind": "page_viewed", "path": page.url}, "path"),
    ):
        assert errors(beacon(browser, payload)) == {field}
    assert not Event.objects.exists()


def test_get_is_not_allowed(browser):
    assert browser.get(reverse("wagtail_flows:beacon")).status_code == 405


def test_the_rate_limit_applies_per_visitor(settings, browser, page):
    settings.WAGTAIL_FLOWS = {**settings.WAGTAIL_FLOWS, "BEACON_RATE_LIMIT": 3}
    browser.get(page.url)  # the browser has its cookie
    codes = [beacon(browser, {"kind": "custom", "name": "tick"}).status_code for _ in range(5)]
    assert codes == [204, 204, 204, 429, 429]
    assert Event.objects.filter(kind="custom").count() == 3
    other = Client(headers={"user-agent": BROWSER})
    assert beacon(other, {"kind": "custom", "name": "tick"}).status_code == 204


def test_dropping_the_cookie_does_not_lift_the_rate_limit(settings, page):
    settings.WAGTAIL_FLOWS = {**settings.WAGTAIL_FLOWS, "BEACON_RATE_LIMIT": 2}
    codes = [
        beacon(
            Client(headers={"user-agent": BROWSER}), {"kind": "custom", "name": "t"}
        ).status_code
        for _ in range(3)
    ]
    assert codes == [204, 204, 429]


def test_consent_and_bots_are_honoured_silently(settings, page):
    assert (
        beacon(
            Client(headers={"user-agent": "Googlebot"}), {"kind": "custom", "name": "a"}
        ).status_code
        == 204
    )
    settings.WAGTAIL_FLOWS = {**settings.WAGTAIL_FLOWS, "TRACKING_CONSENT": "off"}
    assert (
        beacon(
            Client(headers={"user-agent": BROWSER}), {"kind": "custom", "name": "a"}
        ).status_code
        == 204
    )
    assert not Event.objects.exists()


def test_an_internal_error_is_never_a_5xx(browser, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("wagtail_flows.capture.beacon.record_visit", broken)
    response = beacon(browser, {"kind": "custom", "name": "a"})
    assert response.status_code == 202 and response.json() == {"recorded": False}
    assert "beacon failed" in caplog.text


def test_the_beacon_script_is_shipped():
    from django.contrib.staticfiles import finders

    script = Path(finders.find("wagtail_flows/beacon.js")).read_text()
    assert (
        '"page_viewed"' in script
        and "wagtailFlows" in script
        and "email" not in script.split("*/", 1)[1]
    )


def test_an_identified_browsers_custom_event_lands_on_its_contact(browser, page):
    from tests.factories import ContactFactory
    from wagtail_flows.models import Visitor

    ann = ContactFactory()
    browser.get(page.url)
    Visitor.objects.create(id=Event.objects.get().visitor_id, contact=ann)
    beacon(browser, {"kind": "custom", "name": "pricing_toggled"})
    assert ann.events.get(kind="custom").name == "pricing_toggled"


# --- what the beacon refuses (issue #14) ------------------------------------------------------


def nothing_stored():
    return not (Event.objects.exists() or Visitor.objects.exists() or Contact.objects.exists())


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (
            {"kind": "custom", "name": "signup", "data": {"user": {"email": "ann@example.com"}}},
            "data",
        ),
        ({"kind": "custom", "name": "signup", "data": {"Email": "ann"}}, "data"),
        ({"kind": "custom", "name": "signup", "data": {"e-mail": "ann"}}, "data"),
        ({"kind": "custom", "name": "signup", "data": {"user_email": "ann"}}, "data"),
        ({"kind": "custom", "name": "signup", "data": {"emailAddress": "ann"}}, "data"),
        ({"kind": "custom", "name": "signup", "data": {"note": "mail ann@example.com"}}, "data"),
        (
            {"kind": "custom", "name": "signup", "data": {"to": ["x", {"a": "ANN@EXAMPLE.ORG"}]}},
            "data",
        ),
        ({"kind": "custom", "name": "signup", "data": {"ann@example.com": True}}, "data"),
        ({"kind": "custom", "name": "signup", "data": {"q": "ann%40example.com"}}, "data"),
        ({"kind": "custom", "name": "signup", "data": {"q": "ann\uff20example.com"}}, "data"),
        ({"kind": "custom", "name": "signup ann@example.com"}, "name"),
        ({"kind": "custom", "name": "signup", "user": {"email": "ann@example.com"}}, "user"),
        ({"kind": "page_viewed", "path": "/thanks/ann@example.com/"}, "path"),
    ],
)
def test_an_email_address_anywhere_is_refused_and_nothing_is_stored(browser, page, payload, field):
    response = beacon(browser, payload)
    assert response.status_code == 400
    assert errors(response) == {field}
    assert "email address" in response.json()["errors"][field]
    assert nothing_stored() and "flows_vid" not in response.cookies


def test_a_key_naming_an_email_is_refused_but_one_that_merely_mentions_mail_is_not(browser, page):
    refused = {"kind": "custom", "name": "joined", "data": {"user_email": "ann"}}
    assert beacon(browser, refused).status_code == 400
    payload = {"kind": "custom", "name": "joined", "data": {"mailing_list": "news", "v": "1.2@3"}}
    assert beacon(browser, payload).status_code == 204
    assert Event.objects.get().data == {"mailing_list": "news", "v": "1.2@3"}


def test_the_tree_root_is_no_page_but_the_site_home_is(browser):
    from wagtail.models import Page

    root = Page.get_first_root_node()
    response = beacon(browser, {"kind": "page_viewed", "page": root.pk})
    assert response.status_code == 400 and errors(response) == {"page"}
    assert nothing_stored()
    home = site_root()
    assert beacon(browser, {"kind": "page_viewed", "page": home.pk}).status_code == 204
    assert beacon(browser, {"kind": "page_viewed", "path": "/"}).status_code == 204
    assert list(Event.objects.values_list("page_id", flat=True)) == [home.pk, home.pk]


def test_an_email_page_or_the_email_library_is_no_site_page(browser):
    email = make_email_page()
    for payload, field in (
        ({"kind": "page_viewed", "page": email.pk}, "page"),
        ({"kind": "page_viewed", "path": email.url}, "path"),
        ({"kind": "page_viewed", "page": make_email_library().pk}, "page"),
    ):
        response = beacon(browser, payload)
        assert response.status_code == 400 and errors(response) == {field}
    assert nothing_stored()


def test_an_unpublished_page_cannot_be_reported(browser):
    draft = make_standard_page("Coming soon")
    draft.unpublish()
    for payload, field in (
        ({"kind": "page_viewed", "page": draft.pk}, "page"),
        ({"kind": "page_viewed", "path": "/coming-soon/"}, "path"),
    ):
        response = beacon(browser, payload)
        assert response.status_code == 400 and errors(response) == {field}
    assert nothing_stored()


def test_a_page_of_another_site_cannot_be_reported(browser, page):
    from wagtail.models import Page, Site

    other_home = Page.get_first_root_node().add_child(instance=Page(title="Shop", slug="shop"))
    Site.objects.create(hostname="shop.example", root_page=other_home)
    response = beacon(
        browser,
        {"kind": "page_viewed", "page": page.pk},
        origin="http://shop.example",
        environ={"HTTP_HOST": "shop.example"},
    )
    assert response.status_code == 400 and errors(response) == {"page"}
    assert nothing_stored()


def test_minted_cookies_do_not_lift_the_limit_of_one_address(settings, page):
    settings.WAGTAIL_FLOWS = {
        **settings.WAGTAIL_FLOWS,
        "BEACON_RATE_LIMIT": 3,
        "BEACON_RATE_LIMIT_PER_ADDRESS": 5,
    }
    browsers = [Client(headers={"user-agent": BROWSER}) for _ in range(5)]
    for each in browsers:
        each.get(page.url)  # five cookies from one address
    responses = [beacon(each, {"kind": "custom", "name": "t"}) for each in browsers * 2]
    assert [r.status_code for r in responses] == [204] * 5 + [429] * 5
    assert Event.objects.filter(kind="custom").count() == 5
    refused = responses[-1]
    assert errors(refused) == {"rate"} and 1 <= int(refused["Retry-After"]) <= 60
    elsewhere = beacon(
        browsers[0], {"kind": "custom", "name": "t"}, environ={"REMOTE_ADDR": "10.9.9.9"}
    )
    assert elsewhere.status_code == 204
    settings.WAGTAIL_FLOWS = {**settings.WAGTAIL_FLOWS, "BEACON_RATE_LIMIT_PER_ADDRESS": None}
    assert beacon(browsers[1], {"kind": "custom", "name": "t"}).status_code == 204


def test_one_ipv6_network_is_one_address(settings, page):
    settings.WAGTAIL_FLOWS = {**settings.WAGTAIL_FLOWS, "BEACON_RATE_LIMIT_PER_ADDRESS": 2}
    codes = [
        beacon(
            Client(headers={"user-agent": BROWSER}),
            {"kind": "custom", "name": "t"},
            environ={"REMOTE_ADDR": f"2001:db8:1:2::{n}"},
        ).status_code
        for n in range(1, 4)
    ]
    assert codes == [204, 204, 429]


@pytest.mark.parametrize(
    "raw",
    [
        b'{"kind": "custom", "name": "a", "data": {"n": NaN}}',
        b'{"kind": "custom", "name": "a", "data": {"n": Infinity}}',
        b'{"kind": "custom", "name": "a", "data": {"n": -Infinity}}',
        b'{"kind": "custom", "name": "a", "data": {"n": 1e999}}',
        b'{"kind":"custom","name":"\\ud800"}',
        b'{"kind":"custom","name":"a","data":{"\\udfff":1}}',
        b'{"kind":"custom","name":"a","data":{"x":"\\u0000"}}',
        b'{"kind": "custom", "name": "caf\xe9"}',  # Latin-1, not UTF-8
        b"[" * 5000 + b"]" * 5000,
        b'{"kind": "custom", "name": "a", "data": {"a": ' + b"[" * 4000 + b"]" * 4000 + b"}}",
        b'{"kind": "custom", "name": "a", "data": {"a": ' + b"[" * 8 + b"]" * 8 + b"}}",
    ],
)
def test_malformed_json_is_a_400_naming_the_body(browser, page, raw):
    response = beacon(browser, None, raw=raw)
    assert response.status_code == 400 and errors(response) == {"body"}
    assert nothing_stored()


def test_data_nests_at_most_eight_levels(browser, page):
    seven = json.loads("[" * 7 + "]" * 7)
    assert (
        beacon(browser, {"kind": "custom", "name": "a", "data": {"n": seven}}).status_code == 204
    )
    assert Event.objects.get().data == {"n": seven}
    response = beacon(browser, {"kind": "custom", "name": "a", "data": {"n": [seven]}})
    assert response.status_code == 400 and errors(response) == {"body"}
    assert Event.objects.count() == 1


def test_a_body_declared_too_long_is_refused_before_it_is_read(browser, page):
    response = beacon(
        browser, {"kind": "custom", "name": "a"}, environ={"CONTENT_LENGTH": "1000000"}
    )
    assert response.status_code == 413 and errors(response) == {"body"}
    assert nothing_stored()


def test_a_body_over_djangos_upload_limit_is_a_413(settings, browser, page):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    response = beacon(browser, {"kind": "custom", "name": "a", "data": {"x": "y" * 200}})
    assert response.status_code == 413 and errors(response) == {"body"}
    assert nothing_stored()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"kind": "page_viewed", "page": 2**70}, "page"),
        ({"kind": "page_viewed", "page": -1}, "page"),
        ({"kind": "page_viewed", "page": True}, "page"),
        ({"kind": "page_viewed", "path": "/" + "p" * 600}, "path"),
        ({"kind": "page_viewed", "path": ["/"]}, "path"),
    ],
)
def test_page_and_path_out_of_range_are_named(browser, page, payload, field):
    response = beacon(browser, payload)
    assert response.status_code == 400 and errors(response) == {field}
    assert nothing_stored()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
payloads = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {"kind": st.sampled_from(["page_viewed", "custom", "order_placed", "", 1])},
        optional={
            "name": json_values,
            "page": json_values,
            "path": json_values,
            "data": json_values,
        },
    ),
)


@hypothesis_settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(payload=payloads)
def test_no_payload_gets_a_server_error(browser, payload):
    cache.clear()
    response = beacon(browser, payload)
    assert response.status_code in (204, 400, 429)
    if response.status_code == 400:
        assert len(errors(response)) == 1
