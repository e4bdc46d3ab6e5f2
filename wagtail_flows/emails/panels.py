"""A read-only panel on the email page editor: sends, opens, clicks and unsubscribes per
published revision."""

from django.db.models import Count, Q
from wagtail.admin.panels import Panel


def revision_stats(page):
    """One row per revision the page's messages were rendered from, newest first."""
    from wagtail.models import Revision

    from wagtail_flows.models import Message
    from wagtail_flows.models.messages import MessageStatus

    if not page or not page.pk:
        return []
    rows = list(
        Message.objects.filter(page_id=page.pk)
        .values("revision_id")
        .annotate(
            sent=Count("pk", filter=Q(status=MessageStatus.SENT)),
            opened=Count("pk", filter=Q(first_opened_at__isnull=False)),
            clicked=Count("pk", filter=Q(first_clicked_at__isnull=False)),
            unsubscribed=Count("pk", filter=Q(unsubscribed_at__isnull=False)),
            not_sent=Count(
                "pk",
                filter=Q(
                    status__in=[
                        MessageStatus.FAILED,
                        MessageStatus.SUPPRESSED,
                        MessageStatus.UNKNOWN,
                    ]
                ),
            ),
        )
        .order_by("-revision_id")
    )
    created = dict(
        Revision.objects.filter(pk__in=[r["revision_id"] for r in rows]).values_list(
            "pk", "created_at"
        )
    )
    for row in rows:
        row["created_at"] = created.get(row["revision_id"])
        row["open_rate"] = _rate(row["opened"], row["sent"])
        row["click_rate"] = _rate(row["clicked"], row["sent"])
    return rows


def _rate(part, whole):
    return round(100 * part / whole) if whole else 0


class EmailStatsPanel(Panel):
    """Read-only; shows nothing editable and saves nothing."""

    class BoundPanel(Panel.BoundPanel):
        template_name = "wagtail_flows/email/stats_panel.html"

        def get_context_data(self, parent_context=None):
            context = super().get_context_data(parent_context)
            context["rows"] = revision_stats(self.instance)
            return context
