"""Manual enrollment from the admin: a list, a segment or chosen contacts enter a live flow.

Two ways in: the flow's "Enroll contacts" action (a list, a segment, or email addresses typed
in) and the Contacts listing's "Enroll selected in a flow" (the ticked rows). Both only choose
the audience and confirm it; the engine's background enrollment (``engine/enroll.py``) does
the work in batches, and the flow's edit page shows the job's progress.
"""

import re

from django import forms
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.formats import date_format
from django.utils.timezone import localtime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_http_methods, require_POST
from wagtail.admin import messages
from wagtail.admin.widgets import AdminDateTimeInput

from wagtail_flows.admin.common import (
    ACTIVATE_PERMISSION,
    CONFIRM_TEMPLATE,
    CONTACTS_BASE_URL,
    FLOWS_BASE_URL,
    error_messages,
    forbidden,
    modeladmin_url,
)
from wagtail_flows.engine.enroll import cancel_job, enroll_audience
from wagtail_flows.models import Contact, ContactList, EnrollmentJob, Flow, Segment
from wagtail_flows.models.flows import FlowStatus
from wagtail_flows.models.jobs import Repeat

SKIPPED = gettext_lazy(
    "Contacts already in the flow, or kept out by its entry conditions or re-entry rule, "
    "are skipped. Large audiences are enrolled in batches in the background."
)
PREVIEW_SIZE = 10


class EnrollForm(forms.Form):
    """The flow's "Enroll contacts" action: exactly one audience."""

    contact_list = forms.ModelChoiceField(
        queryset=ContactList.objects.all(), required=False, label=gettext_lazy("Everyone on list")
    )
    segment = forms.ModelChoiceField(
        queryset=Segment.objects.all(),
        required=False,
        label=gettext_lazy("Or everyone in segment"),
    )
    emails = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        label=gettext_lazy("Or these contacts"),
        help_text=gettext_lazy("Email addresses, one per line or separated by commas."),
    )

    start_at = forms.DateTimeField(
        required=False,
        widget=AdminDateTimeInput(),
        label=gettext_lazy("Start at"),
        help_text=gettext_lazy(
            "Empty: now. A time to come sends a broadcast then, e.g. Thursday 09:00."
        ),
    )
    repeat = forms.ChoiceField(
        choices=Repeat.choices,
        required=False,
        label=gettext_lazy("Repeat"),
        help_text=gettext_lazy(
            "A list or segment can enter again every week or month; who enters a second "
            "time follows the flow's re-entry rule."
        ),
    )

    def clean_emails(self):
        addresses = re.split(r"[\s,;]+", self.cleaned_data["emails"])
        ids, unknown = Contact.objects.ids_for_emails(addresses)
        if unknown:
            raise ValidationError(
                _("No contact has these addresses: %s.") % ", ".join(unknown[:PREVIEW_SIZE])
            )
        return ids or None

    def clean(self):
        data = super().clean()
        chosen = [data.get(name) for name in ("contact_list", "segment", "emails")]
        if sum(1 for audience in chosen if audience) != 1:
            raise ValidationError(_("Choose a list, a segment or contacts (one of them)."))
        return data

    def audience(self):
        data = self.cleaned_data
        schedule = {"start_at": data.get("start_at"), "repeat": data.get("repeat") or ""}
        if data.get("emails"):
            return {"contact_ids": data["emails"], **schedule}
        if data.get("contact_list"):
            return {"contact_list": data["contact_list"], **schedule}
        return {"segment": data["segment"], **schedule}


def enroll_flow(request, flow, spec, edit_url):
    """The flow action "Enroll contacts" (its permission and status are checked by the
    caller, ``admin.actions.flow_action``)."""
    form = EnrollForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        return _start(request, flow, form.audience(), edit_url, form=form)
    effects = [
        _(
            "Everyone on the list or in the segment you choose, or the contacts you name, enters "
            "this flow now, or at the time you choose."
        ),
        SKIPPED,
    ]
    context = {
        "page_title": spec.label,
        "page_subtitle": flow.name,
        "header_icon": "group",
        "effects": effects,
        "form": form,
        "submit_label": spec.label,
        "cancel_url": edit_url,
        "action_url": spec.url(flow),
    }
    return TemplateResponse(request, CONFIRM_TEMPLATE, context)


def _start(request, flow, audience, error_url, form=None):
    """Start (or schedule) the background job; its progress shows on the flow's edit page."""
    try:
        job = enroll_audience(flow, **audience, user=request.user)
    except ValidationError as error:
        if form is not None and hasattr(error, "error_dict"):
            return _refused(request, flow, form, error, error_url)
        for line in error_messages(error):
            messages.error(request, line)
        return redirect(error_url)
    messages.success(request, _started_message(job, flow))
    return redirect(modeladmin_url(FLOWS_BASE_URL, "edit", flow.pk))


def _refused(request, flow, form, error, edit_url):
    """The schedule refused by the engine: shown on its field, the form kept as typed."""
    for field, errors in error.error_dict.items():
        form.add_error(field if field in form.fields else None, errors)
    context = {
        "page_title": _("Enroll contacts"),
        "page_subtitle": flow.name,
        "header_icon": "group",
        "effects": [SKIPPED],
        "form": form,
        "submit_label": _("Enroll contacts"),
        "cancel_url": edit_url,
        "action_url": request.get_full_path(),
    }
    return TemplateResponse(request, CONFIRM_TEMPLATE, context, status=400)


def _started_message(job, flow):
    if job.scheduled_at:
        return _("%(audience)s will enter “%(flow)s” %(when)s.") % {
            "audience": job.audience_label,
            "flow": flow,
            "when": schedule_label(job),
        }
    return ngettext(
        "%(n)s contact is entering “%(flow)s” in the background.",
        "%(n)s contacts are entering “%(flow)s” in the background.",
        job.total,
    ) % {"n": f"{job.total:,}", "flow": flow}


def schedule_label(job):
    """ "on 10 Dec 2026 09:00, then every week" in the user's time zone."""
    when = _("on %s") % date_format(localtime(job.scheduled_at), "DATETIME_FORMAT")
    if job.repeat:
        when += ", " + _("then %s") % job.get_repeat_display().lower()
    return when


@require_POST
def cancel_scheduled(request, job_id):
    """Cancel a scheduled enrollment (a repeating one stops: its next time is this job)."""
    if not request.user.has_perm(ACTIVATE_PERMISSION):
        return forbidden(request, _("Only users allowed to activate flows can cancel it."))
    job = get_object_or_404(EnrollmentJob, pk=job_id)
    if cancel_job(job):
        messages.success(
            request, _("The scheduled enrollment of %s is cancelled.") % job.audience_label
        )
    else:
        messages.error(request, _("It has started already: it can no longer be cancelled."))
    return redirect(modeladmin_url(FLOWS_BASE_URL, "edit", job.flow_id))


# --- the contacts listing's "Enroll selected in a flow" -------------------------------------


class ChosenContactsForm(forms.Form):
    flow = forms.ModelChoiceField(
        queryset=Flow.objects.filter(status=FlowStatus.LIVE).order_by("name"),
        label=gettext_lazy("Live flow"),
        help_text=gettext_lazy("Only a live flow takes contacts."),
    )


def chosen_ids(request):
    """The ticked rows: ``?id=1&id=2`` (kept in the URL the confirmation posts to)."""
    return sorted({int(value) for value in request.GET.getlist("id") if value.isdigit()})


@require_http_methods(["GET", "POST"])
def enroll_chosen_contacts(request):
    if not request.user.has_perm(ACTIVATE_PERMISSION):
        return forbidden(request, _("Only users allowed to activate flows can enroll contacts."))
    listing_url = modeladmin_url(CONTACTS_BASE_URL, "index")
    contacts = Contact.objects.filter(pk__in=chosen_ids(request))
    count = contacts.count()
    if not count:
        messages.error(request, _("Tick the contacts to enroll first."))
        return redirect(listing_url)
    form = ChosenContactsForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        ids = list(contacts.values_list("pk", flat=True))
        return _start(request, form.cleaned_data["flow"], {"contact_ids": ids}, listing_url)
    context = {
        "page_title": _("Enroll in a flow"),
        "page_subtitle": ngettext("%(n)s contact", "%(n)s contacts", count) % {"n": count},
        "header_icon": "group",
        "effects": _chosen_effects(contacts, count),
        "form": form,
        "submit_label": _("Enroll"),
        "cancel_url": listing_url,
        "action_url": request.get_full_path(),
    }
    return TemplateResponse(request, CONFIRM_TEMPLATE, context)


def _chosen_effects(contacts, count):
    emails = list(contacts.order_by("email").values_list("email", flat=True)[:PREVIEW_SIZE])
    names = ", ".join(emails)
    if count > len(emails):
        names += " " + _("and %(n)s more") % {"n": count - len(emails)}
    effects = [_("The contacts you ticked enter the flow you choose now: %s.") % names, SKIPPED]
    if not Flow.objects.filter(status=FlowStatus.LIVE).exists():
        effects.append(_("No flow is live yet: activate one first."))
    return effects


def enroll_chosen_url():
    return reverse("wagtail_flows_admin:contacts_enroll")


urlpatterns = [
    path("contacts/enroll/", enroll_chosen_contacts, name="contacts_enroll"),
    path("jobs/<int:job_id>/cancel/", cancel_scheduled, name="cancel_scheduled_enrollment"),
]
