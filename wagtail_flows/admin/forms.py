"""The edit forms of flows and contacts: their form classes and tabbed edit handlers."""

from django import forms
from django.utils.translation import gettext_lazy as _
from wagtail.admin.forms import WagtailAdminModelForm
from wagtail.admin.panels import (
    FieldPanel,
    FieldRowPanel,
    MultiFieldPanel,
    ObjectList,
    TabbedInterface,
)

from wagtail_flows.admin.filters import (
    ACTIVITY_FIELDS,
)
from wagtail_flows.panels.report import FlowReportPanel
from wagtail_flows.panels.timeline import ContactTimelinePanel

WEEKDAYS = [
    (0, _("Monday")),
    (1, _("Tuesday")),
    (2, _("Wednesday")),
    (3, _("Thursday")),
    (4, _("Friday")),
    (5, _("Saturday")),
    (6, _("Sunday")),
]


class FlowForm(WagtailAdminModelForm):
    send_weekdays = forms.TypedMultipleChoiceField(
        choices=WEEKDAYS,
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("Send on weekdays"),
        help_text=_("None ticked: every day."),
    )


FLOW_EDIT_HANDLER = TabbedInterface(
    [
        ObjectList(
            [
                FieldPanel("name"),
                FieldPanel("description"),
                FieldPanel("triggers"),
                MultiFieldPanel(
                    [FieldPanel("entry_match"), FieldPanel("entry_conditions")],
                    heading=_("Who may enter"),
                ),
                FieldRowPanel(
                    [FieldPanel("reentry"), FieldPanel("reentry_days")], heading=_("Re-entry")
                ),
            ],
            heading=_("Trigger & audience"),
        ),
        ObjectList([FieldPanel("steps")], heading=_("Steps")),
        ObjectList(
            [
                MultiFieldPanel([FieldPanel("goal_match"), FieldPanel("goal")], heading=_("Goal")),
                FieldPanel("exit_conditions"),
                FieldRowPanel(
                    [FieldPanel("starts_at"), FieldPanel("ends_at")], heading=_("Dates")
                ),
                MultiFieldPanel(
                    [
                        FieldRowPanel(
                            [FieldPanel("send_window_start"), FieldPanel("send_window_end")]
                        ),
                        FieldPanel("send_weekdays"),
                        FieldPanel("send_window_timezone"),
                        FieldRowPanel([FieldPanel("cap_emails"), FieldPanel("cap_days")]),
                    ],
                    heading=_("Send window"),
                ),
                FieldPanel("kind"),
                FieldPanel("on_resume"),
                MultiFieldPanel(
                    [FieldPanel("sunset_months"), FieldPanel("sunset_flow")],
                    heading=_("Inactive contacts"),
                ),
            ],
            heading=_("Goal & settings"),
        ),
        # The diagram is drawn beside every tab (templates/.../includes/flow_editor.html).
        ObjectList([FlowReportPanel()], heading=_("Report")),
    ],
    base_form_class=FlowForm,
)


class ContactForm(WagtailAdminModelForm):
    """Tags are applied through the contact's own methods, so each change is recorded on its
    timeline and can start flows triggered by a tag."""

    tag_list = forms.CharField(
        required=False,
        label=_("Tags"),
        help_text=_("Separated by commas. Adding a tag can start flows triggered by it."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["tag_list"] = ", ".join(sorted(self.current_tags()))

    def current_tags(self):
        if not self.instance.pk:
            return []
        return list(self.instance.tagged_items.values_list("tag__name", flat=True))

    def clean_tag_list(self):
        names = {n.strip() for n in self.cleaned_data["tag_list"].split(",") if n.strip()}
        if any(len(name) > 100 for name in names):
            raise forms.ValidationError(_("A tag is at most 100 characters."))
        return sorted(names)

    def save(self, commit=True):
        contact = super().save(commit=commit)
        wanted = {name.lower(): name for name in self.cleaned_data["tag_list"]}
        current = {name.lower(): name for name in self.current_tags()}
        for key in current.keys() - wanted.keys():
            contact.remove_tag(current[key])
        for key in wanted.keys() - current.keys():
            contact.add_tag(wanted[key])
        return contact


CONTACT_FIELDS = [
    FieldPanel("email"),
    FieldRowPanel([FieldPanel("first_name"), FieldPanel("last_name")]),
    FieldRowPanel([FieldPanel("stage"), FieldPanel("score")]),
    FieldPanel("tag_list"),
    FieldRowPanel([FieldPanel("timezone"), FieldPanel("source")]),
    FieldPanel("properties"),
]


CONTACT_EDIT_HANDLER = TabbedInterface(
    [
        ObjectList(
            [
                # Consent changes only through unsubscribe (admin action, email link) or
                # the contact's own opt-in, never by editing a field.
                FieldPanel("status", read_only=True),
                *CONTACT_FIELDS,
            ],
            heading=_("Contact"),
        ),
        ObjectList([ContactTimelinePanel()], heading=_("Timeline")),
        ObjectList(
            [
                FieldPanel(name, read_only=True)
                for name in (
                    "consent_at",
                    "unsubscribed_at",
                    "last_activity_at",
                    *ACTIVITY_FIELDS,
                    "orders_count",
                    "revenue_total",
                    "created_at",
                )
            ],
            heading=_("Activity"),
        ),
    ],
    base_form_class=ContactForm,
)


CONTACT_CREATE_HANDLER = ObjectList(
    [FieldPanel("status"), *CONTACT_FIELDS], base_form_class=ContactForm
)
