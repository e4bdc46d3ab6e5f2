"""The live size of a segment, shown on its edit view."""

from django.urls import reverse
from django.utils.translation import gettext_lazy
from wagtail.admin.panels import Panel


class SegmentCountPanel(Panel):
    def __init__(self, heading=None, **kwargs):
        super().__init__(heading=heading or gettext_lazy("Contacts in this segment"), **kwargs)

    class BoundPanel(Panel.BoundPanel):
        template_name = "wagtail_flows/admin/panels/segment_count.html"

        def get_context_data(self, parent_context=None):
            context = super().get_context_data(parent_context)
            segment = self.instance
            context["count"] = None
            if segment.pk:
                context["count"] = segment.count()
                context["contacts_url"] = (
                    reverse("flows_contacts_modeladmin_index") + f"?segment={segment.pk}"
                )
            return context
