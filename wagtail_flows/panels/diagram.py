"""A read-only drawing of a flow: its triggers, the step tree and its goal.

Branches' yes/no sides and split variants sit side by side; each step carries the number of
contacts waiting at it right now (one aggregate query over open enrollments).
"""

from django.utils.translation import gettext_lazy
from wagtail.admin.panels import Panel

from wagtail_flows.reports.diagram import flow_diagram, waiting_counts  # noqa: F401


class FlowDiagramPanel(Panel):
    def __init__(self, heading=None, **kwargs):
        super().__init__(heading=heading or gettext_lazy("Flow diagram"), **kwargs)

    class BoundPanel(Panel.BoundPanel):
        template_name = "wagtail_flows/admin/panels/flow_diagram.html"

        def get_context_data(self, parent_context=None):
            context = super().get_context_data(parent_context)
            context["diagram"] = flow_diagram(self.instance)
            return context
