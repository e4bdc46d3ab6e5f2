"""The links in an email: signed, one purpose each, never an open redirect, never a 5xx."""

import pytest
from django.core.cache import caches
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import ContactListFactory, make_email_page
from wagtail_flows.emails import tokens
from wagtail_flows.emails.delivery import deliver_message
from wagtail_flows.emails.rendering import render_email
from wagtail_flows.models import Event, Message
from wagtail_flows.models.contacts import ContactStatus, EventKind
from wagtail_flows.models.messages import MessageStatus

pytestmark = pytest.mark.django_db

ENDPOINTS = {
    "open": tokens.OPEN,
    "unsubscribe": tokens.UNSUBSCRIBE,
    "preferences": tokens.PREFERENCES,
    "view_in_browser": tokens.VIEW,
}


@pytest.fixture(autouse=True)
def _empty_render_cache():
    caches["default"].clear()


@pytest.fixture
def sent(contact):
    body = [
        (
            "text",
            '<p><a href="https://example.com/a">A</a> <a href="https://example.com/b?x=1&amp;y=2">'
            "B</a></p>",
        )
    ]
    page = make_email_page(body=body)
    message = Message.objects.create(contact=contact, page=page, to_email=contact.email)
    assert deliver_message(message.pk) == MessageStatus.SENT
    message.refresh_from_db()
    return message


def url_for(name, message_or_id, *extra, purpose=None):
    pk = getattr(message_or_id, "pk", message_or_id)
    purpose = purpose or (tokens.CLICK if name == "click" else ENDPOINTS[name])
    return reverse(f"wagtail_flows:{name}", args=[tokens.make_token(pk, purpose), *extra])


def state(message):
    message.refresh_from_db()
    message.contact.refresh_from_db()
    return (
        message.opens,
        message.clicks,
        message.unsubscribed_at,
        message.contact.status,
        Event.objects.count(),
    )


BROWSER = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Safari/605.1.15"


def test_a_click_redirects_to_the_link_and_identifies_the_reader(client, sent):
    response = client.get(url_for("click", sent, 1), HTTP_USER_AGENT=BROWSER)
    assert response.status_code == 302
    assert response["Location"] == "https://example.com/b?x=1&y=2"
    sent.refresh_from_db()
    assert sent.clicks == 1 and sent.first_clicked_at
    click = Event.objects.get(kind=EventKind.LINK_CLICKED)
    assert click.contact == sent.contact and click.data["url"] == "https://example.com/b?x=1&y=2"
    assert "flows_vid" in response.cookies  # the browser is now known as this contact


def test_a_click_gives_the_readers_earlier_anonymous_visits_to_the_contact(sent):
    from django.test import Client

    from tests.factories import make_standard_page

    reader = Client(headers={"user-agent": BROWSER})
    pricing = make_standard_page("Pricing")
    reader.get(pricing.url)
    visit = Event.objects.get(kind=EventKind.PAGE_VIEWED)
    assert visit.contact is None
    assert reader.get(url_for("click", sent, 0)).status_code == 302
    visit.refresh_from_db()
    assert visit.contact == sent.contact
    assert sent.contact.visitors.filter(pk=visit.visitor_id).exists()
    sent.contact.refresh_from_db()
    assert sent.contact.last_visit_at == visit.created_at


def test_a_link_scanner_is_redirected_without_a_visitor_cookie(client, sent):
    response = client.get(url_for("click", sent, 0), HTTP_USER_AGENT="SafeLinks-Crawler/1.0")
    assert response.status_code == 302
    assert response["Location"] == "https://example.com/a"
    assert "flows_vid" not in response.cookies


def test_a_click_outside_the_message_links_is_404(client, sent):
    before = state(sent)
    assert client.get(url_for("click", sent, 2)).status_code == 404
    assert client.get(url_for("click", sent, 99999)).status_code == 404
    assert (
        client.get(f"/flows/e/c/{tokens.make_token(sent.pk, tokens.CLICK)}/-1/").status_code == 404
    )
    assert state(sent) == before


def test_the_email_links_through_the_click_redirect(client, sent):
    html = render_email(sent.revision, sent.contact, message=sent).html
    assert "https://example.com/a" not in html
    assert url_for("click", sent, 0) in html and url_for("click", sent, 1) in html
    assert url_for("open", sent) in html  # the open pixel


def test_an_open_is_counted(client, sent):
    response = client.get(url_for("open", sent))
    assert response.status_code == 200 and response["Content-Type"] == "image/gif"
    sent.refresh_from_db()
    assert sent.opens == 1 and sent.first_opened_at
    assert Event.objects.filter(kind=EventKind.EMAIL_OPENED, contact=sent.contact).count() == 1


def test_get_on_unsubscribe_only_asks(client, sent):
    response = client.get(url_for("unsubscribe", sent))
    assert response.status_code == 200
    assert b'name="List-Unsubscribe" value="One-Click"' in response.content
    sent.contact.refresh_from_db()
    assert sent.contact.status == ContactStatus.SUBSCRIBED


def test_one_click_unsubscribe_is_a_cookieless_post_answered_200(sent):
    from django.test import Client

    mail_client = Client(enforce_csrf_checks=True)  # no cookies, no CSRF token
    response = mail_client.post(
        url_for("unsubscribe", sent),
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200  # never a redirect
    sent.refresh_from_db()
    sent.contact.refresh_from_db()
    assert sent.unsubscribed_at and sent.contact.status == ContactStatus.UNSUBSCRIBED
    events = Event.objects.filter(kind=EventKind.UNSUBSCRIBED).count()
    assert mail_client.post(url_for("unsubscribe", sent)).status_code == 200  # replay: no-op
    assert Event.objects.filter(kind=EventKind.UNSUBSCRIBED).count() == events == 1


def test_the_preferences_page_manages_public_lists(client, sent):
    news = ContactListFactory(name="News", public=True)
    ContactListFactory(name="Internal", public=False)
    url = url_for("preferences", sent)
    page = client.get(url).content.decode()
    assert "News" in page and "Internal" not in page
    client.post(url, {"lists": [str(news.pk)]})
    assert list(sent.contact.lists.all()) == [news]
    client.post(url, {})
    assert list(sent.contact.lists.all()) == []
    client.post(url, {"unsubscribe_all": "1"})
    sent.contact.refresh_from_db()
    assert sent.contact.status == ContactStatus.UNSUBSCRIBED


def test_view_in_browser_shows_the_message_as_sent(client, sent):
    response = client.get(url_for("view_in_browser", sent))
    assert response.status_code == 200
    assert b"Welcome" in response.content or b"Hello!" in response.content
    assert response["X-Robots-Tag"] == "noindex"


def test_view_in_browser_of_an_unsent_message_is_404(client, contact):
    message = Message.objects.create(contact=contact, page=make_email_page(), to_email="x@x.nl")
    assert client.get(url_for("view_in_browser", message)).status_code == 404


def bad_tokens(message):
    good = {name: tokens.make_token(message.pk, purpose) for name, purpose in ENDPOINTS.items()}
    good["click"] = tokens.make_token(message.pk, tokens.CLICK)
    other = tokens.make_token(message.pk + 1, tokens.UNSUBSCRIBE)
    for name, token in good.items():
        candidates = [
            token[:-3],  # truncated
            token[:-1] + ("A" if token[-1] != "A" else "B"),  # forged signature
            f"{token.split(':')[0][0]}{message.pk + 1}:{token.split(':')[1]}",  # other id
            "u" + token[1:],  # purpose swapped without re-signing
            other,  # a genuine token of a message that does not exist
            *good.values(),  # tokens of the same message replayed on another endpoint
        ]
        yield from ((name, bad) for bad in candidates if bad != token)


@pytest.mark.parametrize("method", ["get", "post"])
def test_forged_truncated_and_replayed_tokens_are_refused_and_change_nothing(client, sent, method):
    before = state(sent)
    for name, token in bad_tokens(sent):
        args = [token, 0] if name == "click" else [token]
        url = reverse(f"wagtail_flows:{name}", args=args)
        response = getattr(client, method)(url, {"List-Unsubscribe": "One-Click"})
        assert 400 <= response.status_code < 500, (name, token, response.status_code)
    assert state(sent) == before


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    endpoint=st.sampled_from(["o", "c", "u", "p", "v"]),
    token=st.text(min_size=0, max_size=80),
    tail=st.text(max_size=12),
    method=st.sampled_from(["get", "post", "head", "put"]),
)
def test_fuzzed_tracking_requests_never_fail_with_5xx(client, sent, endpoint, token, tail, method):
    from urllib.parse import quote

    url = f"/flows/e/{endpoint}/{quote(token, safe=':/')}/{quote(tail, safe='/')}"
    response = getattr(client, method)(url)
    assert response.status_code < 500
