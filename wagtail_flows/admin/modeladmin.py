"""The Flows admin menu: Flows, Contacts, Lists, Segments and Messages.

The one module that imports wagtail-modeladmin, so that a move to Wagtail's ModelViewSet stays
a one-module change. Checked with wagtail-modeladmin 2.5 on Wagtail 8.0.1: the menu group,
listings (filters, search, annotated querysets), create/edit views with a TabbedInterface,
inspect and history views all work unchanged; no work-around is needed.
"""

import functools

from django.contrib import admin as django_admin
from django.contrib.admin.utils import lookup_field
from django.db.models import Count, Q
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from wagtail.admin import messages
from wagtail.admin.menu import MenuItem
from wagtail.admin.panels import (
    FieldPanel,
    FieldRowPanel,
)
from wagtail_modeladmin.helpers import ButtonHelper, PermissionHelper
from wagtail_modeladmin.options import ModelAdmin, ModelAdminGroup, modeladmin_register
from wagtail_modeladmin.views import CreateView, DeleteView, EditView, HistoryView, IndexView

from wagtail_flows.admin.actions import contact_actions_for, flow_actions_for, trigger_summary
from wagtail_flows.admin.common import (
    ACTIVATE_PERMISSION,
    CONTACTS_BASE_URL,
    FLOWS_BASE_URL,
    LISTS_BASE_URL,
    MESSAGES_BASE_URL,
    PROPERTIES_BASE_URL,
    SCORING_BASE_URL,
    SEGMENTS_BASE_URL,
    modeladmin_url,
)
from wagtail_flows.admin.diagram_preview import LiveDiagramMixin
from wagtail_flows.admin.enroll import enroll_chosen_url
from wagtail_flows.admin.filters import (
    ACTIVITY_FIELDS,
    InListFilter,
    LastActivityFilter,
    ScoreFilter,
    SegmentFilter,
    TagFilter,
    WithoutDjangoAdmin,
    property_filters,
)
from wagtail_flows.admin.forms import (
    CONTACT_CREATE_HANDLER,
    CONTACT_EDIT_HANDLER,
    FLOW_EDIT_HANDLER,
)
from wagtail_flows.admin.listings import DeclaredLookupsOnly
from wagtail_flows.admin.property_columns import (
    ExportColumns,
    export_fields,
    is_property_field,
    saved_message,
)
from wagtail_flows.admin.segments import RefuseWhileListened
from wagtail_flows.admin.versions import changes_url
from wagtail_flows.models import (
    Contact,
    ContactList,
    ContactProperty,
    Flow,
    Message,
    ScoringRule,
    Segment,
)
from wagtail_flows.models.contacts import ContactStatus
from wagtail_flows.models.enrollments import EnrollmentStatus
from wagtail_flows.models.flows import FlowStatus
from wagtail_flows.models.jobs import JobStatus
from wagtail_flows.models.messages import MessageStatus
from wagtail_flows.panels.segment import SegmentCountPanel


def status_tag(label, primary=False, warning=False, title=""):
    classes = "w-status" + (" w-status--primary" if primary else " w-status--label")
    style = "color: var(--w-color-text-error); border-color: currentColor; " if warning else ""
    return format_html(
        '<span class="{}" style="{}" title="{}">{}</span>', classes, style, title, label
    )


class GuardedHistoryView(HistoryView):
    """modeladmin 2.5 shows any object's history to any admin user; require a permission on
    the model, as its listing does (history labels can name a contact)."""

    def check_action_permitted(self, user):
        return self.permission_helper.user_can_list(user)


class GuardedIndexView(DeclaredLookupsOnly, IndexView):
    pass


class FlowsModelAdmin(ModelAdmin):
    history_view_class = GuardedHistoryView
    index_view_class = GuardedIndexView

    def __init__(self, parent=None):
        super().__init__(parent)
        self.admin_site = WithoutDjangoAdmin()  # no django.contrib.admin needed (filters.py)


# --- flows --------------------------------------------------------------------------------


# A live or paused flow stays valid: Flow.clean() (run by the form) applies the
# activation rules, so the editor sees block-level errors at save.


ENROLLMENT_COLUMNS = (
    EnrollmentStatus.ACTIVE,
    EnrollmentStatus.WAITING,
    EnrollmentStatus.COMPLETED,
    EnrollmentStatus.CONVERTED,
)


def _count_column(status):
    def column(self, obj):
        return getattr(obj, f"{status}_count")

    return django_admin.display(description=status.label, ordering=f"{status}_count")(column)


class FlowPermissionHelper(PermissionHelper):
    def user_can_delete_obj(self, user, obj):
        """Only drafts and archived flows: deleting a running one would drop its contacts."""
        deletable = obj.status in (FlowStatus.DRAFT, FlowStatus.ARCHIVED)
        return deletable and super().user_can_delete_obj(user, obj)


class FlowButtonHelper(ButtonHelper):
    def get_buttons_for_obj(self, obj, exclude=None, classnames_add=None, classnames_exclude=None):
        buttons = super().get_buttons_for_obj(obj, exclude, classnames_add, classnames_exclude)
        for action in flow_actions_for(self.request.user, obj):
            extra = ["no"] if action.serious else ["button-secondary"]
            buttons.append(
                {
                    "url": action.url(obj),
                    "label": action.label,
                    "classname": self.finalise_classname([*(classnames_add or []), *extra]),
                    "title": f"{action.label}: {obj}",
                }
            )
        return buttons


class FlowCreateView(LiveDiagramMixin, CreateView):
    pass


class FlowEditView(LiveDiagramMixin, EditView):
    """A draft flow is edited in place; a live or paused one as a draft beside the published
    version, which runs unchanged until it is published (admin/versions.py)."""

    def get_instance(self):
        if not hasattr(self, "_editable"):
            self._editable = self.instance.editable_version()
        return self._editable

    def form_valid(self, form):
        if not self.instance.edits_as_draft:
            return super().form_valid(form)
        form.save(commit=False).save_draft(user=self.request.user)
        messages.success(
            self.request,
            _("Draft saved. “%s” runs its published version until the draft is published.")
            % self.instance.name,
        )
        return redirect(changes_url(self.instance))

    def get_context_data(self, **kwargs):
        actions = [
            {"label": a.label, "url": a.url(self.instance), "serious": a.serious}
            for a in flow_actions_for(self.request.user, self.instance)
        ]
        jobs = self.instance.enrollment_jobs.order_by("-created_at")
        scheduled = jobs.filter(status=JobStatus.SCHEDULED).order_by("scheduled_at")
        return super().get_context_data(
            flow_actions=actions,
            enrollment_jobs=jobs.exclude(status=JobStatus.SCHEDULED)[:3],
            scheduled_jobs=scheduled if may_enroll(self.request.user) else scheduled.none(),
            changes_url=changes_url(self.instance),
            versions_url=reverse("wagtail_flows_admin:flow_versions", args=[self.instance.pk]),
            **kwargs,
        )


class FlowAdmin(FlowsModelAdmin):
    model = Flow
    base_url_path = FLOWS_BASE_URL
    menu_label = _("Flows")
    menu_icon = "cogs"
    list_display = (
        "name",
        "status_badge",
        "triggers_column",
        *(f"{s}_count" for s in ENROLLMENT_COLUMNS),
    )
    list_filter = ("status",)
    search_fields = ("name", "description")
    edit_handler = FLOW_EDIT_HANDLER
    index_template_name = "wagtail_flows/admin/flow_index.html"
    create_template_name = "wagtail_flows/admin/flow_create.html"
    create_view_class = FlowCreateView
    edit_template_name = "wagtail_flows/admin/flow_edit.html"
    edit_view_class = FlowEditView
    button_helper_class = FlowButtonHelper
    permission_helper_class = FlowPermissionHelper

    active_count = _count_column(EnrollmentStatus.ACTIVE)
    waiting_count = _count_column(EnrollmentStatus.WAITING)
    completed_count = _count_column(EnrollmentStatus.COMPLETED)
    converted_count = _count_column(EnrollmentStatus.CONVERTED)

    def get_queryset(self, request):
        counts = {
            f"{status}_count": Count("enrollments", filter=Q(enrollments__status=status))
            for status in ENROLLMENT_COLUMNS
        }
        return super().get_queryset(request).annotate(**counts)

    @django_admin.display(description=_("status"), ordering="status")
    def status_badge(self, obj):
        badge = status_tag(obj.get_status_display(), primary=obj.status == FlowStatus.LIVE)
        if obj.status == FlowStatus.PAUSED and obj.pause_reason:
            badge += status_tag(_("braked"), warning=True, title=obj.pause_reason)
        if obj.has_draft:
            badge += status_tag(_("draft awaiting sign-off"), title=_("Changes not yet published"))
        return badge

    @django_admin.display(description=_("triggers"))
    def triggers_column(self, obj):
        return trigger_summary(obj) or "—"


# --- contacts, lists, segments ----------------------------------------------------------


class ContactCreateView(CreateView):
    def get_edit_handler(self):
        return CONTACT_CREATE_HANDLER.bind_to_model(Contact)


class ContactEditView(EditView):
    def get_context_data(self, **kwargs):
        actions = contact_actions_for(self.request.user, self.instance)
        return super().get_context_data(contact_actions=actions, **kwargs)


FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value):
    """Names come from public forms: a cell starting like a formula is quoted, so a
    spreadsheet opening the CSV shows it instead of running it (CSV injection)."""
    return f"'{value}" if value.startswith(FORMULA_PREFIXES) else value


def may_enroll(user):
    return user.has_perm(ACTIVATE_PERMISSION)


class ContactIndexView(GuardedIndexView):
    custom_value_preprocess = {
        **GuardedIndexView.custom_value_preprocess,
        str: {IndexView.FORMAT_CSV: csv_safe},
    }

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if may_enroll(self.request.user):
            context["enroll_chosen_url"] = enroll_chosen_url()
        return context

    def to_row_dict(self, item):
        """modeladmin writes "-" for any falsy value; a score of 0 stays 0, blanks stay blank."""
        row = {}
        for field in self.list_export:
            if is_property_field(field):  # a defined contact property (property_columns.py)
                row[field] = self.property_columns.value(field, item)
                continue
            _field, _attr, value = lookup_field(field, item, self.model_admin)
            row[field] = "" if value is None else value
        return row

    def get_heading(self, queryset, field):
        if is_property_field(field):
            return self.property_columns.heading(field)
        return super().get_heading(queryset, field)

    @functools.cached_property
    def property_columns(self):
        return ExportColumns()


class ContactAdmin(FlowsModelAdmin):
    model = Contact
    base_url_path = CONTACTS_BASE_URL
    menu_label = _("Contacts")
    menu_icon = "user"
    list_display = (
        "email",
        "full_name",
        "status_badge",
        "stage",
        "score",
        "grade",
        "tag_names",
        "last_activity_at",
    )
    list_filter = (
        "status",
        "stage",
        InListFilter,
        TagFilter,
        SegmentFilter,
        ScoreFilter,
        "grade",
        LastActivityFilter,
    )
    search_fields = ("email", "first_name", "last_name")
    list_per_page = 50
    list_export = (
        "email",
        "first_name",
        "last_name",
        "status_label",
        "stage_label",
        "score",
        "grade",
        "list_names",
        "tag_names",
        "last_activity_at",
        *ACTIVITY_FIELDS,
        "created_at",
    )
    export_filename = "contacts"
    list_display_add_buttons = "email"
    index_view_class = ContactIndexView
    index_template_name = "wagtail_flows/admin/contact_index.html"
    edit_handler = CONTACT_EDIT_HANDLER
    create_view_class = ContactCreateView
    edit_view_class = ContactEditView
    edit_template_name = "wagtail_flows/admin/contact_edit.html"

    def get_queryset(self, request):
        queryset = super().get_queryset(request).prefetch_related("tagged_items__tag")
        if request.GET.get(IndexView.EXPORT_VAR):
            queryset = queryset.prefetch_related("lists")
        return queryset

    def get_list_filter(self, request):
        return (*self.list_filter, *property_filters())  # properties marked for the listing

    def get_list_export(self, request):
        return (*self.list_export, *export_fields())  # a column per defined property

    def get_list_display(self, request):
        """Users who may enroll contacts tick rows for "Enroll selected in a flow"."""
        columns = super().get_list_display(request)
        return ("select_box", *columns) if may_enroll(request.user) else columns

    @django_admin.display(description=_("select"))
    def select_box(self, obj):
        return format_html(
            '<input type="checkbox" name="id" value="{}" form="wf-contact-selection" '
            'class="wf-select" aria-label="{}">',
            obj.pk,
            _("Select %s") % obj.email,
        )

    @django_admin.display(description=_("consent status"))
    def status_label(self, obj):
        return obj.get_status_display()

    @django_admin.display(description=_("stage"))
    def stage_label(self, obj):
        return obj.get_stage_display()

    @django_admin.display(description=_("lists"))
    def list_names(self, obj):
        return ", ".join(sorted(contact_list.name for contact_list in obj.lists.all()))

    @django_admin.display(description=_("name"), ordering="last_name")
    def full_name(self, obj):
        return obj.full_name

    @django_admin.display(description=_("consent status"), ordering="status")
    def status_badge(self, obj):
        return status_tag(obj.get_status_display(), primary=obj.status == ContactStatus.SUBSCRIBED)

    @django_admin.display(description=_("tags"))
    def tag_names(self, obj):
        return ", ".join(sorted(item.tag.name for item in obj.tagged_items.all()))


class ContactListAdmin(FlowsModelAdmin):
    model = ContactList
    base_url_path = LISTS_BASE_URL
    menu_label = _("Lists")
    menu_icon = "list-ul"
    list_display = ("name", "member_count", "public", "created_at")
    search_fields = ("name", "description")
    panels = [FieldPanel("name"), FieldPanel("description"), FieldPanel("public")]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(member_count=Count("memberships"))

    @django_admin.display(description=_("members"), ordering="member_count")
    def member_count(self, obj):
        url = modeladmin_url(CONTACTS_BASE_URL, "index") + f"?list={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, f"{obj.member_count:,}")


class SegmentDeleteView(RefuseWhileListened, DeleteView):
    """Refused while a live or paused flow's trigger names the segment (admin/segments.py)."""


class SegmentAdmin(FlowsModelAdmin):
    model = Segment
    delete_view_class = SegmentDeleteView
    base_url_path = SEGMENTS_BASE_URL
    menu_label = _("Segments")
    menu_icon = "crosshairs"
    list_display = ("name", "match", "created_at")
    search_fields = ("name",)
    panels = [
        FieldPanel("name"),
        FieldPanel("match"),
        FieldPanel("conditions"),
        SegmentCountPanel(),
    ]


# --- contact properties (models/properties.py) and lead scoring (models/scoring.py) -------


class ContactPropertyCreateView(CreateView):
    def get_success_message(self, instance):  # and the values it took from contacts' JSON
        return saved_message(super().get_success_message(instance), instance)


class ContactPropertyEditView(EditView):
    def get_success_message(self, instance):
        return saved_message(super().get_success_message(instance), instance)


class ContactPropertyAdmin(FlowsModelAdmin):
    model = ContactProperty
    create_view_class = ContactPropertyCreateView
    edit_view_class = ContactPropertyEditView
    base_url_path = PROPERTIES_BASE_URL
    menu_label = _("Contact properties")
    menu_icon = "form"
    list_display = ("label", "key", "type", "in_listing")
    search_fields = ("label", "key")
    panels = [
        FieldPanel("label"),
        FieldPanel("key"),
        FieldPanel("type"),
        FieldPanel("choices"),
        FieldPanel("help_text"),
        FieldPanel("in_listing"),
    ]


class ScoringRuleAdmin(FlowsModelAdmin):
    model = ScoringRule
    base_url_path = SCORING_BASE_URL
    menu_label = _("Scoring rules")
    menu_icon = "pick"
    list_display = ("name", "event", "points", "active")
    list_filter = ("active", "event")
    search_fields = ("name",)
    panels = [
        FieldPanel("name"),
        FieldPanel("active"),
        FieldPanel("event"),
        FieldPanel("page"),
        FieldPanel("include_subpages"),
        FieldPanel("document"),
        FieldPanel("custom_name"),
        FieldPanel("points"),
        FieldRowPanel([FieldPanel("cap_points"), FieldPanel("cap_days")]),
    ]


# --- messages (read-only) -----------------------------------------------------------------


class ReadOnlyPermissionHelper(PermissionHelper):
    """Messages are written by the engine and the mailer; the admin only reads them."""

    def user_can_create(self, user):
        return False

    def user_can_edit_obj(self, user, obj):
        return False

    def user_can_delete_obj(self, user, obj):
        return False


UNKNOWN_OUTCOME = _("Outcome unknown — not resent")


class MessageAdmin(FlowsModelAdmin):
    model = Message
    base_url_path = MESSAGES_BASE_URL
    menu_label = _("Messages")
    menu_icon = "mail"
    list_display = (
        "to_email",
        "subject",
        "flow",
        "status_badge",
        "opens",
        "clicks",
        "created_at",
        "sent_at",
    )
    list_filter = ("status", "flow")
    list_select_related = ("flow",)
    search_fields = ("to_email", "subject")
    list_per_page = 50
    inspect_view_enabled = True
    inspect_view_fields = [
        "to_email",
        "subject",
        "status",
        "flow",
        "page",
        "transactional",
        "error",
        "opens",
        "clicks",
        "first_opened_at",
        "first_clicked_at",
        "created_at",
        "sent_at",
        "message_id",
    ]
    permission_helper_class = ReadOnlyPermissionHelper
    inspect_template_name = "wagtail_flows/admin/message_inspect.html"

    @django_admin.display(description=_("status"), ordering="status")
    def status_badge(self, obj):
        if obj.status == MessageStatus.UNKNOWN:
            title = _("The mail server may or may not have accepted it; it is never resent.")
            return status_tag(UNKNOWN_OUTCOME, warning=True, title=title)
        return status_tag(obj.get_status_display(), primary=obj.status == MessageStatus.SENT)


class NewFromTemplateMenuItem(MenuItem):
    """The template gallery (flow_templates/views.py), for users who may add flows."""

    def is_shown(self, request):
        return request.user.has_perm("wagtail_flows.add_flow")


class FlowsMenu(ModelAdminGroup):
    menu_label = _("Flows")
    menu_icon = "cogs"
    menu_order = 250
    items = (
        FlowAdmin,
        ContactAdmin,
        ContactListAdmin,
        SegmentAdmin,
        ContactPropertyAdmin,
        ScoringRuleAdmin,
        MessageAdmin,
    )

    def get_submenu_items(self):
        flows, *others = super().get_submenu_items()
        from_template = NewFromTemplateMenuItem(
            _("New flow from template"),
            reverse("wagtail_flows_templates:gallery"),
            name="flows-new-from-template",
            icon_name="doc-empty-inverse",
            order=flows.order,
        )
        return [flows, from_template, *others]


modeladmin_register(FlowsMenu)
