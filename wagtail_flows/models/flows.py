"""Flows (the automations marketers build) and saved segments."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from wagtail.fields import StreamField

from wagtail_flows.blocks import ConditionsBlock, StepsBlock, TriggersBlock


class FlowStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    LIVE = "live", _("Live")
    PAUSED = "paused", _("Paused")
    ARCHIVED = "archived", _("Archived")


class Match(models.TextChoices):
    ALL = "all", _("All conditions")
    ANY = "any", _("Any condition")


class Reentry(models.TextChoices):
    NEVER = "never", _("Never: a contact goes through this flow once")
    AFTER_EXIT = "after_exit", _("After their previous run has ended")
    ALWAYS = "always", _("Always: every trigger starts a new run (one open run at a time)")
    AFTER_DAYS = "after_days", _("After a number of days since their last entry")


class FlowKind(models.TextChoices):
    MARKETING = "marketing", _("Marketing")
    TRANSACTIONAL = "transactional", _("Transactional")


class OnResume(models.TextChoices):
    SEND = "send", _("Send overdue emails now")
    SKIP = "skip", _("Skip overdue emails")
    SPREAD = "spread", _("Spread overdue emails over the next hours")


class WindowTimezone(models.TextChoices):
    CONTACT = "contact", _("The contact's time zone")
    SITE = "site", _("The site's time zone")


class Flow(models.Model):
    name = models.CharField(_("name"), max_length=255)
    description = models.TextField(_("description"), blank=True)
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=FlowStatus.choices,
        default=FlowStatus.DRAFT,
        db_index=True,
    )
    triggers = StreamField(
        TriggersBlock(),
        blank=True,
        verbose_name=_("triggers"),
        help_text=_("Any one of these starts a contact's run through the flow."),
    )
    entry_match = models.CharField(
        _("entry conditions must match"), max_length=8, choices=Match.choices, default=Match.ALL
    )
    entry_conditions = StreamField(
        ConditionsBlock(), blank=True, verbose_name=_("entry conditions")
    )
    steps = StreamField(StepsBlock(), blank=True, verbose_name=_("steps"))
    goal_match = models.CharField(
        _("goal conditions must match"), max_length=8, choices=Match.choices, default=Match.ALL
    )
    goal = StreamField(
        ConditionsBlock(),
        blank=True,
        verbose_name=_("goal"),
        help_text=_("When a contact meets the goal, their run ends as converted."),
    )
    exit_conditions = StreamField(
        ConditionsBlock(),
        blank=True,
        verbose_name=_("exit conditions"),
        help_text=_("When any of these is met, the contact's run ends as exited."),
    )
    reentry = models.CharField(
        _("re-entry"), max_length=16, choices=Reentry.choices, default=Reentry.NEVER
    )
    reentry_days = models.PositiveIntegerField(_("re-entry after days"), null=True, blank=True)
    starts_at = models.DateTimeField(_("starts"), null=True, blank=True)
    ends_at = models.DateTimeField(_("ends"), null=True, blank=True)
    send_window_start = models.TimeField(_("send from"), null=True, blank=True)
    send_window_end = models.TimeField(_("send until"), null=True, blank=True)
    send_weekdays = models.JSONField(
        _("send on weekdays"),
        default=list,
        blank=True,
        help_text=_("0 = Monday … 6 = Sunday; empty means every day."),
    )
    send_window_timezone = models.CharField(
        _("send window time zone"),
        max_length=8,
        choices=WindowTimezone.choices,
        default=WindowTimezone.CONTACT,
    )
    kind = models.CharField(
        _("kind"), max_length=16, choices=FlowKind.choices, default=FlowKind.MARKETING
    )
    on_resume = models.CharField(
        _("overdue emails on resume"),
        max_length=8,
        choices=OnResume.choices,
        default=OnResume.SPREAD,
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("flow")
        verbose_name_plural = _("flows")
        ordering = ["name"]
        permissions = [
            ("activate_flow", "Can activate, pause and resume flows"),
        ]

    def __str__(self):
        return self.name

    @property
    def is_live(self):
        return self.status == FlowStatus.LIVE


class Segment(models.Model):
    """Saved conditions, evaluated in the database."""

    name = models.CharField(_("name"), max_length=255, unique=True)
    match = models.CharField(
        _("contacts must match"), max_length=8, choices=Match.choices, default=Match.ALL
    )
    conditions = StreamField(ConditionsBlock(), blank=True, verbose_name=_("conditions"))
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        ordering = ["name"]

    def __str__(self):
        return self.name
