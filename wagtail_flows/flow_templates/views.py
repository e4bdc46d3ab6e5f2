"""Admin: "New flow from template" — the gallery, and the page that asks for the settings a
template cannot guess, then creates the draft flow and its draft emails."""

from django import forms
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils.translation import gettext as _
from wagtail.admin import messages
from wagtail.admin.auth import permission_required
from wagtail.admin.widgets import AdminPageChooser
from wagtail.documents import get_document_model
from wagtail.documents.widgets import AdminDocumentChooser
from wagtail.models import Page

from wagtail_flows import flow_templates
from wagtail_flows.flow_templates.builder import MissingPermission, preview_flow
from wagtail_flows.reports.diagram import flow_diagram

ADD_FLOW = "wagtail_flows.add_flow"


def _field(param):
    common = {"label": param.label, "help_text": param.help_text, "required": param.required}
    if param.kind in ("page", "form_page"):
        return forms.ModelChoiceField(
            queryset=Page.objects.all(), widget=AdminPageChooser(), **common
        )
    if param.kind == "document":
        return forms.ModelChoiceField(
            queryset=get_document_model().objects.all(), widget=AdminDocumentChooser(), **common
        )
    if param.kind == "int":
        return forms.IntegerField(min_value=1, **common)
    if param.kind == "percent":
        return forms.IntegerField(min_value=1, max_value=100, **common)
    return forms.CharField(max_length=500, **common)


class TemplateSettingsForm(forms.Form):
    """One field per setting the template asks for, prefilled with its default."""

    def __init__(self, template, user, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.template = template
        for param in template.params:
            field = _field(param)
            default = param.default(user) if callable(param.default) else param.default
            field.initial = default
            self.fields[param.name] = field


def _edit_url(flow):
    try:
        return reverse("flows_modeladmin_edit", args=[flow.pk])
    except NoReverseMatch:
        return reverse("wagtailadmin_home")


@permission_required(ADD_FLOW)
def gallery(request):
    groups = [
        (label, [_card(t) for t in templates]) for label, templates in flow_templates.grouped()
    ]
    context = {"groups": groups, "page_title": _("New flow from a template")}
    return TemplateResponse(request, "wagtail_flows/flow_templates/gallery.html", context)


def _card(template):
    return {
        "template": template,
        "diagram": flow_diagram(preview_flow(template)),
        "url": reverse("wagtail_flows_templates:use", args=[template.slug]),
    }


@permission_required(ADD_FLOW)
def use_template(request, slug):
    template = flow_templates.TEMPLATES.get(slug)
    if template is None:
        raise Http404(_("No such flow template."))
    data = request.POST if request.method == "POST" else None
    form = TemplateSettingsForm(template, request.user, data)
    status = 400 if form.is_bound else 200  # a form shown again after a POST is refused
    if form.is_bound and form.is_valid():
        try:
            flow = flow_templates.create_flow(template, form.cleaned_data, user=request.user)
        except ValidationError as error:
            if isinstance(error, MissingPermission):
                status = 403
            for name, problems in error.message_dict.items():
                form.add_error(name if name in form.fields else None, problems)
        else:
            messages.success(
                request,
                _("Draft flow “%(name)s” created. Publish its emails, then activate it.")
                % {"name": flow.name},
            )
            return redirect(_edit_url(flow))
    return TemplateResponse(
        request,
        "wagtail_flows/flow_templates/use.html",
        {
            "card": _card(template),
            "form": form,
            "page_title": _("New flow: %(title)s") % {"title": template.title},
        },
        status=status,
    )


urlpatterns = [
    path("", gallery, name="gallery"),
    path("<slug:slug>/", use_template, name="use"),
]
