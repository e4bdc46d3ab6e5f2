"""Sign-off for live flows: the draft beside the published version, publish, discard, and the
list of versions with restore (the domain side is ``wagtail_flows/models/versions.py``).

Who may do what: viewing the changes and versions needs ``view_flow``; saving, discarding
and restoring a draft ``change_flow``; publishing the activate permission.
"""

from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from wagtail.admin import messages

from wagtail_flows.admin.common import (
    ACTIVATE_PERMISSION,
    FLOWS_BASE_URL,
    error_messages,
    forbidden,
    modeladmin_url,
)
from wagtail_flows.admin.retime import retime_url_after_save, wait_lengths
from wagtail_flows.flows.changes import flow_changes
from wagtail_flows.models import Flow

VIEW_PERMISSION = "wagtail_flows.view_flow"
EDIT_PERMISSION = "wagtail_flows.change_flow"
NEEDS_VIEW = gettext_lazy("Only users allowed to view flows can see their versions.")
NEEDS_EDIT = gettext_lazy("Only users allowed to edit flows can do this.")
NEEDS_ACTIVATE = gettext_lazy(
    "Only users allowed to activate flows can publish a draft of a live flow."
)


def changes_url(flow, revision=None):
    url = reverse("wagtail_flows_admin:flow_changes", args=[flow.pk])
    return f"{url}?revision={revision.pk}" if revision else url


def _revision_of(flow, revision_id):
    """One of this flow's revisions by an id from the request; a 404 for anything else."""
    if not str(revision_id or "").isdigit():
        raise Http404
    return get_object_or_404(flow.revisions, pk=int(revision_id))


def _may(user, permission):
    return user.has_perm(permission) or user.has_perm(EDIT_PERMISSION)


def flow_changes_view(request, pk):
    """The draft (or ``?revision=``) beside the version that runs, and what may be done."""
    flow = get_object_or_404(Flow, pk=pk)
    if not _may(request.user, VIEW_PERMISSION):
        return forbidden(request, NEEDS_VIEW)
    revision = flow.draft_revision
    if request.GET.get("revision"):
        revision = _revision_of(flow, request.GET["revision"])
    other = revision.as_object() if revision else flow
    is_draft = flow.has_draft and bool(revision) and revision.pk == flow.latest_revision_id
    context = {
        "page_title": _("Changes"),
        "page_subtitle": flow.name,
        "header_icon": "cogs",
        "flow": flow,
        "revision": revision,
        "is_draft": is_draft,
        "changes": flow_changes(flow, other),
        "may_publish": is_draft and request.user.has_perm(ACTIVATE_PERMISSION),
        "may_edit": request.user.has_perm(EDIT_PERMISSION),
        "needs_activate": NEEDS_ACTIVATE,
        "edit_url": modeladmin_url(FLOWS_BASE_URL, "edit", flow.pk),
        "versions_url": reverse("wagtail_flows_admin:flow_versions", args=[flow.pk]),
    }
    return TemplateResponse(request, "wagtail_flows/admin/flow_changes.html", context)


@require_POST
def flow_publish_view(request, pk):
    flow = get_object_or_404(Flow, pk=pk)
    if not request.user.has_perm(ACTIVATE_PERMISSION):
        return forbidden(request, NEEDS_ACTIVATE)
    revision = _revision_of(flow, request.POST.get("revision"))
    waits_before = wait_lengths(flow)
    try:
        flow.publish(revision, user=request.user)
    except ValidationError as error:
        for line in error_messages(error, flow):
            messages.error(request, line)
        return redirect(changes_url(flow))
    messages.success(request, _("“%s”: the draft is published and runs now.") % flow.name)
    retime_url = retime_url_after_save(flow, waits_before)
    return redirect(retime_url or modeladmin_url(FLOWS_BASE_URL, "edit", flow.pk))


@require_POST
def flow_discard_view(request, pk):
    flow = get_object_or_404(Flow, pk=pk)
    if not request.user.has_perm(EDIT_PERMISSION):
        return forbidden(request, NEEDS_EDIT)
    if flow.discard_draft(user=request.user):
        messages.success(request, _("“%s”: the draft is discarded.") % flow.name)
    return redirect(modeladmin_url(FLOWS_BASE_URL, "edit", flow.pk))


def flow_versions_view(request, pk):
    """Every saved version, newest first: who saved it and when, which one runs."""
    flow = get_object_or_404(Flow, pk=pk)
    if not _may(request.user, VIEW_PERMISSION):
        return forbidden(request, NEEDS_VIEW)
    revisions = flow.revisions.select_related("user").order_by("-created_at", "-id")
    context = {
        "page_title": _("Versions"),
        "page_subtitle": flow.name,
        "header_icon": "history",
        "flow": flow,
        "revisions": revisions,
        "may_edit": request.user.has_perm(EDIT_PERMISSION),
        "edit_url": modeladmin_url(FLOWS_BASE_URL, "edit", flow.pk),
    }
    return TemplateResponse(request, "wagtail_flows/admin/flow_versions.html", context)


@require_POST
def flow_restore_view(request, pk, revision_id):
    flow = get_object_or_404(Flow, pk=pk)
    if not request.user.has_perm(EDIT_PERMISSION):
        return forbidden(request, NEEDS_EDIT)
    revision = _revision_of(flow, revision_id)
    try:
        flow.restore(revision, user=request.user)
    except ValidationError as error:
        for line in error_messages(error, flow):
            messages.error(request, line)
        return redirect(reverse("wagtail_flows_admin:flow_versions", args=[flow.pk]))
    if flow.has_draft:
        messages.success(
            request,
            _("The version of %s is restored as a draft: review and publish it.")
            % revision.created_at.strftime("%Y-%m-%d %H:%M"),
        )
        return redirect(changes_url(flow))
    messages.success(request, _("The earlier version is restored."))
    return redirect(modeladmin_url(FLOWS_BASE_URL, "edit", flow.pk))


urlpatterns = [
    path("<int:pk>/changes/", flow_changes_view, name="flow_changes"),
    path("<int:pk>/publish/", flow_publish_view, name="flow_publish"),
    path("<int:pk>/discard/", flow_discard_view, name="flow_discard"),
    path("<int:pk>/versions/", flow_versions_view, name="flow_versions"),
    path("<int:pk>/versions/<int:revision_id>/restore/", flow_restore_view, name="flow_restore"),
]
