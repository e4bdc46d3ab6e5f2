"""The public endpoints of emails (open pixel, click redirect, unsubscribe, preferences,
view in browser) and the editor's "Send a test" view.

Every public link carries a signed token naming one message and one purpose; anything else
is a 404 and changes nothing. Unsubscribe follows RFC 8058: GET only shows a confirmation
(mail scanners follow links), POST unsubscribes with no cookie needed and answers 200.
"""

import base64

from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from wagtail_flows.capture.visitors import identify, set_visitor_cookie
from wagtail_flows.emails import tokens
from wagtail_flows.emails.rendering import render_email
from wagtail_flows.models import ContactList, Message
from wagtail_flows.models.contacts import EventKind
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
