"""The email page editor's extras: the "Send a test" action, its view and its admin URL.

A test goes as one message per address (no recipient sees the others), to the editor and at
most ``MAX_TEST_ADDRESSES`` addresses typed: a test send is not a way to mail a list.
"""

from django.contrib import messages as admin_messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from wagtail.admin.action_menu import ActionMenuItem
from wagtail.models import Page

from wagtail_flows.emails.delivery import send_test
from wagtail_flows.models import EmailPageMixin

SEND_TEST_URL_NAME = "wagtail_flows_email_send_test"
MAX_TEST_ADDRESSES = 10
SEND_TEST_TEMPLATE = "wagtail_flows/email/send_test.html"


class SendTestMenuItem(ActionMenuItem):
    """In the page editor's action menu of email pages: send the draft to yourself."""

    label = gettext_lazy("Send a test")
    name = "action-send-test"
    icon_name = "mail"

    def is_shown(self, context):
        page = context.get("page")
        return context.get("view") == "edit" and isinstance(page, EmailPageMixin)

    def get_url(self, parent_context):
        return reverse(SEND_TEST_URL_NAME, args=[parent_context["page"].pk])


def email_admin_urls():
    return [
        path(
            "flows-emails/<int:page_id>/send-test/",
            send_test_view,
            name=SEND_TEST_URL_NAME,
        )
    ]


def parse_addresses(raw):
    addresses = [a.strip() for a in (raw or "").replace(";", ",").replace("\n", ",").split(",")]
    addresses = list(dict.fromkeys(a for a in addresses if a))
    if len(addresses) > MAX_TEST_ADDRESSES:
        raise ValidationError(
            {
                "to": _("A test goes to at most %(n)s addresses besides yours (%(given)s given).")
                % {"n": MAX_TEST_ADDRESSES, "given": len(addresses)}
            }
        )
    for address in addresses:
        try:
            validate_email(address)
        except ValidationError as error:
            raise ValidationError(
                {"to": _("“%(a)s” is not an email address.") % {"a": address}}
            ) from error
    return addresses


def send_test_view(request, page_id):
    """Send the latest draft of an email page to the editor and the addresses typed."""
    page = get_object_or_404(Page, pk=page_id).specific
    if not isinstance(page, EmailPageMixin):
        raise Http404("Not an email page")
    if not page.permissions_for_user(request.user).can_edit():
        raise PermissionDenied
    context = {
        "page": page,
        "to": request.POST.get("to", ""),
        "error": "",
        "max_addresses": MAX_TEST_ADDRESSES,
    }
    if request.method == "POST":
        try:
            sent_to = send_test(page, to=parse_addresses(context["to"]), user=request.user)
        except (ValidationError, ValueError) as error:
            context["error"] = _message_of(error)
            return TemplateResponse(request, SEND_TEST_TEMPLATE, context, status=400)
        admin_messages.success(
            request,
            _("Test email sent to %(to)s (one message each).") % {"to": ", ".join(sent_to)},
        )
        return redirect("wagtailadmin_pages:edit", page.pk)
    return TemplateResponse(request, SEND_TEST_TEMPLATE, context)


def _message_of(error):
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return str(error)
