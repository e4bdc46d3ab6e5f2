"""Lead scoring: rules that give points for events, decay, and grades from score bands.

A ``ScoringRule`` gives (or takes) points when a contact's event matches it, at most
``cap_points`` in any ``cap_days``. ``ScoringSettings`` (Settings › Lead scoring) holds the
decay and the score bands of the grades A–D; ``Contact.grade`` is kept from them.
"""

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from wagtail.contrib.settings.models import BaseGenericSetting
from wagtail.documents import get_document_model_string

from wagtail_flows.models.base import PAGE_MODEL
from wagtail_flows.vocabulary import DecayMode, EventKind

# The events a rule may score.
SCORED_KINDS = [
    (EventKind.PAGE_VIEWED, _("Page viewed")),
    (EventKind.DOCUMENT_DOWNLOADED, _("Document downloaded")),
    (EventKind.FORM_SUBMITTED, _("Form submitted")),
    (EventKind.EMAIL_OPENED, _("Email opened")),
    (EventKind.LINK_CLICKED, _("Email link clicked")),
    (EventKind.ORDER_PLACED, _("Order placed")),
    (EventKind.CUSTOM, _("Custom event")),
]


PAGE_KINDS = (EventKind.PAGE_VIEWED, EventKind.FORM_SUBMITTED)


class ScoringRule(models.Model):
    name = models.CharField(_("name"), max_length=255)
    active = models.BooleanField(_("active"), default=True)
    event = models.CharField(_("when a contact…"), max_length=32, choices=SCORED_KINDS)
    page = models.ForeignKey(
        PAGE_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("page"),
        help_text=_(
            "Page viewed: this page (and the pages below it, if ticked). Form "
            "submitted: this form page. Empty: any."
        ),
    )
    include_subpages = models.BooleanField(_("and the pages below it"), default=True)
    document = models.ForeignKey(
        get_document_model_string(),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("document"),
        help_text=_("Document downloaded: this document. Empty: any."),
    )
    custom_name = models.CharField(
        _("custom event name"),
        max_length=100,
        blank=True,
        help_text=_("Custom event: its name as your code tracks it, e.g. demo_requested."),
    )
    points = models.IntegerField(
        _("points"), help_text=_("Points given each time; negative to take points away.")
    )
    cap_points = models.PositiveIntegerField(
        _("at most this many points"),
        null=True,
        blank=True,
        help_text=_("From this rule per contact within the period below. Empty: no cap."),
    )
    cap_days = models.PositiveIntegerField(_("period (days)"), default=30)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("scoring rule")
        verbose_name_plural = _("scoring rules")
        ordering = ["name"]

    def __str__(self):
        return self.name

    def clean(self):
        super().clean()
        if self.points == 0:
            raise ValidationError({"points": _("A rule gives or takes at least one point.")})
        if self.event == EventKind.CUSTOM and not self.custom_name.strip():
            raise ValidationError({"custom_name": _("Name the custom event this rule scores.")})
        if self.cap_points is not None and not self.cap_days:
            raise ValidationError({"cap_days": _("A cap needs a period of at least one day.")})
        if self.page_id is not None and self.event not in PAGE_KINDS:
            raise ValidationError(
                {"page": _("Only “page viewed” and “form submitted” rules name a page.")}
            )
        if self.document_id is not None and self.event != EventKind.DOCUMENT_DOWNLOADED:
            raise ValidationError(
                {"document": _("Only “document downloaded” rules name a document.")}
            )


class ScoringSettings(BaseGenericSetting):
    """Settings › Lead scoring: decay and grade bands (one for the whole installation)."""

    decay = models.CharField(
        _("decay"), max_length=16, choices=DecayMode.choices, default=DecayMode.OFF
    )
    decay_points = models.PositiveIntegerField(
        _("points lost"), default=10, help_text=_("For each period of inactivity below.")
    )
    decay_after_days = models.PositiveIntegerField(
        _("inactivity period (days)"),
        default=30,
        help_text=_("Days without a visit, form, open, click or order."),
    )
    decay_percent = models.PositiveSmallIntegerField(_("percent lost per month"), default=10)
    grade_a = models.IntegerField(_("grade A from score"), default=100)
    grade_b = models.IntegerField(_("grade B from score"), default=50)
    grade_c = models.IntegerField(_("grade C from score"), default=20)

    class Meta:
        verbose_name = _("lead scoring")

    def clean(self):
        super().clean()
        if not self.grade_a > self.grade_b > self.grade_c:
            raise ValidationError(
                {"grade_b": _("Grade bands must fall: A above B above C (D is below C).")}
            )
        if self.decay_percent > 100:
            raise ValidationError({"decay_percent": _("At most 100 percent.")})
        if self.decay == DecayMode.POINTS and not self.decay_after_days:
            raise ValidationError(
                {"decay_after_days": _("Decay needs an inactivity period of at least one day.")}
            )

    def grade_for(self, score):
        if score >= self.grade_a:
            return "A"
        if score >= self.grade_b:
            return "B"
        if score >= self.grade_c:
            return "C"
        return "D"
