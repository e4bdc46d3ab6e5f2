"""Contacts › Import: upload a CSV or XLSX file, map its columns, watch the job.

upload (the file is read and kept on the import, never in MEDIA) → map (a preview of the
first rows, a target per column, consent, existing addresses, list) → the job page (a bar
that follows the background job, the counts, the problems and their CSV). An import
stopped by errors can import its valid rows from the file kept, or be cancelled.

Importing creates contacts: every view needs ``wagtail_flows.add_contact``; updating the
contacts already there also needs ``change_contact`` (without it, they are left as they
are). Anyone else gets a 403.
"""

import csv

from django import forms
from django.core.exceptions import ValidationError
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from wagtail.admin import messages

from wagtail_flows.admin.common import (
    CONTACTS_BASE_URL,
    error_messages,
    forbidden,
    modeladmin_url,
)
from wagtail_flows.conf import flows_settings
from wagtail_flows.engine import import_files as files
from wagtail_flows.engine import imports as importing
from wagtail_flows.models import ContactImport, ContactList, ContactProperty
from wagtail_flows.vocabulary import ImportConsent, ImportExisting, ImportStatus

ADD_PERMISSION = "wagtail_flows.add_contact"
CHANGE_PERMISSION = "wagtail_flows.change_contact"
PROBLEMS_SHOWN = 100
TEMPLATES = "wagtail_flows/admin/imports/"
NAMESPACE = "wagtail_flows_imports"


def url(name, *args):
    return reverse(f"{NAMESPACE}:{name}", args=args)


def may_import(user):
    return user.has_perm(ADD_PERMISSION)


def needs_import_permission(view):
    def wrapped(request, *args, **kwargs):
        if not may_import(request.user):
            return forbidden(request, _("Only users allowed to add contacts can import them."))
        return view(request, *args, **kwargs)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


# --- upload ------------------------------------------------------------------------------------


class UploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("File"),
        help_text=gettext_lazy(
            "A CSV file (comma, semicolon or tab separated; UTF-8 or Windows text) or an "
            "Excel workbook (.xlsx, its first sheet). The first row names the columns; one "
            "contact per row."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.tsv,.xlsx"}),
    )

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.created = None

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = int(flows_settings.IMPORT_MAX_BYTES)
        if upload.size > limit:
            raise ValidationError(
                _("The file is larger than %(mb)s MB.") % {"mb": f"{limit / 1_000_000:.3g}"}
            )
        try:
            self.created, _preview = importing.create_import(
                upload.name, upload.read(), user=self.user
            )
        except ValidationError as error:
            raise ValidationError(error.message_dict.get("file", error.messages)) from None
        return upload


@needs_import_permission
@require_http_methods(["GET", "POST"])
def upload(request):
    form = UploadForm(request.POST or None, request.FILES or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        return redirect(url("map", form.created.pk))
    context = {
        "page_title": _("Import contacts"),
        "header_icon": "upload",
        "form": form,
        "max_mb": f"{int(flows_settings.IMPORT_MAX_BYTES) / 1_000_000:.3g}",
        "imports_url": url("index"),
        "contacts_url": modeladmin_url(CONTACTS_BASE_URL, "index"),
    }
    status = 400 if request.method == "POST" else 200
    return TemplateResponse(request, TEMPLATES + "upload.html", context, status=status)


# --- mapping -----------------------------------------------------------------------------------


def target_choices():
    fields = [
        ("ignore", _("Do not import")),
        ("email", _("Email")),
        ("first_name", _("First name")),
        ("last_name", _("Last name")),
        ("full_name", _("Full name (first and last)")),
        ("source", _("Source")),
        ("timezone", _("Time zone")),
        ("tags", _("Tags (separated by commas)")),
    ]
    properties = [
        (files.PROPERTY_PREFIX + p.key, f"{p.label} ({p.get_type_display()})")
        for p in ContactProperty.objects.order_by("label")
    ]
    return [*fields, (_("Contact properties"), properties)] if properties else fields


class MappingForm(forms.Form):
    consent = forms.ChoiceField(
        label=gettext_lazy("Consent to receive your emails"),
        choices=ImportConsent.choices,
        initial=ImportConsent.CONFIRM,
        widget=forms.RadioSelect,
        help_text=gettext_lazy(
            "New contacts are subscribed only if they agreed elsewhere and you say where: "
            "the basis is kept as the proof of each one's consent. Otherwise they are "
            "pending and get no marketing email until they confirm the link we send them."
        ),
    )
    consent_basis = forms.CharField(
        label=gettext_lazy("Basis of consent"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy(
            "Where and when these people agreed to receive your emails, e.g. “Signed up "
            "at our stand, Expo 2026, paper form”. Required when they consented elsewhere."
        ),
    )
    existing = forms.ChoiceField(
        label=gettext_lazy("Addresses already in your contacts"),
        choices=ImportExisting.choices,
        initial=ImportExisting.UPDATE,
        widget=forms.RadioSelect,
        help_text=gettext_lazy(
            "Updating fills in the file's non-empty values; it never changes anyone's "
            "consent, so an unsubscribed address stays unsubscribed."
        ),
    )
    contact_list = forms.ModelChoiceField(
        queryset=ContactList.objects.all(),
        required=False,
        label=gettext_lazy("Add them to the list"),
        help_text=gettext_lazy(
            "Importing does not start the flows that begin when someone joins this list "
            "(a welcome flow would greet everyone at once). To put them in such a flow, "
            "use the flow's “Enroll contacts” with this list afterwards."
        ),
    )
    import_valid_rows = forms.BooleanField(
        required=False,
        label=gettext_lazy("Import the valid rows even if some rows have errors"),
        help_text=gettext_lazy(
            "Unticked, a file with any error changes nothing: you get the list of problems "
            "to fix first."
        ),
    )

    def __init__(self, *args, contact_import, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.contact_import = contact_import
        self.columns = list(contact_import.columns)
        choices = target_choices()
        self.column_fields = []
        for index, column in enumerate(self.columns):
            name = f"column_{index}"
            self.fields[name] = forms.ChoiceField(
                label=column, choices=choices, initial=contact_import.mapping.get(column, "ignore")
            )
            self.column_fields.append(name)
        if not user.has_perm(CHANGE_PERMISSION):
            self.fields["existing"].choices = [(ImportExisting.SKIP, ImportExisting.SKIP.label)]
            self.fields["existing"].initial = ImportExisting.SKIP
            self.fields["existing"].help_text = _(
                "You may add contacts but not change them: addresses already in your "
                "contacts are left as they are."
            )

    def column_boxes(self, preview):
        """Per column: its select and the first values, for the template."""
        return [
            {"field": self[name], "values": [row[index] for row in preview]}
            for index, name in enumerate(self.column_fields)
        ]

    def mapping(self):
        return {
            column: self.cleaned_data[name]
            for column, name in zip(self.columns, self.column_fields, strict=True)
        }

    def clean(self):
        data = super().clean()
        if all(name in data for name in self.column_fields):
            try:
                importing.validate_mapping(self.columns, self.mapping())
            except ValidationError as error:
                for message in error.messages:
                    self.add_error(None, message)
        if (
            data.get("consent") == ImportConsent.STATED
            and not data.get("consent_basis", "").strip()
        ):
            self.add_error(
                "consent_basis",
                _("Say where and when these people agreed: it is kept as their proof."),
            )
        return data


def _import_or_404(pk):
    return get_object_or_404(ContactImport.objects.select_related("contact_list"), pk=pk)


@needs_import_permission
@require_http_methods(["GET", "POST"])
def map_columns(request, pk):
    contact_import = _import_or_404(pk)
    if contact_import.status != ImportStatus.UPLOADED:
        return redirect(url("job", pk))
    form = MappingForm(request.POST or None, contact_import=contact_import, user=request.user)
    if request.method == "POST" and form.is_valid():
        return _start(request, form, contact_import)
    preview = importing.preview_rows(contact_import)
    context = {
        "page_title": _("Map the columns"),
        "page_subtitle": contact_import.original_name,
        "header_icon": "upload",
        "form": form,
        "contact_import": contact_import,
        "columns": form.column_boxes(preview),
        "preview_count": len(preview),
        "cancel_url": url("cancel", pk),
    }
    status = 400 if request.method == "POST" else 200
    return TemplateResponse(request, TEMPLATES + "map.html", context, status=status)


def _start(request, form, contact_import):
    data = form.cleaned_data
    contact_import.mapping = form.mapping()
    contact_import.consent = data["consent"]
    contact_import.consent_basis = data["consent_basis"].strip()
    contact_import.existing = data["existing"]
    contact_import.contact_list = data["contact_list"]
    contact_import.import_valid_rows = data["import_valid_rows"]
    try:
        importing.start_import(contact_import)
    except ValidationError as error:
        for line in error_messages(error):
            messages.error(request, line)
        return redirect(url("map", contact_import.pk))
    return redirect(url("job", contact_import.pk))


# --- the job -----------------------------------------------------------------------------------


def status_data(contact_import):
    return {
        "status": contact_import.status,
        "label": str(contact_import.get_status_display()),
        "percent": importing.progress(contact_import),
        "running": contact_import.status in importing.RUNNING,
        "total": contact_import.total_rows,
        "checked": contact_import.checked_rows,
        "created": contact_import.created_count,
        "updated": contact_import.updated_count,
        "skipped": contact_import.skipped_count,
        "problems": contact_import.problem_count,
    }


@needs_import_permission
@require_GET
def job(request, pk):
    contact_import = _import_or_404(pk)
    if contact_import.status == ImportStatus.UPLOADED:
        return redirect(url("map", pk))
    problems = list(contact_import.problems.all()[:PROBLEMS_SHOWN])
    context = {
        "page_title": _("Import"),
        "page_subtitle": contact_import.original_name,
        "header_icon": "upload",
        "contact_import": contact_import,
        "state": status_data(contact_import),
        "problems": problems,
        "more_problems": contact_import.problems.count() > len(problems),
        "status_url": url("status", pk),
        "problems_url": url("problems", pk),
        "valid_rows_url": url("valid_rows", pk),
        "cancel_url": url("cancel", pk),
        "may_go_on": contact_import.status == ImportStatus.HAS_ERRORS
        and bool(contact_import.content),
        "contacts_url": modeladmin_url(CONTACTS_BASE_URL, "index"),
        "imports_url": url("index"),
    }
    return TemplateResponse(request, TEMPLATES + "job.html", context)


@needs_import_permission
@require_GET
def status(request, pk):
    return JsonResponse(status_data(_import_or_404(pk)))


@needs_import_permission
@require_GET
def problems_csv(request, pk):
    contact_import = _import_or_404(pk)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    stem = contact_import.original_name.rsplit(".", 1)[0][:60] or "contacts"
    response["Content-Disposition"] = f'attachment; filename="{_safe(stem)}-problems.csv"'
    response.write("\ufeff")  # so that Excel reads it as UTF-8
    writer = csv.writer(response)
    writer.writerow([_("Row"), _("Column"), _("Problem")])
    for problem in contact_import.problems.iterator():
        writer.writerow([problem.line, _cell(problem.column), _cell(problem.reason)])
    return response


def _safe(name):
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)


def _cell(value):
    """A spreadsheet runs a cell starting like a formula: quote it (CSV injection)."""
    return f"'{value}" if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


@needs_import_permission
@require_POST
def valid_rows(request, pk):
    contact_import = _import_or_404(pk)
    try:
        importing.import_valid_rows(contact_import)
    except ValidationError as error:
        for line in error_messages(error):
            messages.error(request, line)
    return redirect(url("job", pk))


@needs_import_permission
@require_http_methods(["GET", "POST"])
def cancel(request, pk):
    contact_import = _import_or_404(pk)
    if request.method == "POST":
        if importing.cancel_import(contact_import):
            messages.success(request, _("Import cancelled: the file is deleted."))
        return redirect(url("index"))
    context = {
        "page_title": _("Cancel the import"),
        "page_subtitle": contact_import.original_name,
        "header_icon": "upload",
        "effects": [_("Nothing is imported and the uploaded file is deleted.")],
        "submit_label": _("Cancel the import"),
        "cancel_label": _("Back"),
        "cancel_url": url("job", pk),
        "action_url": url("cancel", pk),
        "serious": True,
    }
    return TemplateResponse(request, "wagtail_flows/admin/confirm.html", context)


@needs_import_permission
@require_GET
def index(request):
    imports = ContactImport.objects.select_related("created_by", "contact_list")[:100]
    context = {
        "page_title": _("Contact imports"),
        "header_icon": "upload",
        "imports": imports,
        "upload_url": url("upload"),
        "contacts_url": modeladmin_url(CONTACTS_BASE_URL, "index"),
    }
    return TemplateResponse(request, TEMPLATES + "index.html", context)


urlpatterns = [
    path("", index, name="index"),
    path("upload/", upload, name="upload"),
    path("<int:pk>/", map_columns, name="map"),
    path("<int:pk>/job/", job, name="job"),
    path("<int:pk>/status/", status, name="status"),
    path("<int:pk>/problems.csv", problems_csv, name="problems"),
    path("<int:pk>/valid-rows/", valid_rows, name="valid_rows"),
    path("<int:pk>/cancel/", cancel, name="cancel"),
]
