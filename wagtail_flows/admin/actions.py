"""Admin views of the Flows menu beside modeladmin's own listing and edit views.

Flow status actions (activate, pause, resume, duplicate, archive) and contact actions (add to
list, unsubscribe, GDPR export, erase). Each changing action is a confirmation page (GET) that
states its effect in words, then a POST with CSRF. Views are mounted by the admin section of
``hooks.py`` under Wagtail's admin (which already requires a logged-in admin user).
"""

import json
from dataclasses import dataclass

from django import forms
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Count, Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_http_methods
from wagtail.admin import messages
from wagtail.log_actions import log
from wagtail.models import ModelLogEntry

from wagtail_flows import gdpr
from wagtail_flows.admin.common import (
    ACTIVATE_PERMISSION,
    CONFIRM_TEMPLATE,
    CONTACTS_BASE_URL,
    FLOWS_BASE_URL,
    error_messages,
    forbidden,
    modeladmin_url,
)
from wagtail_flows.capture.consent import (
    consent_fix,
    form_pages_without_consent,
    no_consent_sentence,
)
from wagtail_flows.flows.describe import describe
from wagtail_flows.models import Contact, ContactList, Enrollment, Flow
from wagtail_flows.models.contacts import ContactStatus
from wagtail_flows.models.enrollments import OPEN_STATUSES, EnrollmentStatus
from wagtail_flows.models.flows import FlowKind, FlowStatus

# --- flow status actions -----------------------------------------------------------------


@dataclass(frozen=True)
class FlowAction:
    name: str
    label: str
    done: str  # success message, formatted with the flow's name
    permission: str
    from_statuses: tuple
    serious: bool = False
    needs: str = gettext_lazy("Only users allowed to activate flows can do this.")

    def permitted(self, user):
        return user.has_perm(self.permission)

    def applies_to(self, flow):
        return flow.status in self.from_statuses

    def url(self, flow):
        return reverse("wagtail_flows_admin:flow_action", args=[flow.pk, self.name])


_ANY_BUT_ARCHIVED = (FlowStatus.DRAFT, FlowStatus.LIVE, FlowStatus.PAUSED)

FLOW_ACTIONS = {
    action.name: action
    for action in (
        FlowAction(
            "activate",
            gettext_lazy("Activate"),
            gettext_lazy("“%s” is live."),
            ACTIVATE_PERMISSION,
            (FlowStatus.DRAFT,),
        ),
        FlowAction(
            "pause",
            gettext_lazy("Pause"),
            gettext_lazy("“%s” is paused."),
            ACTIVATE_PERMISSION,
            (FlowStatus.LIVE,),
        ),
        FlowAction(
            "resume",
            gettext_lazy("Resume"),
            gettext_lazy("“%s” is live again."),
            ACTIVATE_PERMISSION,
            (FlowStatus.PAUSED,),
        ),
        FlowAction(
            "enroll",
            gettext_lazy("Enroll contacts"),
            gettext_lazy("Contacts are entering “%s” in the background."),
            ACTIVATE_PERMISSION,
            (FlowStatus.LIVE,),
        ),
        FlowAction(
            "duplicate",
            gettext_lazy("Duplicate"),
            gettext_lazy("“%s” is a new draft copy."),
            "wagtail_flows.add_flow",
            tuple(FlowStatus),
            needs=gettext_lazy("Only users allowed to add flows can do this."),
        ),
        FlowAction(
            "archive",
            gettext_lazy("Archive"),
            gettext_lazy("“%s” is archived."),
            ACTIVATE_PERMISSION,
            _ANY_BUT_ARCHIVED,
            serious=True,
        ),
    )
}


def flow_actions_for(user, flow):
    """The status actions this user may take on this flow now, in menu order."""
    return [a for a in FLOW_ACTIONS.values() if a.applies_to(flow) and a.permitted(user)]


def trigger_summary(flow):
    """The trigger labels, read from the raw stream (no query, safe in listings)."""
    block = flow.triggers.stream_block
    labels = []
    for item in flow.triggers.raw_data:
        child = block.child_blocks.get(item["type"])
        labels.append(str(child.label) if child else item["type"])
    return ", ".join(labels)


def enrollment_counts(flow):
    return Enrollment.objects.filter(flow=flow).aggregate(
        open=Count("pk", filter=Q(status__in=OPEN_STATUSES)),
        waiting=Count("pk", filter=Q(status=EnrollmentStatus.WAITING)),
    )


def _in_flow_sentence(count):
    return ngettext(
        "%(count)s contact is waiting in this flow.",
        "%(count)s contacts are waiting in this flow.",
        count,
    ) % {"count": f"{count:,}"}


def flow_action_effects(flow, action):
    """What the action will do, in the marketer's words."""
    in_flow = _in_flow_sentence(enrollment_counts(flow)["open"])
    if action.name == "activate":
        return _activation_effects(flow)
    if action.name == "pause":
        return [
            in_flow,
            _(
                "Pausing keeps each of them where they are: no step runs, no email is sent "
                "and no new contact enters until you resume the flow."
            ),
        ]
    if action.name == "resume":
        return [
            in_flow,
            _("They continue from where they stopped, and new contacts enter again."),
            _("Emails that fell due while the flow was paused: %s.")
            % flow.get_on_resume_display().lower(),
        ]
    if action.name == "archive":
        return [
            in_flow,
            _(
                "Archiving stops the flow for good: no new contact enters and no further "
                "step runs. Its report and history are kept; duplicate it to run it again."
            ),
        ]
    return [
        _("A draft copy is created with the same triggers, steps, goal and settings."),
        _("Contacts and the report are not copied; the copy does nothing until activated."),
    ]


def _activation_effects(flow):
    triggers = "; ".join(describe(child) for child in flow.triggers) or _("no trigger yet")
    effects = [_("From now on, contacts enter this flow when: %s.") % triggers]
    if flow.kind == FlowKind.MARKETING:
        effects.append(_("Its emails go only to subscribed contacts."))
    else:
        effects.append(
            _("As a transactional flow, it emails any contact not bounced or suppressed.")
        )
    if flow.ends_at:
        effects.append(_("It stops enrolling contacts on %s.") % flow.ends_at.strftime("%Y-%m-%d"))
    return effects


def activation_problems(flow):
    try:
        flow.validate_for_activation()
    except ValidationError as error:
        return error_messages(error, flow)
    return []


def activation_warnings(flow):
    """What would let the flow go live yet send nothing to some contacts (``check``: W050)."""
    return [
        f"{no_consent_sentence(page)} {consent_fix()}" for page in form_pages_without_consent(flow)
    ]


@require_http_methods(["GET", "POST"])
def flow_action(request, pk, action):
    spec = FLOW_ACTIONS.get(action)
    if spec is None:
        raise Http404
    flow = get_object_or_404(Flow, pk=pk)
    if not spec.permitted(request.user):
        return forbidden(request, spec.needs)
    edit_url = modeladmin_url(FLOWS_BASE_URL, "edit", flow.pk)
    if not spec.applies_to(flow):
        messages.error(
            request,
            _("“%(flow)s” is %(status)s: %(action)s does not apply.")
            % {"flow": flow, "status": flow.get_status_display().lower(), "action": spec.label},
        )
        return redirect(edit_url)
    if spec.name == "enroll":
        from wagtail_flows.admin.enroll import enroll_flow

        return enroll_flow(request, flow, spec, edit_url)
    if request.method == "POST":
        return _run_flow_action(request, flow, spec)
    activating = spec.name in ("activate", "resume")
    problems = activation_problems(flow) if activating else []
    return TemplateResponse(
        request,
        CONFIRM_TEMPLATE,
        {
            "page_title": f"{spec.label} {_('flow')}",
            "page_subtitle": flow.name,
            "header_icon": "cogs",
            "effects": flow_action_effects(flow, spec),
            "problems": problems,
            "warnings": activation_warnings(flow) if activating else [],
            "submit_label": spec.label,
            "serious": spec.serious,
            "cancel_url": edit_url,
            "action_url": spec.url(flow),
        },
    )


def _run_flow_action(request, flow, spec):
    try:
        result = getattr(flow, spec.name)(user=request.user)
    except ValidationError as error:
        messages.error(request, _("“%(flow)s” was not changed.") % {"flow": flow})
        for line in error_messages(error, flow):
            messages.error(request, line)
        return redirect(spec.url(flow))
    target = result if spec.name == "duplicate" else flow
    messages.success(request, spec.done % target)
    if spec.name == "archive":
        return redirect(modeladmin_url(FLOWS_BASE_URL, "index"))
    return redirect(modeladmin_url(FLOWS_BASE_URL, "edit", target.pk))


# --- contact actions ----------------------------------------------------------------------


def contact_actions_for(user, contact):
    """The actions on the contact page this user may take: (label, url, serious)."""
    actions = []
    if user.has_perm("wagtail_flows.change_contact"):
        actions.append((_("Add to list"), "contact_add_to_list", False))
        if contact.status in (ContactStatus.SUBSCRIBED, ContactStatus.PENDING):
            actions.append((_("Unsubscribe"), "contact_unsubscribe", False))
        actions.append((_("GDPR export"), "contact_export", False))
    if user.has_perm("wagtail_flows.delete_contact"):
        actions.append((_("Erase"), "contact_erase", True))
    return [
        {
            "label": label,
            "url": reverse(f"wagtail_flows_admin:{name}", args=[contact.pk]),
            "serious": serious,
        }
        for label, name, serious in actions
    ]


class AddToListForm(forms.Form):
    contact_list = forms.ModelChoiceField(
        queryset=ContactList.objects.all(), label=gettext_lazy("List"), empty_label=None
    )


def _contact_view(request, pk, permission):
    """The contact, or a 403 response when the user lacks the permission."""
    contact = get_object_or_404(Contact, pk=pk)
    if not request.user.has_perm(f"wagtail_flows.{permission}_contact"):
        return None, forbidden(request, _("You need the permission to %s contacts.") % permission)
    return contact, None


def _contact_confirm(request, contact, action_url, title, effects, **extra):
    context = {
        "page_title": title,
        "page_subtitle": str(contact),
        "header_icon": "user",
        "effects": effects,
        "submit_label": title,
        "cancel_url": modeladmin_url(CONTACTS_BASE_URL, "edit", contact.pk),
        "action_url": action_url,
        **extra,
    }
    return TemplateResponse(request, CONFIRM_TEMPLATE, context)


@require_http_methods(["GET", "POST"])
def contact_add_to_list(request, pk):
    contact, denied = _contact_view(request, pk, "change")
    if denied:
        return denied
    form = AddToListForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        contact_list = form.cleaned_data["contact_list"]
        names = {"c": contact, "l": contact_list}
        if contact.add_to_list(contact_list):
            messages.success(request, _("%(c)s joined “%(l)s”.") % names)
        else:
            messages.info(request, _("%(c)s was already on “%(l)s”.") % names)
        return redirect(modeladmin_url(CONTACTS_BASE_URL, "edit", contact.pk))
    url = reverse("wagtail_flows_admin:contact_add_to_list", args=[contact.pk])
    effects = [_("The contact joins the list; flows triggered by joining it start for them.")]
    return _contact_confirm(request, contact, url, _("Add to list"), effects, form=form)


@require_http_methods(["GET", "POST"])
def contact_unsubscribe(request, pk):
    contact, denied = _contact_view(request, pk, "change")
    if denied:
        return denied
    if request.method == "POST":
        if contact.unsubscribe(reason="admin"):
            messages.success(request, _("%s is unsubscribed.") % contact)
        else:
            messages.info(request, _("%s was already unsubscribed.") % contact)
        return redirect(modeladmin_url(CONTACTS_BASE_URL, "edit", contact.pk))
    url = reverse("wagtail_flows_admin:contact_unsubscribe", args=[contact.pk])
    effects = [
        _("%s will receive no more marketing emails.") % contact.email,
        _("Their runs through flows that send email end now."),
    ]
    return _contact_confirm(request, contact, url, _("Unsubscribe"), effects)


@require_http_methods(["GET"])
def contact_export(request, pk):
    contact, denied = _contact_view(request, pk, "change")
    if denied:
        return denied
    log(contact, "wagtail_flows.export", user=request.user)
    payload = json.dumps(gdpr.export_contact(contact), cls=DjangoJSONEncoder, indent=2)
    response = HttpResponse(payload, content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="contact-{contact.pk}.json"'
    return response


ERASE_TEMPLATE = "wagtail_flows/admin/contact_erase.html"


@require_http_methods(["GET", "POST"])
def contact_erase(request, pk):
    contact, denied = _contact_view(request, pk, "delete")
    if denied:
        return denied
    if request.method == "POST":
        _erase(contact, request.user)
        messages.success(request, _("The contact is erased; their address will not be emailed."))
        return redirect(modeladmin_url(CONTACTS_BASE_URL, "index"))
    counts = gdpr.holdings(contact).counts()
    return TemplateResponse(
        request,
        ERASE_TEMPLATE,
        {
            "page_title": _("Erase"),
            "page_subtitle": str(contact),
            "header_icon": "user",
            "contact": contact,
            "erased": erase_lines(counts),
            "mentions": counts["form_mentions"],
            "data_mentions": counts["data_mentions"],
            "cancel_url": modeladmin_url(CONTACTS_BASE_URL, "edit", contact.pk),
            "action_url": reverse("wagtail_flows_admin:contact_erase", args=[contact.pk]),
        },
    )


def erase_lines(counts):
    """What the erase deletes, store by store, in words: (label, count)."""
    queued, finished = counts["queued_tasks"], counts["finished_tasks"]
    return [
        (_("Events on their timeline"), counts["events"]),
        (_("Runs through flows, with their step log"), counts["enrollments"]),
        (_("Emails sent or queued"), counts["messages"]),
        (_("List memberships"), counts["memberships"]),
        (_("Form submissions (Wagtail forms)"), counts["form_submissions"]),
        (
            _("Background-queue records (django-q2): %(queued)s queued, %(finished)s finished")
            % {"queued": f"{queued:,}", "finished": f"{finished:,}"},
            queued + finished,
        ),
    ]


def _erase(contact, user):
    """Erase, writing to the audit log that it happened and what it deleted (counts only);
    ``gdpr.erase_contact`` labels the contact's entries with its number, never the address."""
    with transaction.atomic():
        entry = log(contact, "wagtail_flows.erase", user=user, title=gdpr.erased_label(contact.pk))
        counts = gdpr.erase_contact(contact)
        if entry is not None:
            ModelLogEntry.objects.filter(pk=entry.pk).update(data={"erased": counts})


def register_admin_log_actions(actions):
    """The ``register_log_actions`` hook (registered in hooks.py's admin section)."""
    actions.register_action(
        "wagtail_flows.export",
        gettext_lazy("Export contact data"),
        gettext_lazy("Downloaded the GDPR export"),
    )
    actions.register_action(
        "wagtail_flows.erase",
        gettext_lazy("Erase contact"),
        gettext_lazy("Erased the contact (GDPR)"),
    )


urlpatterns = [
    path("<int:pk>/<slug:action>/", flow_action, name="flow_action"),
    path("contacts/<int:pk>/add-to-list/", contact_add_to_list, name="contact_add_to_list"),
    path("contacts/<int:pk>/unsubscribe/", contact_unsubscribe, name="contact_unsubscribe"),
    path("contacts/<int:pk>/export/", contact_export, name="contact_export"),
    path("contacts/<int:pk>/erase/", contact_erase, name="contact_erase"),
]
