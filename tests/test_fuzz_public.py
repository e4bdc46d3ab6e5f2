"""Every public endpoint (``wagtail_flows/urls.py``, and a page served with capture on) under
hostile input: never a 5xx; a refusal (4xx) writes nothing; a redirect goes only to a link of
the message its token names.

The endpoints come from the URLconf itself, so one added there is fuzzed too: with valid and
tampered tokens where ``emails.tokens`` says how its tokens are made, with random ones
otherwise. Examples share the test's database (pytest-django's ``db``), so each example
compares the rows of every model of ours before and after its own request.
"""

import json
from urllib.parse import quote

import pytest
from django.apps import apps
from django.core.cache import cache
from django.test import Client
from django.urls import URLPattern, URLResolver, reverse
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

from tests.factories import (
    ContactListFactory,
    make_email_library,
    make_email_page,
    make_standard_page,
    restrict_to_logged_in,
    site_root,
)
from wagtail_flows import urls as flows_urls
from wagtail_flows.capture.visitors import VisitorCookie
from wagtail_flows.emails import tokens
from wagtail_flows.emails.delivery import deliver_message
from wagtail_flows.models import Event, Message
from wagtail_flows.models.events import email_address_in
from wagtail_flows.models.messages import MessageStatus

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate, Phase.shrink],  # no slow "explain" on a failure
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0"
TOKEN_SLOT, INDEX_SLOT = "TOKENSLOT", 987654321
# The purpose of each endpoint's token, by URL name (``emails.tokens``); an endpoint not
# listed here is fuzzed with random and foreign tokens only.
PURPOSES = {
    "open": tokens.OPEN,
    "click": tokens.CLICK,
    "unsubscribe": tokens.UNSUBSCRIBE,
    "preferences": tokens.PREFERENCES,
    "view_in_browser": tokens.VIEW,
}


def public_patterns(patterns=flows_urls.urlpatterns, prefix=""):
    """``(name, pattern)`` of every URL of ours, through any include()."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            namespace = f"{prefix}{pattern.namespace}:" if pattern.namespace else prefix
            yield from public_patterns(pattern.url_patterns, namespace)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield f"{prefix}{pattern.name}", pattern


ENDPOINTS = dict(public_patterns())
TOKEN_ENDPOINTS = sorted(name for name, p in ENDPOINTS.items() if "token" in p.pattern.converters)


def url_of(name, token, index):
    """The endpoint's URL with ``token`` percent-encoded byte for byte (lone surrogates and
    slashes included), so any text can be sent."""
    kwargs = {}
    converters = ENDPOINTS[name].pattern.converters
    if "token" in converters:
        kwargs["token"] = TOKEN_SLOT
    if "index" in converters:
        kwargs["index"] = INDEX_SLOT
    url = reverse(f"wagtail_flows:{name}", kwargs=kwargs)
    raw = quote(token.encode("utf-8", "surrogatepass"), safe="-_.~:")
    return url.replace(TOKEN_SLOT, raw).replace(str(INDEX_SLOT), str(index))


def our_rows():
    """Every row of every table of ours, to compare around one request."""
    return {
        model._meta.db_table: list(
            model._base_manager.order_by("pk").values_list(
                *(field.attname for field in model._meta.local_concrete_fields)
            )
        )
        for model in apps.get_app_config("wagtail_flows").get_models()
    }


def check_refusal_wrote_nothing(response, before):
    if 400 <= response.status_code < 500:
        assert our_rows() == before, f"a {response.status_code} wrote rows"


@pytest.fixture
def site(contact):
    """What the endpoints can name: a delivered message with two links, public and
    private pages, a public list."""
    body = [
        (
            "text",
            '<p><a href="https://example.com/a">A</a> '
            '<a href="https://shop.example.com/b?x=1&amp;y=2">B</a></p>',
        )
    ]
    message = Message.objects.create(
        contact=contact, page=make_email_page(body=body), to_email=contact.email
    )
    assert deliver_message(message.pk) == MessageStatus.SENT
    message.refresh_from_db()
    assert len(message.links) >= 2
    pricing = make_standard_page("Pricing")
    members = make_standard_page("Members")
    restrict_to_logged_in(members)
    draft = make_standard_page("Draft")
    draft.unpublish()
    newsletter = ContactListFactory(name="Newsletter", public=True)
    pages = [site_root(), pricing, members, draft, make_email_library(), message.page]
    return {"message": message, "pages": pages, "pricing": pricing, "list": newsletter}


# --- generated input -------------------------------------------------------------------------

header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=40)
hostile_text = st.one_of(
    st.text(max_size=30),  # any code point, lone surrogates included
    st.emails(),
    st.sampled_from(["", "\x00", "\ud800", "NaN", "ann%40example.com", "ann\uff20example.com"]),
)


@st.composite
def tokens_for(draw, name, message):
    """A valid token for ``message``, tampered with, or made up."""
    purpose = PURPOSES.get(name)
    real = tokens.make_token(message.pk, purpose) if purpose else None
    foreign = tokens.make_token(message.pk, draw(st.sampled_from(tokens.PURPOSES)))
    choice = draw(
        st.sampled_from(["real"] * 4 + ["flip", "cut", "grow", "other", "foreign", "text"])
    )
    base = real or foreign
    if choice == "real":
        return base
    if choice == "flip":
        at = draw(st.integers(0, len(base) - 1))
        return base[:at] + draw(st.characters()) + base[at + 1 :]
    if choice == "cut":
        return base[: draw(st.integers(0, len(base) - 1))]
    if choice == "grow":
        return base + draw(hostile_text)
    if choice == "other":  # a genuine signature of another message id
        other = draw(st.integers(0, 10**12))
        return tokens.make_token(other, purpose or tokens.OPEN)
    if choice == "foreign":
        return foreign
    return draw(hostile_text)


visitor_cookies = st.one_of(
    st.none(),
    st.builds(lambda id: VisitorCookie(id).dumps(), st.uuids()),
    st.builds(lambda id, text: VisitorCookie(id).dumps()[:-3] + text, st.uuids(), header_text),
    header_text,
)


@st.composite
def hostile_headers(draw):
    """Browser-ish headers, each present or not, with odd values."""
    headers = {}
    options = {
        "HTTP_USER_AGENT": st.sampled_from([BROWSER, "Googlebot", "", "curl/8"]) | header_text,
        "HTTP_ORIGIN": st.sampled_from(["http://testserver", "https://evil.example", "null"])
        | header_text,
        "HTTP_REFERER": st.sampled_from(["http://testserver/", "https://evil.example/"])
        | header_text,
        "HTTP_DNT": st.sampled_from(["1", "0"]),
        "HTTP_X_FORWARDED_FOR": header_text,
        "HTTP_ACCEPT_LANGUAGE": header_text,
        "HTTP_HOST": st.sampled_from(["testserver", "other.example", "bad host", "[::1]:80"]),
        "REMOTE_ADDR": st.sampled_from(["127.0.0.1", "2001:db8::1", "::ffff:10.0.0.1", "x"]),
        "CONTENT_TYPE": st.sampled_from(
            [
                "application/json",
                "text/plain",
                "application/x-www-form-urlencoded",
                "multipart/form-data; boundary=xyz",
                "multipart/form-data",
                "",
            ]
        )
        | header_text,
    }
    for key, values in options.items():
        if draw(st.booleans()):
            headers[key] = draw(values)
    cookie = draw(visitor_cookies)
    if cookie is not None:
        headers["HTTP_COOKIE"] = f"flows_vid={cookie}"
    return headers


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()  # NaN and infinities too: json.dumps writes them as bare words
    | hostile_text,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["email", "Email", "e-mail", "user_email", "v"]) | hostile_text,
            children,
            max_size=4,
        )
    ),
    max_leaves=12,
)


@st.composite
def beacon_bodies(draw, pages):
    """JSON of the beacon's shape with hostile parts, encoded one way or another, or junk."""
    shape = draw(st.sampled_from(["payload", "payload", "payload", "value", "deep", "big", "raw"]))
    if shape == "deep":
        depth = draw(st.integers(1, 6000))
        return (
            b'{"kind": "custom", "name": "a", "data": {"a": ' + b"[" * depth + b"]" * depth + b"}}"
        )
    if shape == "big":
        return (
            b'{"kind": "custom", "name": "a", "data": {"a": "'
            + b"x" * draw(st.integers(8000, 30000))
            + b'"}}'
        )
    if shape == "raw":
        return draw(st.binary(max_size=200))
    if shape == "value":
        payload = draw(json_values)
    else:
        page = draw(st.sampled_from([p.pk for p in pages]) | st.integers(-5, 2**70) | json_values)
        path = draw(st.sampled_from([p.url or "/" for p in pages]) | hostile_text | json_values)
        payload = draw(
            st.fixed_dictionaries(
                {"kind": st.sampled_from(["page_viewed", "custom", "order_placed", "", 1])},
                optional={
                    "name": st.sampled_from(["video_played", "a" * 101]) | hostile_text,
                    "page": st.just(page),
                    "path": st.just(path),
                    "data": json_values,
                    "email": st.emails(),
                },
            )
        )
    if draw(st.booleans()):
        return json.dumps(payload).encode()  # \ud800 escapes, NaN as a bare word
    return json.dumps(payload, ensure_ascii=False).encode("utf-8", "surrogatepass")


# --- the properties ---------------------------------------------------------------------------


def test_the_urlconf_is_fuzzed_whole():
    """A public URL added to urls.py is fuzzed without editing this file."""
    assert {"beacon", "open", "click", "unsubscribe", "preferences"} <= set(ENDPOINTS)
    assert set(ENDPOINTS) - {"beacon"} <= set(TOKEN_ENDPOINTS)


@FUZZ
@given(data=st.data())
def test_the_beacon_under_hostile_input(site, data):
    cache.clear()  # the rate limits would otherwise end the search after a minute's worth
    body = data.draw(beacon_bodies(site["pages"]), label="body")
    headers = data.draw(hostile_headers(), label="headers")
    same_origin = data.draw(st.sampled_from([True, True, True, False]), label="same origin")
    if same_origin:  # mostly past the Origin check, to reach what lies behind it
        headers["HTTP_ORIGIN"] = "http://" + headers.get("HTTP_HOST", "testserver")
    headers.setdefault("HTTP_USER_AGENT", BROWSER)
    method = data.draw(st.sampled_from(["post"] * 6 + ["get", "put"]), label="method")
    content_type = headers.pop("CONTENT_TYPE", "application/json")
    before, events_before = our_rows(), set(Event.objects.values_list("pk", flat=True))
    client, url = Client(enforce_csrf_checks=True), reverse("wagtail_flows:beacon")
    if method == "get":
        response = client.get(url, **headers)
    else:
        response = getattr(client, method)(url, body, content_type=content_type, **headers)
    event(f"beacon {response.status_code}")  # --hypothesis-show-statistics shows the mix
    assert response.status_code in (204, 400, 403, 405, 413, 429), response.content[:300]
    check_refusal_wrote_nothing(response, before)
    for stored in Event.objects.exclude(pk__in=events_before):
        assert email_address_in(stored.name) is None and email_address_in(stored.data) is None
        if stored.kind == "page_viewed":
            assert stored.page_id in (site["pages"][0].pk, site["pricing"].pk)


@settings(FUZZ, max_examples=80)
@given(data=st.data())
def test_the_email_links_under_hostile_input(site, data):
    cache.clear()
    message = site["message"]
    name = data.draw(st.sampled_from(TOKEN_ENDPOINTS), label="endpoint")
    token = data.draw(tokens_for(name, message), label="token")
    index = data.draw(st.integers(0, 3) | st.integers(0, 10**20), label="index")
    method = data.draw(
        st.sampled_from(["get", "post"] * 3 + ["head", "put", "delete", "options"]),
        label="method",
    )
    headers = data.draw(hostile_headers(), label="headers")
    content_type = headers.pop("CONTENT_TYPE", "application/x-www-form-urlencoded")
    form = data.draw(
        st.dictionaries(
            st.sampled_from(["List-Unsubscribe", "lists", "unsubscribe_all"]) | hostile_text,
            st.sampled_from(["One-Click", "1", "on", str(site["list"].pk)]) | hostile_text,
            max_size=3,
        ),
        label="form",
    )
    body = "&".join(
        f"{quote(k.encode('utf-8', 'surrogatepass'))}={quote(v.encode('utf-8', 'surrogatepass'))}"
        for k, v in form.items()
    )
    before = our_rows()
    client = Client(enforce_csrf_checks=True)
    url = url_of(name, token, index)
    if method in ("get", "head", "options"):
        response = getattr(client, method)(url, **headers)
    else:
        response = getattr(client, method)(url, body, content_type=content_type, **headers)
    event(f"{name} {method} {response.status_code}")
    assert response.status_code < 500
    check_refusal_wrote_nothing(response, before)
    if 300 <= response.status_code < 400:
        assert name == "click", f"{name} redirected to {response['Location']}"
        named = Message.objects.get(pk=tokens.read_token(token, tokens.CLICK))
        assert response["Location"] == named.links[index]


@FUZZ
@given(data=st.data())
def test_a_served_page_under_hostile_input(site, data):
    """Capture on page serving: at most the one page view, and only for a page served."""
    cache.clear()
    pages = site["pages"]
    path = data.draw(
        st.sampled_from([p.url or "/" for p in pages])
        | st.builds(lambda text: "/" + quote(text.encode("utf-8", "surrogatepass")), hostile_text),
        label="path",
    )
    query = data.draw(st.dictionaries(hostile_text, hostile_text, max_size=2), label="query")
    method = data.draw(st.sampled_from(["get", "get", "head", "post"]), label="method")
    headers = data.draw(hostile_headers(), label="headers")
    headers.pop("CONTENT_TYPE", None)
    headers.pop("HTTP_HOST", None)  # a page of this site: another host has no pages here
    if query:
        path += "?" + "&".join(
            f"{quote(k, errors='replace')}={quote(v, errors='replace')}" for k, v in query.items()
        )
    before, events_before = our_rows(), set(Event.objects.values_list("pk", flat=True))
    response = getattr(Client(enforce_csrf_checks=True), method)(path, **headers)
    event(f"page {method} {response.status_code}")
    assert response.status_code < 500
    check_refusal_wrote_nothing(response, before)
    new_events = list(Event.objects.exclude(pk__in=events_before))
    assert len(new_events) <= 1
    for stored in new_events:
        assert response.status_code == 200 and method == "get"
        assert stored.kind == "page_viewed"
        assert stored.page_id in (pages[0].pk, site["pricing"].pk)
