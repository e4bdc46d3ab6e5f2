"""One email to one contact: the key for tracking and unsubscribe links."""

from django.db import models
from django.db.models import Count, F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from wagtail_flows.vocabulary import MessageStatus  # noqa: F401


class Message(models.Model):
    # Operational rows, written often: keep them out of Wagtail's reference index.
    wagtail_reference_index_ignore = True

    contact = models.ForeignKey(
        "wagtail_flows.Contact", on_delete=models.CASCADE, related_name="messages"
    )
    enrollment = models.ForeignKey(
        "wagtail_flows.Enrollment",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="messages",
    )
    flow = models.ForeignKey(
        "wagtail_flows.Flow",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="messages",
    )
    step_id = models.CharField(max_length=64, blank=True)
    pass_number = models.PositiveIntegerField(default=1)
    page = models.ForeignKey(
        "wagtail_flows.EmailPage",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="messages",
    )
    revision = models.ForeignKey(
        "wagtailcore.Revision",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Set on a consent confirmation email (double opt-in): delivery renders it as one.
    consent = models.ForeignKey(
        "wagtail_flows.ConsentRecord",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="messages",
    )
    to_email = models.EmailField(max_length=254)
    subject = models.CharField(max_length=998, blank=True)
    subject_override = models.CharField(max_length=255, blank=True)
    status = models.CharField(
        max_length=16, choices=MessageStatus.choices, default=MessageStatus.QUEUED
    )
    transactional = models.BooleanField(default=False)
    # Absolute URLs of the tracked links, in order; a click names an index into this list.
    links = models.JSONField(default=list, blank=True)
    message_id = models.CharField(max_length=255, blank=True)
    error = models.TextField(blank=True)
    opens = models.PositiveIntegerField(default=0)
    clicks = models.PositiveIntegerField(default=0)
    first_opened_at = models.DateTimeField(null=True, blank=True)
    first_clicked_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    # The mail provider's feedback on this message (docs/deliverability.md: the brake).
    bounced_at = models.DateTimeField(null=True, blank=True)
    complained_at = models.DateTimeField(null=True, blank=True)
    paced_at = models.DateTimeField(null=True, blank=True)  # first held back by the pace
    # What held the send step before this message was made (vocabulary.HoldReason), if any.
    held_reason = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    send_after = models.DateTimeField(null=True, blank=True)
    # When a worker claimed it (queued → sending); a claim older than the sending lease
    # means the worker died mid-send: the outcome is unknown and it is never resent.
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("message")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["enrollment", "step_id", "pass_number"],
                condition=Q(enrollment__isnull=False),
                name="wagtail_flows_message_once",
            )
        ]
        indexes = [
            models.Index(fields=["status", "created_at"], name="wf_message_status"),
            models.Index(fields=["contact", "sent_at"], name="wf_message_contact_sent"),
            models.Index(fields=["flow", "step_id"], name="wf_message_flow_step"),
        ]

    def __str__(self):
        return f"{self.subject or self.page} → {self.to_email}"

    def count_open(self, at):
        """One more open; the first one dates the contact's open (``opened_email``)."""
        Message.objects.filter(pk=self.pk).update(
            opens=F("opens") + 1, first_opened_at=Coalesce("first_opened_at", at)
        )

    def count_click(self, at):
        """One more click; the first one dates the contact's click (``clicked_email``)."""
        Message.objects.filter(pk=self.pk).update(
            clicks=F("clicks") + 1, first_clicked_at=Coalesce("first_clicked_at", at)
        )


def revision_stats(page):
    """One row per revision the page's messages were rendered from, newest first."""
    from wagtail.models import Revision

    if not page or not page.pk:
        return []
    rows = list(
        Message.objects.filter(page_id=page.pk)
        .values("revision_id")
        .annotate(
            sent=Count("pk", filter=Q(status=MessageStatus.SENT)),
            opened=Count("pk", filter=Q(first_opened_at__isnull=False)),
            clicked=Count("pk", filter=Q(first_clicked_at__isnull=False)),
            unsubscribed=Count("pk", filter=Q(unsubscribed_at__isnull=False)),
            not_sent=Count(
                "pk",
                filter=Q(
                    status__in=[
                        MessageStatus.FAILED,
                        MessageStatus.SUPPRESSED,
                        MessageStatus.UNKNOWN,
                    ]
                ),
            ),
        )
        .order_by("-revision_id")
    )
    created = dict(
        Revision.objects.filter(pk__in=[r["revision_id"] for r in rows]).values_list(
            "pk", "created_at"
        )
    )
    for row in rows:
        row["created_at"] = created.get(row["revision_id"])
        row["open_rate"] = _rate(row["opened"], row["sent"])
        row["click_rate"] = _rate(row["clicked"], row["sent"])
    return rows


def _rate(part, whole):
    return round(100 * part / whole) if whole else 0
