"""A read-only panel on the email page editor: sends, opens, clicks and unsubscribes per
published revision. The email page model declares it, so it reads through the page
(``revision_stats()``) and imports nothing of ours."""

from wagtail.admin.panels import Panel


class EmailStatsPanel(Panel):
    """Read-only; shows nothing editable and saves nothing."""

    class BoundPanel(Panel.BoundPanel):
        template_name = "wagtail_flows/email/stats_panel.html"

        def get_context_data(self, parent_context=None):
            context = super().get_context_data(parent_context)
            context["rows"] = self.instance.revision_stats() if self.instance.pk else []
            return context
