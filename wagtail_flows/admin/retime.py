"""Re-timing contacts already waiting at a wait whose length the editor changed.

The design: "changing a wait's length re-times contacts already waiting only if the editor
asks to." Saving a live or paused flow whose waits changed while contacts wait at them leads to
a confirmation page: *Re-time them* (a POST) or *Leave them as they are* (the default: nothing
changes unless the editor confirms). The engine's ``retime_waiting`` does the work.
"""

from urllib.parse import urlencode

from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_http_methods
from wagtail.admin import messages
from wagtail.log_actions import log

from wagtail_flows.admin.common import CONFIRM_TEMPLATE, FLOWS_BASE_URL, forbidden, modeladmin_url
from wagtail_flows.engine.advance import retime_waiting
from wagtail_flows.flows.describe import describe
from wagtail_flows.flows.tree import FlowTree
from wagtail_flows.models import Enrollment, Flow
from wagtail_flows.models.enrollments import EnrollmentStatus
from wagtail_flows.models.flows import FlowStatus

RUNNING = (FlowStatus.LIVE, FlowStatus.PAUSED)
EDIT_PERMISSION = "wagtail_flows.change_flow"


def wait_steps(flow):
    """{step id: step} of the flow's wait steps, read from the raw stream (no query)."""
    tree = FlowTree(list(flow.steps.raw_data))
    return {step.id: step for step in tree.walk() if step.type == "wait"}


def wait_lengths(flow):
    return {
        step_id: (step.get("amount"), step.get("unit"))
        for step_id, step in wait_steps(flow).items()
    }


def waiting_at(flow, step_ids):
    """{step id: contacts waiting there now}, for the steps that have any."""
    rows = (
        Enrollment.objects.filter(
            flow=flow, status=EnrollmentStatus.WAITING, current_step__in=step_ids
        )
        .values_list("current_step")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return dict(rows)


def retime_url_after_save(flow, lengths_before):
    """Where the edit view goes after saving: the re-time question when a running flow's
    waits changed length with contacts waiting at them; None otherwise."""
    if flow.status not in RUNNING:
        return None
    changed = [
        step_id
        for step_id, length in wait_lengths(flow).items()
        if step_id in lengths_before and lengths_before[step_id] != length
    ]
    counts = waiting_at(flow, changed) if changed else {}
    if not counts:
        return None
    query = urlencode([("step", step_id) for step_id in changed if step_id in counts])
    return f"{reverse('wagtail_flows_admin:flow_retime', args=[flow.pk])}?{query}"


def _effects(steps, counts):
    lines = [
        ngettext(
            "%(n)s contact is waiting at “%(step)s” with the time it had before your change.",
            "%(n)s contacts are waiting at “%(step)s” with the time they had before your change.",
            counts[step_id],
        )
        % {"n": f"{counts[step_id]:,}", "step": describe((step.type, step.value))}
        for step_id, step in steps.items()
    ]
    lines.append(
        _(
            "Re-time them: each waits the new length, counted from when they started waiting; "
            "anyone whose new time has passed moves on at the engine's next run."
        )
    )
    lines.append(
        _(
            "Leave them: they keep their time; only contacts reaching the wait from now on "
            "wait the new length."
        )
    )
    return lines


@require_http_methods(["GET", "POST"])
def flow_retime(request, pk):
    flow = get_object_or_404(Flow, pk=pk)
    if not request.user.has_perm(EDIT_PERMISSION):
        return forbidden(request, _("Only users allowed to edit flows can do this."))
    edit_url = modeladmin_url(FLOWS_BASE_URL, "edit", flow.pk)
    asked = set(request.GET.getlist("step"))
    steps = {sid: step for sid, step in wait_steps(flow).items() if sid in asked}
    counts = waiting_at(flow, list(steps)) if flow.status in RUNNING else {}
    steps = {sid: step for sid, step in steps.items() if sid in counts}
    if not steps:
        messages.info(request, _("No contact is waiting at those waits now: nothing to re-time."))
        return redirect(edit_url)
    if request.method == "POST":
        return _retime(request, flow, list(steps), edit_url)
    context = {
        "page_title": _("Re-time waiting contacts"),
        "page_subtitle": flow.name,
        "header_icon": "time",
        "effects": _effects(steps, counts),
        "submit_label": _("Re-time them"),
        "cancel_label": _("Leave them as they are"),
        "cancel_url": edit_url,
        "action_url": request.get_full_path(),
    }
    return TemplateResponse(request, CONFIRM_TEMPLATE, context)


def _retime(request, flow, step_ids, edit_url):
    total = sum(retime_waiting(flow, step_id) for step_id in step_ids)
    log(flow, "wagtail_flows.retime", user=request.user, data={"steps": step_ids, "n": total})
    messages.success(
        request,
        ngettext(
            "%(n)s waiting contact is re-timed to the new wait.",
            "%(n)s waiting contacts are re-timed to the new wait.",
            total,
        )
        % {"n": f"{total:,}"},
    )
    return redirect(edit_url)


def register_retime_log_action(actions):
    actions.register_action(
        "wagtail_flows.retime",
        gettext_lazy("Re-time waiting contacts"),
        gettext_lazy("Re-timed the contacts waiting at changed waits"),
    )


urlpatterns = [
    path("<int:pk>/waits/retime/", flow_retime, name="flow_retime"),
]
