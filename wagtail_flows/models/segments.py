"""Segments: saved conditions, evaluated in the database."""

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from wagtail.fields import StreamField

from wagtail_flows.flows import conditions, validation
from wagtail_flows.flows.blocks import ConditionsBlock
from wagtail_flows.flows.conditions import to_q
from wagtail_flows.models.contacts import Contact
from wagtail_flows.vocabulary import Match


class Segment(models.Model):
    """Saved conditions, evaluated in the database."""

    name = models.CharField(_("name"), max_length=255, unique=True)
    match = models.CharField(
        _("contacts must match"), max_length=8, choices=Match.choices, default=Match.ALL
    )
    conditions = StreamField(ConditionsBlock(), blank=True, verbose_name=_("conditions"))
    created_at = models.DateTimeField(default=timezone.now)
    # When the sweep last stored who is in it (SegmentMember), for "enters/leaves a segment"
    # triggers; null until a live flow first listens to the segment.
    members_synced_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        ordering = ["name"]

    def __str__(self):
        return self.name

    def contacts(self, now=None):
        """The contacts matching the segment's conditions, filtered in the database."""
        return Contact.objects.filter(to_q(self.conditions, match=self.match, now=now))

    def count(self, now=None):
        return conditions.count(self.conditions, match=self.match, now=now)

    def clean(self):
        super().clean()
        errors = validation.conditions_errors(self.conditions, "conditions")
        if errors:
            raise ValidationError(errors)


class SegmentMember(models.Model):
    """Who was in a segment at the sweep's last look: entering and leaving are the changes."""

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="members")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="segments_in")
    entered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("segment member")
        verbose_name_plural = _("segment members")
        constraints = [
            models.UniqueConstraint(fields=["segment", "contact"], name="unique_segment_member")
        ]

    def __str__(self):
        return f"{self.contact_id} in {self.segment_id}"
