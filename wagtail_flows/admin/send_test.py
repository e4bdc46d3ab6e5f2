"""The email page editor's extras: the "Send a test" action and its admin URL."""

from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail.admin.action_menu import ActionMenuItem

SEND_TEST_URL_NAME = "wagtail_flows_email_send_test"


class SendTestMenuItem(ActionMenuItem):
    """In the page editor's action menu of email pages: send the draft to yourself."""

    label = _("Send a test")
    name = "action-send-test"
    icon_name = "mail"

    def is_shown(self, context):
        from wagtail_flows.models import EmailPageMixin

        page = context.get("page")
        return context.get("view") == "edit" and isinstance(page, EmailPageMixin)

    def get_url(self, parent_context):
        return reverse(SEND_TEST_URL_NAME, args=[parent_context["page"].pk])


def email_admin_urls():
    from wagtail_flows.emails.views import send_test_view

    return [
        path(
            "flows-emails/<int:page_id>/send-test/",
            send_test_view,
            name=SEND_TEST_URL_NAME,
        )
    ]
