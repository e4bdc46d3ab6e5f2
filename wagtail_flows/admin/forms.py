"""The edit forms of flows and contacts: their form classes and tabbed edit handlers."""

from django import forms
from django.db import transaction
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from wagtail.admin.forms import WagtailAdminModelForm
from wagtail.admin.panels import (
    FieldPanel,
    FieldRowPanel,
    MultiFieldPanel,
    ObjectList,
    Panel,
    TabbedInterface,
)
from wagtail.admin.widgets import AdminDateInput

from wagtail_flows.admin.filters import (
    ACTIVITY_FIELDS,
)
from wagtail_flows.flows.blocks import WEEKDAY_CHOICES
from wagtail_flows.models.properties import definitions, parse_or_none, set_values
from wagtail_flows.panels.report import FlowReportPanel
from wagtail_flows.panels.timeline import ContactTimelinePanel
from wagtail_flows.vocabulary import PropertyType


class FlowForm(WagtailAdminModelForm):
    send_weekdays = forms.TypedMultipleChoiceField(
        choices=WEEKDAY_CHOICES,
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
                    [
                        FieldPanel("entry_match"),
                        FieldPanel("entry_conditions"),
                        FieldPanel("never_enter_if"),
                    ],
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


PROPERTY_PREFIX = "property__"


def property_form_field(prop):
    """The form field of one defined property, of its type."""
    options = {"required": False, "label": prop.label, "help_text": prop.help_text}
    if prop.type == PropertyType.NUMBER:
        widget = forms.NumberInput(attrs={"step": "any"})
        return forms.DecimalField(max_digits=18, decimal_places=4, widget=widget, **options)
    if prop.type == PropertyType.DATE:
        return forms.DateField(widget=AdminDateInput(), **options)
    if prop.type == PropertyType.BOOLEAN:
        choices = [("", _("Unknown")), ("true", _("Yes")), ("false", _("No"))]
        return forms.TypedChoiceField(
            choices=choices, coerce=lambda v: v == "true", empty_value=None, **options
        )
    if prop.type == PropertyType.CHOICE:
        choices = [("", "---------"), *((c, c) for c in prop.choice_list)]
        return forms.ChoiceField(choices=choices, **options)
    return forms.CharField(max_length=255, **options)


class PropertiesFormMixin:
    """One typed field per defined property (``ContactProperty``), saved through
    ``set_values`` (the typed table, the JSON copy and the timeline together). The raw JSON
    "properties" field keeps only the free-form keys no property defines."""

    def _add_property_fields(self):
        self.defined_properties = definitions()
        stored = self.instance.properties if isinstance(self.instance.properties, dict) else {}
        self._stored_properties = dict(stored)
        for key, prop in self.defined_properties.items():
            name = PROPERTY_PREFIX + key
            self.fields[name] = property_form_field(prop)
            value = parse_or_none(prop, stored.get(key))
            if isinstance(value, bool):
                value = "true" if value else "false"
            self.initial[name] = value
        if "properties" in self.fields:
            self.fields["properties"].label = _("Other properties (free-form)")
            self.initial["properties"] = {
                k: v for k, v in stored.items() if k not in self.defined_properties
            }

    @property
    def property_field_names(self):
        return [PROPERTY_PREFIX + key for key in self.defined_properties]

    def clean_properties(self):
        free = self.cleaned_data.get("properties")
        if free in (None, ""):
            free = {}
        if not isinstance(free, dict):
            raise forms.ValidationError(_('Enter an object: {"key": value, …}.'))
        taken = sorted(set(free) & set(self.defined_properties))
        if taken:
            raise forms.ValidationError(
                _("%(keys)s: defined properties, set in their own fields above.")
                % {"keys": ", ".join(taken)}
            )
        return free

    def property_changes(self):
        """{key: new raw value or None} for set_values."""
        changes = {}
        free = self.cleaned_data.get("properties", {}) if "properties" in self.fields else None
        if free is not None:
            for key in self._stored_properties:
                if key not in self.defined_properties and key not in free:
                    changes[key] = None
            changes.update(free)
        for key in self.defined_properties:
            value = self.cleaned_data.get(PROPERTY_PREFIX + key)
            changes[key] = None if value in ("", None) else value
        return changes

    def save_properties(self, contact, user=None):
        source = _("edited by %(user)s") % {"user": user} if user else _("edited in the admin")
        set_values(contact, self.property_changes(), source=str(source))


class ContactForm(PropertiesFormMixin, WagtailAdminModelForm):
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
        self._add_property_fields()

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
        self.instance.properties = self._stored_properties  # written by save_properties
        contact = super().save(commit=commit)
        with transaction.atomic():
            self.save_properties(contact, getattr(self, "for_user", None))
        wanted = {name.lower(): name for name in self.cleaned_data["tag_list"]}
        current = {name.lower(): name for name in self.current_tags()}
        for key in current.keys() - wanted.keys():
            contact.remove_tag(current[key])
        for key in wanted.keys() - current.keys():
            contact.add_tag(wanted[key])
        return contact


class PropertyFieldsPanel(Panel):
    """The typed fields of the defined properties (added by ``PropertiesFormMixin``)."""

    class BoundPanel(Panel.BoundPanel):
        template_name = "wagtail_flows/admin/panels/property_fields.html"

        def is_shown(self):
            return bool(getattr(self.form, "property_field_names", None))

        def get_context_data(self, parent_context=None):
            context = super().get_context_data(parent_context)
            context["fields"] = [self.form[name] for name in self.form.property_field_names]
            return context


class _RendersPropertyFields:
    """The property fields are the PropertyFieldsPanel's, not "missing" fields that Wagtail
    renders bare under the form."""

    def render_missing_fields(self):
        html = [
            str(self.form[name])
            for name in self.form.fields
            if name not in self.panel.get_form_options().get("fields", [])
            and not name.startswith(PROPERTY_PREFIX)
        ]
        return mark_safe("".join(html))  # noqa: S308 - Django's rendered widgets


class ContactTabs(TabbedInterface):
    class BoundPanel(_RendersPropertyFields, TabbedInterface.BoundPanel):
        pass


class ContactFieldList(ObjectList):
    class BoundPanel(_RendersPropertyFields, ObjectList.BoundPanel):
        pass


CONTACT_FIELDS = [
    FieldPanel("email"),
    FieldRowPanel([FieldPanel("first_name"), FieldPanel("last_name")]),
    FieldRowPanel([FieldPanel("stage"), FieldPanel("score"), FieldPanel("grade", read_only=True)]),
    FieldPanel("tag_list"),
    FieldRowPanel([FieldPanel("timezone"), FieldPanel("source")]),
    PropertyFieldsPanel(heading=_("Properties")),
    FieldPanel("properties"),
]


CONTACT_EDIT_HANDLER = ContactTabs(
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


CONTACT_CREATE_HANDLER = ContactFieldList(
    [FieldPanel("status"), *CONTACT_FIELDS], base_form_class=ContactForm
)
