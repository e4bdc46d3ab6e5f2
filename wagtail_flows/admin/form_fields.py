"""Form fields → contact: where each field of one form page goes when someone submits it.

Reached from the form page (a "Form answers" button in its header and listing menu). Each of
the page's form fields gets a target: a contact field (email, first/last name, a full name
split in two, consent), phone or company (kept as properties), a contact property under a
key, or nothing. A page with no saved choices shows the defaults read from its field names.
Who may edit the page may change where its answers go.
"""

from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from wagtail.admin import messages
from wagtail.admin.widgets import Button
from wagtail.models import Page

from wagtail_flows.admin.common import forbidden
from wagtail_flows.models.form_mapping import (
    PROPERTY,
    TARGET_CHOICES,
    FormFieldMapping,
    targets_for,
    validate_targets,
)

TEMPLATE = "wagtail_flows/admin/form_fields.html"
MAX_ROWS = 200


def form_page_for(pk):
    page = get_object_or_404(Page, pk=pk).specific
    if not hasattr(page, "get_form_fields"):
        raise Http404("Not a form page.")
    return page


def may_map(user, page):
    return page.permissions_for_user(user).can_edit()


def mapping_url(page):
    return reverse("wagtail_flows_form_fields", args=[page.pk])


@require_http_methods(["GET", "POST"])
def form_fields_view(request, pk):
    page = form_page_for(pk)
    if not may_map(request.user, page):
        return forbidden(request, _("Only users who may edit this form page can do this."))
    fields = list(page.get_form_fields())
    saved = FormFieldMapping.objects.filter(page_id=page.pk).exists()
    targets, errors = targets_for(page, fields), {}
    if request.method == "POST":
        targets = posted_targets(request.POST)
        try:
            validate_targets(targets, {field.clean_name for field in fields})
        except ValidationError as error:
            errors = error.message_dict
        else:
            FormFieldMapping.objects.update_or_create(
                page_id=page.pk, defaults={"targets": targets, "updated_at": timezone.now()}
            )
            messages.success(
                request, _("Saved: answers of “%(page)s” now go where you chose.") % {"page": page}
            )
            return redirect(mapping_url(page))
    context = {
        "page_title": _("Form answers"),
        "page_subtitle": page.get_admin_display_title(),
        "header_icon": "form",
        "form_page": page,
        "rows": rows(fields, targets, errors),
        "unknown_errors": unknown_errors(errors, fields),
        "has_errors": bool(errors),
        "saved": saved,
        "choices": TARGET_CHOICES,
        "edit_url": reverse("wagtailadmin_pages:edit", args=[page.pk]),
    }
    return TemplateResponse(request, TEMPLATE, context)


def posted_targets(post):
    """{field name: {"target": …, "key": …}} from the rows of the form (field-N, target-N,
    key-N), in the order posted."""
    targets = {}
    for index in range(MAX_ROWS):
        name = (post.get(f"field-{index}") or "").strip()
        if not name:
            continue
        choice = {"target": (post.get(f"target-{index}") or "").strip()}
        if choice["target"] == PROPERTY:
            choice["key"] = (post.get(f"key-{index}") or "").strip()
        targets[name] = choice
    return targets


def rows(fields, targets, errors):
    return [
        {
            "index": index,
            "field": field,
            "target": (targets.get(field.clean_name) or {}).get("target", "ignore"),
            "key": (targets.get(field.clean_name) or {}).get("key", ""),
            "errors": errors.get(field.clean_name, []),
        }
        for index, field in enumerate(fields)
    ]


def unknown_errors(errors, fields):
    """Errors about fields the page does not have (a field removed since, a forged post)."""
    names = {field.clean_name for field in fields}
    return [
        f"“{name}”: {message}"
        for name, items in errors.items()
        if name not in names
        for message in items
    ]


# --- the button on the form page -------------------------------------------------------------


def form_answers_button(page, user, priority):
    if not hasattr(page.specific_class or object, "get_form_fields"):
        return []
    if not may_map(user, page):
        return []
    return [
        Button(
            _("Form answers → contacts"),
            mapping_url(page),
            icon_name="form",
            priority=priority,
            attrs={"data-flows-form-answers": ""},
        )
    ]


urlpatterns = [
    path("flows/form-fields/<int:pk>/", form_fields_view, name="wagtail_flows_form_fields")
]
