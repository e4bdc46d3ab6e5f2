"""A contact's timeline: events, emails and flow runs, newest first, bounded."""

from dataclasses import dataclass
from datetime import datetime

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from wagtail.admin.admin_url_finder import AdminURLFinder
from wagtail.admin.panels import Panel


@dataclass
class TimelineEntry:
    at: datetime
    kind: str  # "event", "message" or "enrollment"
    title: str
    detail: str = ""
    url: str = ""


def contact_timeline(contact, limit=50, user=None):
    """The newest ``limit`` entries: three bounded queries, merged by date."""
    if not contact.pk:
        return []
    finder = AdminURLFinder(user)
    entries = [
        *_events(contact, limit),
        *_messages(contact, limit),
        *_enrollments(contact, limit, finder),
    ]
    entries.sort(key=lambda entry: entry.at, reverse=True)
    return entries[:limit]


def _events(contact, limit):
    events = contact.events.select_related("page").order_by("-created_at", "-pk")[:limit]
    for event in events:
        detail = event.name or (event.page.title if event.page else "")
        if event.value is not None:
            detail = f"{detail} ({event.value})".strip()
        yield TimelineEntry(event.created_at, "event", event.get_kind_display(), detail)


def _messages(contact, limit):
    for message in contact.messages.select_related("flow").order_by("-created_at", "-pk")[:limit]:
        title = _("Email “%s”") % (message.subject or message.subject_override or message.page_id)
        parts = [message.get_status_display()]
        if message.opens:
            parts.append(_("opened %d×") % message.opens)
        if message.clicks:
            parts.append(_("clicked %d×") % message.clicks)
        if message.flow:
            parts.append(_("from “%s”") % message.flow)
        at = message.sent_at or message.created_at
        yield TimelineEntry(at, "message", title, ", ".join(parts))


def _enrollments(contact, limit, finder):
    runs = contact.enrollments.select_related("flow").order_by("-enrolled_at", "-pk")[:limit]
    for run in runs:
        title = _("Entered flow “%s”") % run.flow
        detail = run.get_status_display()
        if run.exit_reason:
            detail = f"{detail}: {run.exit_reason}"
        url = finder.get_edit_url(run.flow) or ""
        yield TimelineEntry(run.enrolled_at, "enrollment", title, detail, url)


class ContactTimelinePanel(Panel):
    def __init__(self, heading=None, limit=50, **kwargs):
        self.limit = limit
        super().__init__(heading=heading or gettext_lazy("Timeline"), **kwargs)

    def clone_kwargs(self):
        return {**super().clone_kwargs(), "limit": self.limit}

    class BoundPanel(Panel.BoundPanel):
        template_name = "wagtail_flows/admin/panels/contact_timeline.html"

        def get_context_data(self, parent_context=None):
            context = super().get_context_data(parent_context)
            user = self.request.user if self.request else None
            context["entries"] = contact_timeline(self.instance, self.panel.limit, user)
            context["limit"] = self.panel.limit
            lists = self.instance.lists.values_list("name", flat=True) if self.instance.pk else []
            context["lists"] = list(lists)
            return context
