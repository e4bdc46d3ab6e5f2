"""The flow's report on its *Report* tab: funnel, per-step figures, A/B results, trend.

Read-only; the date range comes from the page's GET parameters (``?range=7|30|90|all``),
the links keep the Report tab open. A custom range opens the full report page.
"""

from django.utils.translation import gettext_lazy
from wagtail.admin.panels import Panel


class FlowReportPanel(Panel):
    def __init__(self, heading=None, **kwargs):
        super().__init__(heading=heading or gettext_lazy("Flow report"), **kwargs)

    class BoundPanel(Panel.BoundPanel):
        template_name = "wagtail_flows/reports/report_panel.html"

        def is_shown(self):
            return self.instance is not None and self.instance.pk is not None

        def get_context_data(self, parent_context=None):
            from wagtail_flows.reports.views import report_context

            context = super().get_context_data(parent_context)
            params = self.request.GET if self.request is not None else {}
            context.update(report_context(self.instance, params))
            return context
