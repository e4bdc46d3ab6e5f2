"""Background work the marketer starts and watches: enrolling an audience into a flow."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from wagtail_flows.vocabulary import JobStatus, Repeat  # noqa: F401


class EnrollmentJob(models.Model):
    """A manual enrollment of a list, a segment or chosen contacts, done in batches: now, or
    at ``scheduled_at`` (a broadcast), once or repeating from ``repeat_anchor`` — each
    occurrence is a job of its own, made by the sweep when the previous one starts.

    ``cursor`` is the highest contact id handled so far: a batch that is delivered twice, or
    resumed after a crash, starts from it and never skips nor repeats a contact.
    """

    flow = models.ForeignKey(
        "wagtail_flows.Flow", on_delete=models.CASCADE, related_name="enrollment_jobs"
    )
    contact_list = models.ForeignKey(
        "wagtail_flows.ContactList",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("list"),
    )
    segment = models.ForeignKey(
        "wagtail_flows.Segment",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("segment"),
    )
    contact_ids = models.JSONField(_("chosen contacts"), default=list, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED
    )
    total = models.PositiveIntegerField(_("contacts"), default=0)
    done = models.PositiveIntegerField(_("handled"), default=0)
    enrolled = models.PositiveIntegerField(_("enrolled"), default=0)
    cursor = models.BigIntegerField(default=0)
    error = models.TextField(_("error"), blank=True)
    scheduled_at = models.DateTimeField(_("scheduled for"), null=True, blank=True)
    repeat = models.CharField(
        _("repeat"), max_length=16, choices=Repeat.choices, default=Repeat.ONCE, blank=True
    )
    # The first occurrence of a repeating schedule: monthly repeats keep its day of month.
    repeat_anchor = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("started"), default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("enrollment job")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "updated_at"], name="wf_job_status")]

    def __str__(self):
        return f"{self.audience_label} → {self.flow}"

    @property
    def audience_label(self):
        if self.contact_list_id:
            return _("List “%s”") % self.contact_list
        if self.segment_id:
            return _("Segment “%s”") % self.segment
        return _("%d chosen contacts") % len(self.contact_ids)

    @property
    def percent(self):
        if self.status == JobStatus.DONE or not self.total:
            return 100 if self.status == JobStatus.DONE else 0
        return min(100, int(self.done * 100 / self.total))

    @property
    def skipped(self):
        """Contacts handled but not enrolled (already in the flow, re-entry, conditions)."""
        return self.done - self.enrolled
