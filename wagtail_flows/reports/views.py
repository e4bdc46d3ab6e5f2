"""Admin views of the reports: the flows summary, a flow's full report, its export, the
flow tester and the dashboard panel on the admin home page.

URLs (under /admin/flows/reports/, namespace ``wagtail_flows_reports``) are registered by
the reports section of hooks.py. Every view needs the "view flow" (or "change flow")
permission; the tester shows real contacts (their addresses, their personalised emails) only
to those who may also view contacts, and a sample contact to everyone else.
"""

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, IntegerField, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import View
from wagtail.admin.menu import MenuItem
from wagtail.admin.ui.components import Component
from wagtail.admin.views.mixins import SpreadsheetExportMixin

from wagtail_flows.conf import flows_settings
from wagtail_flows.emails import brake
from wagtail_flows.models import Contact, Enrollment, Flow, Message
from wagtail_flows.models.contacts import EventKind
from wagtail_flows.models.enrollments import EnrollmentStatus
from wagtail_flows.models.events import clean_value
from wagtail_flows.models.flows import FlowStatus
from wagtail_flows.models.messages import MessageStatus
from wagtail_flows.reports import charts
from wagtail_flows.reports import queries as reports
from wagtail_flows.reports.diagram import flow_diagram

TEMPLATES = "wagtail_flows/reports/"
UNITS = {"minutes": 1 / 1440, "hours": 1 / 24, "days": 1, "weeks": 7}
TESTER_EVENT_ROWS = 3
MAX_TESTER_DAYS = 3660


def can_view_flows(user):
    return user.has_perm("wagtail_flows.view_flow") or user.has_perm("wagtail_flows.change_flow")


def require_flow_view(view):
    def wrapped(request, *args, **kwargs):
        if not can_view_flows(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


def report_url(name, flow=None, **kwargs):
    args = [flow.pk] if flow is not None else []
    return reverse(f"wagtail_flows_reports:{name}", args=args, kwargs=kwargs or None)


# --- a flow's report (also drawn by panels/report.py on the Report tab) -------------------


def report_context(flow, params, now=None):
    """Everything the report template needs, for the date range in ``params``."""
    now = now or timezone.now()
    since, until, key = reports.date_range(params, now)
    report = reports.flow_report(flow, since, until)
    trend_since = since or timezone.localtime(now) - dt.timedelta(days=89)
    trend = reports.daily_trend(flow, trend_since, until or now)
    return {
        "flow": flow,
        "report": report,
        "range_key": key,
        "ranges": [
            ("7", _("7 days")),
            ("30", _("30 days")),
            ("90", _("90 days")),
            ("all", _("All time")),
        ],
        "custom_from": params.get("from", ""),
        "custom_to": params.get("to", ""),
        "funnel": funnel_figure(report),
        "trend": trend_figure(trend),
        "export_query": _range_query(key, params),
        "urls": flow_urls(flow),
        "currency": flows_settings.CURRENCY,
    }


def flow_urls(flow):
    if flow.pk is None:
        return {}
    return {
        "report": report_url("report", flow),
        "export": report_url("export", flow),
        "tester": report_url("tester", flow),
    }


def _range_query(key, params):
    if key == "custom":
        return f"range=custom&from={params.get('from', '')}&to={params.get('to', '')}"
    return f"range={key}"


def funnel_figure(report):
    rows = [(_("Enrolled"), report.enrolled, 0)]
    rows += [(s.label, s.entered, s.depth) for s in report.steps]
    rows.append((_("Converted"), report.converted, 0))
    svg = charts.funnel_svg(rows, title=_("Funnel of %(flow)s") % {"flow": report.flow})
    table = [(label, count) for label, count, _depth in rows]
    return charts.figure(svg, _("Contacts reaching each step"), [_("Step"), _("Contacts")], table)


def trend_figure(days):
    svg = charts.trend_svg(days, title=_("Enrollments and conversions per day"))
    rows = [(f"{day:%Y-%m-%d}", enrolled, converted) for day, enrolled, converted in days]
    headers = [_("Day"), _("Enrolled"), _("Converted")]
    return charts.figure(svg, _("Enrollments and conversions per day"), headers, rows)


@require_flow_view
def flow_report_view(request, pk):
    flow = get_object_or_404(Flow, pk=pk)
    context = report_context(flow, request.GET)
    context["page_title"] = _("Report: %(flow)s") % {"flow": flow}
    context["standalone"] = True
    context["diagram"] = flow_diagram(flow)
    return TemplateResponse(request, TEMPLATES + "report_page.html", context)


# --- export -----------------------------------------------------------------------------


class ReportExportView(SpreadsheetExportMixin, View):
    """The per-step report as CSV (``?export=csv``) or XLSX (``?export=xlsx``)."""

    list_export = [
        "where",
        "label",
        "type",
        "entered",
        "here",
        "completed",
        "failed",
        "exited_here",
        "unsubscribed_here",
        "converted_here",
        "sent",
        "opened",
        "open_rate",
        "clicked",
        "click_rate",
        "unsubscribed",
        "unsubscribe_rate",
        "goal_reached",
        "goal_rate",
        "orders",
        "revenue",
    ]
    export_headings = {
        "where": gettext_lazy("Where"),
        "label": gettext_lazy("Step"),
        "type": gettext_lazy("Type"),
        "entered": gettext_lazy("Entered"),
        "here": gettext_lazy("Waiting here"),
        "completed": gettext_lazy("Completed"),
        "failed": gettext_lazy("Failed"),
        "exited_here": gettext_lazy("Exited here"),
        "unsubscribed_here": gettext_lazy("Unsubscribed here"),
        "converted_here": gettext_lazy("Converted here"),
        "sent": gettext_lazy("Sent"),
        "opened": gettext_lazy("Opened"),
        "open_rate": gettext_lazy("Open rate %"),
        "clicked": gettext_lazy("Clicked"),
        "click_rate": gettext_lazy("Click rate %"),
        "unsubscribed": gettext_lazy("Unsubscribed"),
        "unsubscribe_rate": gettext_lazy("Unsubscribe rate %"),
        "goal_reached": gettext_lazy("Goal reached"),
        "goal_rate": gettext_lazy("Goal rate %"),
        "orders": gettext_lazy("Orders after a click"),
        "revenue": gettext_lazy("Revenue after a click"),
    }

    def get(self, request, pk):
        if not can_view_flows(request.user):
            raise PermissionDenied
        self.flow = get_object_or_404(Flow, pk=pk)
        export_format = request.GET.get("export", self.FORMAT_CSV)
        if export_format not in self.FORMATS:
            raise Http404(_("Unknown export format."))
        since, until, _key = reports.date_range(request.GET)
        report = reports.flow_report(self.flow, since, until)
        return self.as_spreadsheet(ExportRows(export_rows(report)), export_format)

    def get_heading(self, queryset, field):
        currency = flows_settings.CURRENCY
        heading = super().get_heading(queryset, field)
        return f"{heading} ({currency})" if field == "revenue" and currency else heading

    def get_filename(self):
        return f"{slugify(self.flow.name) or 'flow'}-report"


class ExportRows(list):
    model = None  # headings come from export_headings


def export_rows(report):
    """The flow's totals, then one row per step (email columns empty for other steps)."""
    rows = [
        _total_row(_("Enrolled"), report.enrolled),
        _total_row(_("Converted"), report.converted),
        _total_row(_("Completed"), report.completed),
        _total_row(_("Exited"), report.exited),
        _total_row(_("Conversion rate %"), report.conversion_rate),
        _total_row(_revenue_label(), report.revenue),
    ]
    columns = ReportExportView.list_export
    email_columns = columns[columns.index("sent") :]
    for step in report.steps:
        row = {name: getattr(step, name) for name in ReportExportView.list_export[3:]}
        row.update(where=step.path or _("Main path"), label=step.label, type=step.type)
        if not step.is_email:
            row.update(dict.fromkeys(email_columns, ""))
        rows.append(row)
    return rows


def _revenue_label():
    currency = flows_settings.CURRENCY
    return f"{_('Revenue attributed')} ({currency})" if currency else _("Revenue attributed")


def _total_row(label, value):
    row = dict.fromkeys(ReportExportView.list_export, "")
    row.update(where=_("Flow totals"), label=label, type="total", entered=value)
    return row


# --- the flows summary ------------------------------------------------------------------


def flows_with_figures():
    """Flows with their key figures in one query (subqueries, so no join multiplies)."""
    counts = {
        "enrolled": Count("pk"),
        "open": Count("pk", filter=Q(status__in=["active", "waiting"])),
        "converted": Count("pk", filter=Q(status=EnrollmentStatus.CONVERTED)),
        "failed": Count("pk", filter=Q(status=EnrollmentStatus.FAILED)),
    }
    base = Enrollment.objects.filter(flow=OuterRef("pk")).order_by().values("flow")
    annotations = {
        name: Coalesce(Subquery(base.annotate(n=agg).values("n")), 0, output_field=IntegerField())
        for name, agg in counts.items()
    }
    sent = (
        Message.objects.filter(flow=OuterRef("pk"), status=MessageStatus.SENT)
        .order_by()
        .values("flow")
        .annotate(n=Count("pk"))
        .values("n")
    )
    annotations["sent"] = Coalesce(Subquery(sent), 0, output_field=IntegerField())
    flows = Flow.objects.exclude(status=FlowStatus.ARCHIVED).annotate(**annotations)
    return flows.order_by("name")


@require_flow_view
def summary_view(request):
    flows = list(flows_with_figures())
    for flow in flows:
        flow.conversion_rate = reports.rate(flow.converted, flow.enrolled)
    context = {"page_title": _("Flows summary"), "flows": flows}
    return TemplateResponse(request, TEMPLATES + "summary.html", context)


# --- dashboard panel on the admin home page ---------------------------------------------


def dashboard_figures(now=None):
    now = now or timezone.now()
    today = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    week = Message.objects.filter(sent_at__gte=now - dt.timedelta(days=7))
    emails = week.aggregate(
        sent=Count("pk", filter=Q(status=MessageStatus.SENT)),
        opened=Count("pk", filter=Q(opens__gt=0)),
        clicked=Count("pk", filter=Q(clicks__gt=0)),
    )
    failing = Flow.objects.filter(
        enrollments__status=EnrollmentStatus.FAILED,
        enrollments__finished_at__gte=now - dt.timedelta(days=7),
    ).distinct()
    braked = Flow.objects.filter(status=FlowStatus.PAUSED).exclude(pause_reason="")
    return {
        "braked": list(braked.order_by("-paused_at")[:10]),
        "rates": brake.site_rates(now),
        "limits": {
            "complaints": flows_settings.BRAKE_COMPLAINT_RATE,
            "bounces": flows_settings.BRAKE_BOUNCE_RATE,
            "days": flows_settings.BRAKE_WINDOW_DAYS,
        },
        "live": Flow.objects.filter(status=FlowStatus.LIVE).count(),
        "enrolled_today": Enrollment.objects.filter(enrolled_at__gte=today).count(),
        "emails": emails,
        "failing": list(failing.order_by("name")[:10]),
    }


class FlowsDashboardPanel(Component):
    name = "wagtail_flows_dashboard"
    template_name = TEMPLATES + "dashboard_panel.html"
    order = 150

    def get_context_data(self, parent_context):
        context = dashboard_figures()
        context["summary_url"] = report_url("summary")
        context["flows_url"] = reverse("flows_modeladmin_index")
        return context


class FlowsSummaryMenuItem(MenuItem):
    """ "Flows summary" in Wagtail's Reports menu, for users who may view flows."""

    def is_shown(self, request):
        return can_view_flows(request.user)


def summary_menu_item():
    return FlowsSummaryMenuItem(
        gettext_lazy("Flows summary"),  # the menu is built once, for every language
        report_url("summary"),
        name="flows-summary",
        icon_name="cogs",
        order=900,
    )


def add_dashboard_panel(request, panels):
    if can_view_flows(request.user):
        panels.append(FlowsDashboardPanel())


# --- the flow tester --------------------------------------------------------------------


def tester_events(params):
    """(SimEvent dicts, errors) from the tester form rows (kind_N, after_N, unit_N, value_N).

    A row with an unknown kind is empty; a bad delay or value is an error naming its field."""
    events, errors = [], {}
    for index in range(TESTER_EVENT_ROWS):
        kind = params.get(f"kind_{index}", "")
        if kind not in EventKind.values:
            continue
        try:
            delay = _tester_delay(params.get(f"after_{index}"), params.get(f"unit_{index}"))
            value = clean_value(params.get(f"value_{index}"))
        except ValidationError as error:
            for field, messages in error.message_dict.items():
                errors[f"{field}_{index}"] = messages[0]
            continue
        events.append({"at": delay, "kind": kind, "value": value})
    return events, errors


def _tester_delay(after, unit):
    try:
        amount = float(after or 0)
    except ValueError:
        amount = -1
    days = amount * UNITS.get(unit, 1)
    if not 0 <= days <= MAX_TESTER_DAYS:
        raise ValidationError(
            {"after": _("A delay from 0 to %(days)s days.") % {"days": MAX_TESTER_DAYS}}
        )
    return dt.timedelta(days=days)


CONTACT_VIEW_PERMISSIONS = ("wagtail_flows.view_contact", "wagtail_flows.change_contact")


def may_see_contacts(user):
    """The view permission, or change (which implies it, as in Django's admin)."""
    return any(user.has_perm(permission) for permission in CONTACT_VIEW_PERMISSIONS)


def contacts_forbidden(request):
    """A real 403 for a forged tester address naming a contact (Wagtail's admin would turn
    PermissionDenied into a redirect that hides why)."""
    context = {
        "page_title": _("Permission needed"),
        "header_icon": "lock",
        "needed": _(
            "Testing a flow with a real contact shows their personal data: it needs the "
            "permission to view contacts. Leave the contact empty to test with a sample contact."
        ),
    }
    return TemplateResponse(request, "wagtail_flows/admin/forbidden.html", context, status=403)


def tester_contact(params):
    """(contact or None for a sample, error message)."""
    email = (params.get("email") or "").strip()
    if not email:
        return None, ""
    contact = Contact.objects.filter(email__iexact=email).first()
    if contact is None:
        return None, _("No contact with the email %(email)s: using a sample contact.") % {
            "email": email
        }
    return contact, ""


def sample_tags(params):
    """The tags the tester's sample contact has ("dormant, vip"), to try tag conditions."""
    names = (name.strip()[:100] for name in (params.get("tags") or "").split(","))
    return list(dict.fromkeys(name for name in names if name))[:10]


@require_flow_view
def tester_view(request, pk):
    from wagtail_flows.engine import segment_triggers
    from wagtail_flows.engine.simulate import simulate

    flow = get_object_or_404(Flow, pk=pk)
    sees_contacts = may_see_contacts(request.user)
    if not sees_contacts and (request.GET.get("email") or "").strip():
        return contacts_forbidden(request)
    run = "run" in request.GET
    events, errors = tester_events(request.GET) if run else ([], {})
    context = {
        "flow": flow,
        "page_title": _("Test this flow: %(flow)s") % {"flow": flow},
        "kinds": EventKind.choices,
        "units": [(u, u) for u in UNITS],
        "rows": _form_rows(request.GET, errors),
        "errors": errors,
        "email": request.GET.get("email", ""),
        "tags": request.GET.get("tags", ""),
        "may_see_contacts": sees_contacts,
        "recent_contacts": _recent_contacts() if sees_contacts else [],
        "urls": flow_urls(flow),
    }
    if run and not errors:
        contact, context["contact_error"] = tester_contact(request.GET)
        tags = () if contact else sample_tags(request.GET)
        path_steps = simulate(flow, contact=contact, events=events, sample_tags=tags)
        context["trigger_notes"] = segment_triggers.trigger_notes(flow, contact)
        context["contact"] = contact
        context["path"] = [_timeline_entry(flow, s, contact) for s in path_steps]
    return TemplateResponse(request, TEMPLATES + "tester.html", context)


def _recent_contacts():
    return Contact.objects.order_by("-created_at").values_list("email", flat=True)[:50]


def _form_rows(params, errors):
    return [
        {
            "index": i,
            "kind": params.get(f"kind_{i}", ""),
            "after": params.get(f"after_{i}", ""),
            "unit": params.get(f"unit_{i}", "days"),
            "value": params.get(f"value_{i}", ""),
            "after_error": errors.get(f"after_{i}", ""),
            "value_error": errors.get(f"value_{i}", ""),
        }
        for i in range(TESTER_EVENT_ROWS)
    ]


def _timeline_entry(flow, step, contact):
    entry = {"step": step, "preview_url": ""}
    if step.step_type == "send_email" and step.step_id:
        url = reverse("wagtail_flows_reports:tester_preview", args=[flow.pk, step.step_id])
        entry["preview_url"] = url + (f"?contact={contact.pk}" if contact else "")
    return entry


@require_flow_view
def tester_preview_view(request, pk, step_id):
    """The email a send step would send to the contact, rendered (nothing is sent)."""
    from wagtail_flows.emails.rendering import render_email, render_sample
    from wagtail_flows.flows.tree import FlowTree

    flow = get_object_or_404(Flow, pk=pk)
    step = FlowTree(flow.steps).get(step_id)
    page = step.get("page") if step is not None and step.type == "send_email" else None
    if page is None:
        raise Http404(_("This step sends no email."))
    page = page.specific
    contact_id = request.GET.get("contact") or None
    if contact_id is not None and not may_see_contacts(request.user):
        return contacts_forbidden(request)  # whether or not that contact exists
    if contact_id is not None and not _is_id(contact_id):
        return HttpResponseBadRequest(_("contact: a contact id is a whole number."))
    contact = Contact.objects.filter(pk=contact_id).first() if contact_id else None
    rendered = render_email(page, contact) if contact else render_sample(page)
    if request.GET.get("format") == "text":
        return HttpResponse(rendered.text, content_type="text/plain; charset=utf-8")
    return HttpResponse(rendered.html)


def _is_id(value):
    return value.isascii() and value.isdigit() and len(value) <= 18  # fits a 64-bit key


urlpatterns = [
    path("", summary_view, name="summary"),
    path("<int:pk>/", flow_report_view, name="report"),
    path("<int:pk>/export/", ReportExportView.as_view(), name="export"),
    path("<int:pk>/test/", tester_view, name="tester"),
    path("<int:pk>/test/<str:step_id>/", tester_preview_view, name="tester_preview"),
]
