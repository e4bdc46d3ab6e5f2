"""Settings › Sending domain: the From domain's SPF, DMARC and DKIM, checked on request.

For the people who may take flows live: a domain without them gets bulk mail rejected by
Gmail and Yahoo, order confirmations included.
"""

from django import forms
from django.core.validators import DomainNameValidator
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from wagtail.admin.menu import MenuItem

from wagtail_flows.admin.common import ACTIVATE_PERMISSION, forbidden
from wagtail_flows.emails.domain import check_domain, domain_of, sending_address


class DomainForm(forms.Form):
    domain = forms.CharField(
        label=gettext_lazy("Domain"),
        max_length=253,
        required=False,
        help_text=gettext_lazy("Empty: the domain of the flows' From address."),
    )
    dkim_selector = forms.SlugField(
        label=gettext_lazy("DKIM selector"),
        max_length=63,
        required=False,
        help_text=gettext_lazy(
            "The selector your email provider signs with. Empty: the usual ones are tried."
        ),
    )

    def clean_domain(self):
        domain = self.cleaned_data["domain"].strip().lower().rstrip(".")
        if domain:
            DomainNameValidator(message=_("Enter a domain such as example.com."))(domain)
        return domain


def may_check(user):
    return user.has_perm(ACTIVATE_PERMISSION)


def sending_domain_view(request):
    if not may_check(request.user):
        return forbidden(
            request, _("Checking the sending domain needs the “Can activate flows” permission.")
        )
    form = DomainForm(request.GET or None)
    report = None
    if "check" in request.GET and form.is_valid():
        selectors = (
            [form.cleaned_data["dkim_selector"]] if form.cleaned_data["dkim_selector"] else []
        )
        report = check_domain(form.cleaned_data["domain"] or None, selectors)
    context = {
        "page_title": _("Sending domain"),
        "header_icon": "mail",
        "form": form,
        "report": report,
        "from_email": sending_address(),
        "from_domain": domain_of(sending_address()),
    }
    return TemplateResponse(request, "wagtail_flows/admin/sending_domain.html", context)


urlpatterns = [path("sending-domain/", sending_domain_view, name="sending_domain")]


class SendingDomainMenuItem(MenuItem):
    def is_shown(self, request):
        return may_check(request.user)


def sending_domain_menu_item():
    return SendingDomainMenuItem(
        gettext_lazy("Sending domain"),
        reverse("wagtail_flows_deliverability:sending_domain"),
        icon_name="mail",
        order=910,
    )
