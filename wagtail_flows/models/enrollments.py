"""One contact's run through one flow, and the log of each step it executed."""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from wagtail_flows.vocabulary import OPEN_STATUSES, EnrollmentStatus  # noqa: F401


class Enrollment(models.Model):
    # Operational rows, written often: keep them out of Wagtail's reference index.
    wagtail_reference_index_ignore = True

    flow = models.ForeignKey(
        "wagtail_flows.Flow", on_delete=models.CASCADE, related_name="enrollments"
    )
    contact = models.ForeignKey(
        "wagtail_flows.Contact", on_delete=models.CASCADE, related_name="enrollments"
    )
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=EnrollmentStatus.choices,
        default=EnrollmentStatus.ACTIVE,
    )
    # The StreamField block id of the step to run next ("" = start of the flow).
    current_step = models.CharField(_("current step"), max_length=64, blank=True)
    next_run_at = models.DateTimeField(_("next run"), null=True, blank=True)
    # When the contact started waiting on its current step (wait, wait until, branch).
    waiting_since = models.DateTimeField(_("waiting since"), null=True, blank=True)
    # A worker's lease: claimed enrollments are skipped by others until it expires.
    claimed_until = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=32, blank=True)
    # The steps this contact would run from its current step on (block ids), kept so that
    # when the editor deletes the current step the contact moves to the next surviving one.
    route = models.JSONField(default=list, blank=True)
    # Waiting on a branch's condition ("wait up to"): an event of the contact wakes it.
    wakes_on_event = models.BooleanField(default=False)
    # Set on resume when the flow skips overdue emails: sends are skipped until the next wait.
    skip_overdue_sends = models.BooleanField(default=False)
    # Why its send step is holding an email now (vocabulary.HoldReason); "" when it is not.
    held_reason = models.CharField(max_length=32, blank=True)
    context = models.JSONField(_("context"), default=dict, blank=True)
    trigger_event = models.ForeignKey(
        "wagtail_flows.Event",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    exit_reason = models.CharField(_("exit reason"), max_length=255, blank=True)
    enrolled_at = models.DateTimeField(_("enrolled"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("enrollment")
        ordering = ["-enrolled_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["flow", "contact"],
                condition=Q(status__in=["active", "waiting"]),
                name="wagtail_flows_one_open_enrollment",
            )
        ]
        indexes = [
            models.Index(fields=["status", "next_run_at"], name="wf_enrollment_due"),
            models.Index(fields=["flow", "status"], name="wf_enrollment_flow_status"),
            models.Index(fields=["contact", "flow"], name="wf_enrollment_contact_flow"),
            models.Index(
                fields=["contact"],
                condition=Q(wakes_on_event=True),
                name="wf_enrollment_wakes",
            ),
        ]

    def __str__(self):
        return f"{self.contact} in {self.flow}"

    @property
    def is_open(self):
        return self.status in OPEN_STATUSES


class StepRun(models.Model):
    """One step executed for one enrollment. Unique per (enrollment, step, pass)."""

    # Operational rows, written often: keep them out of Wagtail's reference index.
    wagtail_reference_index_ignore = True

    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="step_runs")
    step_id = models.CharField(max_length=64)
    step_type = models.CharField(max_length=32)
    pass_number = models.PositiveIntegerField(default=1)
    outcome = models.CharField(max_length=32, blank=True)
    branch = models.CharField(max_length=64, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("step run")
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["enrollment", "step_id", "pass_number"], name="wagtail_flows_step_once"
            )
        ]
        indexes = [models.Index(fields=["step_id", "outcome"], name="wf_steprun_step")]

    def __str__(self):
        return f"{self.step_type} {self.step_id} ({self.outcome})"
