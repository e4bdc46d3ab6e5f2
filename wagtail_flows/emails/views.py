"""The public endpoints of emails (open pixel, click redirect, unsubscribe, preferences,
view in browser, consent confirmation) and the editor's "Send a test" view.

Every public link carries a signed token naming one message and one purpose; anything else
is a 404 and changes nothing. (The consent confirmation's token names a consent request
instead: a bad one is a 400, an expired one a 410, each with a page saying so.)
Unsubscribe follows RFC 8058: GET only shows a confirmation (mail scanners follow links),
POST unsubscribes with no cookie needed and answers 200. Confirming a subscription likewise
takes a POST from the page its GET shows.
"""

import base64

from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from wagtail_flows.capture.consent import client_ip
from wagtail_flows.capture.visitors import identify, set_visitor_cookie
from wagtail_flows.emails import tokens
from wagtail_flows.emails.confirmation import site_name
from wagtail_flows.emails.rendering import render_email
from wagtail_flows.models import ConsentRecord, ContactList, Message
from wagtail_flows.models.consent import confirmation_lifetime
from wagtail_flows.models.contacts import ContactStatus, EventKind
from wagtail_flows.models.events import record_event
from wagtail_flows.models.messages import MessageStatus

PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
DELIVERED = (MessageStatus.SENT, MessageStatus.UNKNOWN)


def message_for(token, purpose):
    try:
        message_id = tokens.read_token(token, purpose)
    except tokens.BadToken as error:
        raise Http404("Unknown link") from error
    return get_object_or_404(Message.objects.select_related("contact", "page"), pk=message_id)


def _record(kind, message, **kwargs):

    record_event(
        kind, contact=message.contact, page=message.page, object_id=str(message.pk), **kwargs
    )


@never_cache
@require_http_methods(["GET", "HEAD"])
def email_open(request, token):
    """The open pixel. Opens are approximate: privacy proxies fetch images for the reader."""
    message = message_for(token, tokens.OPEN)
    if message.status in DELIVERED and request.method == "GET":
        message.count_open(timezone.now())
        _record(EventKind.EMAIL_OPENED, message, data={"flow": message.flow_id})
    return HttpResponse(PIXEL, content_type="image/gif")


@never_cache
@require_http_methods(["GET", "HEAD"])
def email_click(request, token, index):
    """Redirect to link number ``index`` of the message: only URLs the message contains."""

    message = message_for(token, tokens.CLICK)
    if index >= len(message.links or []):
        raise Http404("Unknown link")
    url = message.links[index]
    if request.method == "GET":
        message.count_click(timezone.now())
        identify(request, message.contact)
        _record(EventKind.LINK_CLICKED, message, name=url[:100], data={"url": url, "index": index})
    response = HttpResponseRedirect(url)
    return set_visitor_cookie(request, response)


def unsubscribe_message(message, reason):
    """Unsubscribe the message's contact; True the first time."""
    first = Message.objects.filter(pk=message.pk, unsubscribed_at__isnull=True).update(
        unsubscribed_at=timezone.now()
    )
    message.contact.unsubscribe(reason=reason)
    return bool(first)


@csrf_exempt  # RFC 8058: the one-click POST comes from the mail client, without cookies
@never_cache
@require_http_methods(["GET", "POST"])
def email_unsubscribe(request, token):
    message = message_for(token, tokens.UNSUBSCRIBE)
    done = request.method == "POST"
    if done:
        unsubscribe_message(message, reason="one-click" if _is_one_click(request) else "link")
    preferences_url = _preferences_url(message)
    response = TemplateResponse(
        request,
        "wagtail_flows/email/unsubscribe.html",
        {"message": message, "done": done, "preferences_url": preferences_url},
    )
    response["X-Robots-Tag"] = "noindex"
    return response


def _is_one_click(request):
    return request.POST.get("List-Unsubscribe") == "One-Click"


def _preferences_url(message):
    from django.urls import reverse

    return reverse(
        "wagtail_flows:preferences", args=[tokens.make_token(message.pk, tokens.PREFERENCES)]
    )


@csrf_exempt  # the signed token in the URL is the credential; no session is involved
@never_cache
@require_http_methods(["GET", "POST"])
def email_preferences(request, token):
    message = message_for(token, tokens.PREFERENCES)
    contact = message.contact
    public_lists = list(ContactList.objects.filter(public=True))
    saved = False
    if request.method == "POST":
        chosen = set(request.POST.getlist("lists"))
        for contact_list in public_lists:
            if str(contact_list.pk) in chosen:
                contact.add_to_list(contact_list)
            else:
                contact.remove_from_list(contact_list)
        if request.POST.get("unsubscribe_all"):
            unsubscribe_message(message, reason="preferences")
        saved = True
    member_of = set(contact.memberships.values_list("contact_list_id", flat=True))
    response = TemplateResponse(
        request,
        "wagtail_flows/email/preferences.html",
        {
            "contact": contact,
            "lists": [(cl, cl.pk in member_of) for cl in public_lists],
            "saved": saved,
            "unsubscribed": contact.status == "unsubscribed",
        },
    )
    response["X-Robots-Tag"] = "noindex"
    return response


@never_cache
@require_http_methods(["GET", "HEAD"])
def email_view_in_browser(request, token):
    """The message as sent (re-rendered from its revision for its contact)."""

    message = message_for(token, tokens.VIEW)
    revision = message.revision or (message.page and message.page.live_revision)
    if revision is None or message.status not in DELIVERED:
        raise Http404("This email is not available")
    context = message.enrollment.context if message.enrollment_id else {}
    rendered = render_email(revision, message.contact, message=message, context=context)
    response = HttpResponse(rendered.html)
    response["X-Robots-Tag"] = "noindex"
    return response


# --- consent confirmation (double opt-in) ----------------------------------------------------


@csrf_exempt  # the signed token in the URL is the credential; no session is involved
@never_cache
@require_http_methods(["GET", "POST"])
def confirm_subscription(request, token):
    """The link in a confirmation email. GET only shows a Confirm button (mail scanners
    fetch links, so a GET changes nothing); the POST subscribes the contact and dates the
    proof. A forged or cut link is a 400, an expired one or one that can no longer be
    confirmed a 410; neither changes anything."""
    try:
        record_id = tokens.read_confirm_token(
            token, now=timezone.now(), max_age=confirmation_lifetime()
        )
    except tokens.ExpiredToken:
        return _confirm_page(request, "expired", status=410)
    except tokens.BadToken:
        return _confirm_page(request, "invalid", status=400)
    record = ConsentRecord.objects.select_related("contact", "site").filter(pk=record_id).first()
    if record is None:  # the contact was erased since
        return _confirm_page(request, "gone", status=410)
    if record.confirmed_at is None and request.method == "POST":
        _confirm(request, record)
    if record.confirmed_at is not None and record.contact.status == ContactStatus.SUBSCRIBED:
        response = _confirm_page(request, "confirmed", record=record)
        return set_visitor_cookie(request, response)
    if record.confirmed_at is not None or not record.may_confirm():
        return _confirm_page(request, "gone", status=410)  # e.g. unsubscribed since: stays so
    return _confirm_page(request, "ask", record=record)


def _confirm(request, record):
    record.confirm(ip=client_ip(request))
    record.refresh_from_db(fields=["confirmed_at"])  # a concurrent click may have done it
    if record.confirmed_at is not None:
        identify(request, record.contact)  # the click proves the mailbox, as an email click


def _confirm_page(request, state, *, record=None, status=200):
    context = {
        "state": state,
        "email": record.email if record else "",
        "site_name": site_name(record.site if record else None),
        "days": confirmation_lifetime().days,
    }
    response = TemplateResponse(
        request, "wagtail_flows/email/confirm.html", context, status=status
    )
    response["X-Robots-Tag"] = "noindex"
    return response
