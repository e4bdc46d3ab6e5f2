"""The flow editor's live diagram: the form as it stands, drawn before it is saved.

The editor's script POSTs the whole edit form here as the marketer adds, moves, changes or
removes blocks. The form is the edit view's own class, so StreamField data is read exactly
as on save; the flow it builds is never saved. A block that does not clean yet is drawn from
what it holds, and the activation check's errors are marked on their nodes.
"""

from functools import cache

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from wagtail.blocks import (
    CharBlock,
    EmailBlock,
    ListBlock,
    RegexBlock,
    StreamBlock,
    StructBlock,
    TextBlock,
    URLBlock,
)
from wagtail.blocks.list_block import ListValue
from wagtail.blocks.stream_block import StreamValue
from wagtail.fields import StreamField

from wagtail_flows.admin.common import forbidden
from wagtail_flows.admin.forms import FLOW_EDIT_HANDLER
from wagtail_flows.flows.validation import errors_by_block
from wagtail_flows.models import Flow
from wagtail_flows.reports.diagram import flow_diagram

ADD_PERMISSION = "wagtail_flows.add_flow"
EDIT_PERMISSION = "wagtail_flows.change_flow"
NEEDS_EDIT = gettext_lazy("Only users allowed to edit flows can draw their changes.")
NEEDS_ADD = gettext_lazy("Only users allowed to add flows can draw a new one.")
DIAGRAM_TEMPLATE = "wagtail_flows/admin/panels/flow_diagram.html"
# Text keeps what was typed when it does not clean (too long, a bad address): the drawing
# still reads it. Other values that do not clean are drawn as not set.
TEXT_BLOCKS = (CharBlock, TextBlock, RegexBlock, URLBlock, EmailBlock)
# What reading a malformed StreamField post raises inside Wagtail (a missing count, a
# non-numeric order, an unknown block type).
UNREADABLE = (KeyError, ValueError, TypeError, IndexError, AttributeError)


@cache
def flow_form_class():
    return FLOW_EDIT_HANDLER.bind_to_model(Flow).get_form_class()


def editor_diagram(form):
    """The drawing of the flow in ``form``: bound, what it holds; unbound, its instance."""
    flow = form.instance
    if form.is_bound:
        flow = flow_from_form(form)
    return flow_diagram(flow, errors=errors_by_block(flow), editor=True)


def flow_from_form(form):
    """The unsaved flow ``form`` describes: cleaned values where they clean, else (for a
    StreamField) its blocks cleaned one by one, keeping what each holds."""
    form.is_valid()  # builds form.instance from the fields that clean
    flow = form.instance
    for name, field in form.fields.items():
        model_field = _stream_field(flow, name)
        if model_field is None or name in form.cleaned_data:
            continue
        raw = field.widget.value_from_datadict(form.data, form.files, form.add_prefix(name))
        setattr(flow, name, lenient(model_field.stream_block, raw))
    return flow


def _stream_field(flow, name):
    try:
        field = flow._meta.get_field(name)
    except FieldDoesNotExist:  # a form-only field
        return None
    return field if isinstance(field, StreamField) else None


def lenient(block, value):
    """``block.clean(value)`` part by part: each leaf that fails keeps its text, or None."""
    if isinstance(block, StreamBlock):
        children = [
            (child.block_type, lenient(child.block, child.value), child.id)
            for child in value or ()
        ]
        return StreamValue(block, children)
    if isinstance(block, StructBlock):
        items = [
            (name, lenient(child, _get(value, name))) for name, child in block.child_blocks.items()
        ]
        return block._to_struct_value(items)
    if isinstance(block, ListBlock):
        children = [
            ListValue.ListChild(
                block.child_block, lenient(block.child_block, item.value), id=item.id
            )
            for item in _bound_items(value)
        ]
        return ListValue(block, bound_blocks=children)
    try:
        return block.clean(value)
    except (ValidationError, *UNREADABLE):
        return value if isinstance(value, str) and isinstance(block, TEXT_BLOCKS) else None


def _get(value, name):
    try:
        return value.get(name)
    except AttributeError:
        return None


def _bound_items(value):
    if isinstance(value, ListValue):
        return value.bound_blocks
    return []


def _allowed(request, pk):
    if pk is None:
        return request.user.has_perm(ADD_PERMISSION), NEEDS_ADD
    return request.user.has_perm(EDIT_PERMISSION), NEEDS_EDIT


@require_POST
def diagram_preview(request, pk=None):
    """The diagram HTML of the posted edit form of flow ``pk`` (or of a new flow)."""
    allowed, needed = _allowed(request, pk)
    if not allowed:
        return forbidden(request, needed)
    # The edit view's instance: a running flow is edited as its draft.
    instance = get_object_or_404(Flow, pk=pk).editable_version() if pk else Flow()
    form = flow_form_class()(request.POST, request.FILES, instance=instance, for_user=request.user)
    try:
        diagram = editor_diagram(form)
    except UNREADABLE:
        return HttpResponseBadRequest("The flow form could not be read.")
    html = render_to_string(DIAGRAM_TEMPLATE, {"diagram": diagram}, request=request)
    return HttpResponse(html)


def preview_url(flow=None):
    if flow is not None and flow.pk:
        return reverse("wagtail_flows_diagram:flow_diagram_preview", args=[flow.pk])
    return reverse("wagtail_flows_diagram:new_flow_diagram_preview")


urlpatterns = [
    path("diagram/preview/", diagram_preview, name="new_flow_diagram_preview"),
    path("<int:pk>/diagram/preview/", diagram_preview, name="flow_diagram_preview"),
]


def admin_urls():
    from django.urls import include

    return [path("flows/", include((urlpatterns, "wagtail_flows_diagram")))]


class LiveDiagramMixin:
    """For the flow edit and create views: the first drawing, and where to ask for the next."""

    def get_context_data(self, form=None, **kwargs):
        if form is None:
            form = self.get_form()
        return super().get_context_data(
            form=form,
            live_diagram=editor_diagram(form),
            diagram_preview_url=preview_url(getattr(self, "instance", None)),
            **kwargs,
        )
