"""Contact imports from CSV and XLSX: the uploaded file, the marketer's choices, the progress.

The file's bytes are kept in the database (not in MEDIA, which a web server may serve to
anyone) only until the import ends. Every bad row is one ``ImportProblem`` (line, column,
reason). A file with problems changes nothing unless ``import_valid_rows`` is chosen.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from wagtail_flows.vocabulary import ImportConsent, ImportExisting, ImportStatus


class ContactImport(models.Model):
    original_name = models.CharField(_("file"), max_length=255)
    content = models.BinaryField(_("file content"), null=True, blank=True, editable=False)
    size = models.PositiveIntegerField(_("size (bytes)"), default=0)
    # The file's header row, and per column name the target: "email", "first_name",
    # "last_name", "full_name", "source", "timezone", "tags", "property:<key>" or "ignore".
    columns = models.JSONField(_("columns"), default=list, blank=True)
    mapping = models.JSONField(_("column mapping"), default=dict, blank=True)
    consent = models.CharField(
        _("consent"), max_length=16, choices=ImportConsent.choices, default=ImportConsent.CONFIRM
    )
    consent_basis = models.TextField(
        _("basis of consent"),
        blank=True,
        help_text=_(
            "Where and when these people agreed to receive your emails (kept as the proof "
            "of each contact's consent), e.g. “Signed up at our stand, Expo 2026, paper form”."
        ),
    )
    existing = models.CharField(
        _("addresses already in your contacts"),
        max_length=16,
        choices=ImportExisting.choices,
        default=ImportExisting.UPDATE,
    )
    contact_list = models.ForeignKey(
        "wagtail_flows.ContactList",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("add them to the list"),
    )
    import_valid_rows = models.BooleanField(_("import the valid rows"), default=False)
    status = models.CharField(
        _("status"), max_length=16, choices=ImportStatus.choices, default=ImportStatus.UPLOADED
    )
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    checked_rows = models.PositiveIntegerField(_("rows checked"), default=0)
    # The last data line (1 = the header) handled by the import; a resumed job starts after it.
    cursor = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(_("new contacts"), default=0)
    updated_count = models.PositiveIntegerField(_("updated contacts"), default=0)
    skipped_count = models.PositiveIntegerField(_("skipped rows"), default=0)
    problem_count = models.PositiveIntegerField(_("rows with errors"), default=0)
    error = models.TextField(_("error"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("uploaded"), default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("contact import")
        verbose_name_plural = _("contact imports")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "updated_at"], name="wf_import_status")]

    def __str__(self):
        return self.original_name


class ImportProblem(models.Model):
    """One bad value of one row: where it is and why it was refused."""

    contact_import = models.ForeignKey(
        ContactImport, on_delete=models.CASCADE, related_name="problems"
    )
    line = models.PositiveIntegerField(_("line"))
    column = models.CharField(_("column"), max_length=255, blank=True)
    reason = models.CharField(_("reason"), max_length=255)

    class Meta:
        verbose_name = _("import problem")
        ordering = ["line", "pk"]
        indexes = [models.Index(fields=["contact_import", "line"], name="wf_importproblem_line")]

    def __str__(self):
        return f"line {self.line}, {self.column}: {self.reason}"
