"""Flows: the automations marketers build (their steps are ``wagtail_flows.flows`` blocks)."""

import copy
import uuid
from datetime import timedelta

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.validators import MinValueValidator
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from wagtail.fields import StreamField
from wagtail.log_actions import LogFormatter, log

from wagtail_flows.flows import validation
from wagtail_flows.flows.blocks import ConditionsBlock, StepsBlock, TriggersBlock
from wagtail_flows.flows.kinds import conditions_event_kinds, trigger_event_kinds
from wagtail_flows.models.versions import VERSION_LOG_ACTIONS, FlowVersionsMixin
from wagtail_flows.signals import flow_status_changed
from wagtail_flows.vocabulary import (  # noqa: F401
    FlowKind,
    FlowStatus,
    Match,
    OnResume,
    Reentry,
    WindowTimezone,
)


class Flow(FlowVersionsMixin):
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
    never_enter_if = StreamField(
        ConditionsBlock(),
        blank=True,
        verbose_name=_("never enter if"),
        help_text=_(
            "A contact who meets any of these never enters (checked at entry only; exit "
            "conditions also end a run under way)."
        ),
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
    sunset_months = models.PositiveSmallIntegerField(
        _("skip contacts inactive for months"),
        null=True,
        blank=True,
        help_text=_(
            "Skip this flow's emails to contacts who have not opened or clicked any email for "
            "this many months, as mailbox providers advise. Empty: send to everyone."
        ),
    )
    cap_emails = models.PositiveSmallIntegerField(
        _("at most this many emails from this flow"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text=_(
            "Per contact within the days below, beside the site's own cap. Empty: only the "
            "site's cap. Transactional flows have none."
        ),
    )
    cap_days = models.PositiveSmallIntegerField(
        _("within days"), default=7, validators=[MinValueValidator(1)]
    )
    sunset_flow = models.ForeignKey(
        "self",
        verbose_name=_("offer them this flow"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("A re-engagement flow the skipped contacts enter instead, if it is live."),
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    # Why the flow paused when no person paused it (the deliverability brake), shown until a
    # person resumes it; the brake then counts only messages sent since.
    pause_reason = models.CharField(max_length=500, blank=True)
    # Automatic A/B winners, once per split step: {split block id: {"variant", "metric", "p",
    # "decided_at", "figures"}} (engine/ab_winner.py). Of the flow, not of a version.
    ab_decisions = models.JSONField(default=dict, blank=True, editable=False)
    brake_reset_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("flow")
        verbose_name_plural = _("flows")
        ordering = ["name"]
        permissions = [
            ("activate_flow", "Can activate, pause and resume flows"),
        ]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        update_fields = kwargs.get("update_fields")
        if update_fields is None or "steps" in update_fields:
            # A run is "at" a block id: a nested step given without one (the Python API,
            # raw JSON) would be unreachable, so every step gets one before it is stored.
            raw = self.steps.get_prep_value()
            with_ids = _fresh_ids(raw, only_missing=True)
            if with_ids != raw:
                self.steps = with_ids
        super().save(*args, **kwargs)

    @property
    def is_live(self):
        return self.status == FlowStatus.LIVE

    def open_for_entry(self, now):
        """Live, and within its start and end dates: new contacts may enter."""
        if not self.is_live or (self.starts_at and now < self.starts_at):
            return False
        return not (self.ends_at and now >= self.ends_at)

    def kept_out_by_reentry(self, now):
        """A condition over contacts: whom the re-entry policy keeps out now (None when
        nobody: ``always`` restarts an open run instead)."""
        from wagtail_flows.models.enrollments import OPEN_STATUSES, Enrollment

        runs = Enrollment.objects.filter(flow=self, contact=models.OuterRef("pk"))
        has_open = models.Q(models.Exists(runs.filter(status__in=OPEN_STATUSES)))
        if self.reentry == Reentry.ALWAYS:
            return None
        if self.reentry == Reentry.AFTER_EXIT:
            return has_open
        if self.reentry == Reentry.AFTER_DAYS:
            recent = now - timedelta(days=self.reentry_days or 0)
            return has_open | models.Q(models.Exists(runs.filter(enrolled_at__gt=recent)))
        return models.Q(models.Exists(runs))  # never

    # --- validation ----------------------------------------------------------------------

    def clean(self):
        """Drafts may be incomplete; a live or paused flow must stay activatable."""
        super().clean()
        if self.status in (FlowStatus.LIVE, FlowStatus.PAUSED):
            errors = validation.activation_errors(self)
        else:
            errors = validation.settings_errors(self)
        if errors:
            raise ValidationError(errors)

    def full_clean(self, exclude=None, **kwargs):
        # A form without one of the fields clean() names would crash on the error; show it
        # at the top of the form instead.
        try:
            super().full_clean(exclude=exclude, **kwargs)
        except ValidationError as error:
            if not exclude or not hasattr(error, "error_dict"):
                raise
            remapped = {}
            for field, errors in error.error_dict.items():
                key = NON_FIELD_ERRORS if field in exclude else field
                remapped.setdefault(key, []).extend(errors)
            raise ValidationError(remapped) from error

    def validate_for_activation(self):
        """Raise ``ValidationError({field: error})`` naming each block and field at fault."""
        validation.validate_for_activation(self)

    # --- status changes (audit-logged, signalled) ----------------------------------------

    def activate(self, user=None):
        self.validate_for_activation()
        with transaction.atomic():
            self._change_status(FlowStatus.LIVE, "activate", user, {FlowStatus.DRAFT})
            self.record_published_version(user)
        return True

    def pause(self, user=None, reason=""):
        extra = {"pause_reason": reason[:500]}
        return self._change_status(FlowStatus.PAUSED, "pause", user, {FlowStatus.LIVE}, extra)

    def resume(self, user=None):
        self.validate_for_activation()
        extra = {"pause_reason": ""}
        if self.pause_reason:
            extra["brake_reset_at"] = timezone.now()
        return self._change_status(FlowStatus.LIVE, "resume", user, {FlowStatus.PAUSED}, extra)

    def archive(self, user=None):
        allowed = {FlowStatus.DRAFT, FlowStatus.LIVE, FlowStatus.PAUSED}
        return self._change_status(FlowStatus.ARCHIVED, "archive", user, allowed)

    def _change_status(self, new, action, user, allowed_from, extra=None):
        old = self.status
        if old not in allowed_from:
            label = FlowStatus(old).label.lower()
            message = _("A %(old)s flow cannot %(action)s.") % {"old": label, "action": action}
            raise ValidationError({"status": message})
        now = timezone.now()
        values = {"status": new, "updated_at": now}
        if action in ("activate", "resume"):
            values["activated_at"] = now if action == "activate" else self.activated_at
            values["paused_at"] = None
        elif action == "pause":
            values["paused_at"] = now
        values.update(extra or {})
        with transaction.atomic():
            # Compare-and-set: of two people pressing "pause" at once, one changes it.
            if not Flow.objects.filter(pk=self.pk, status=old).update(**values):
                raise ValidationError({"status": _("The flow's status changed meanwhile.")})
            for name, value in values.items():
                setattr(self, name, value)
            data = {"old": old, "new": new}
            if values.get("pause_reason"):
                data["reason"] = values["pause_reason"]
            log(self, f"wagtail_flows.{action}", user=user, data=data)
            flow_status_changed.send(sender=Flow, flow=self, old=old, new=new, user=user)
        return True

    def duplicate(self, user=None):
        """A new draft copy. Its blocks get fresh ids, so per-step statistics (StepRun,
        Message by step id) of the copy never mix with the original's."""
        copy_ = Flow(name=_("Copy of %(name)s") % {"name": self.name})
        skip = {"id", "name", "status", "created_at", "updated_at", "activated_at", "paused_at"}
        skip |= {"latest_revision", "live_revision", "pause_reason", "brake_reset_at"}
        for field in self._meta.concrete_fields:
            if field.name in skip:
                continue
            value = getattr(self, field.name)
            if isinstance(field, StreamField):
                value = _fresh_ids(copy.deepcopy(value.get_prep_value()))
            setattr(copy_, field.name, copy.deepcopy(value))
        with transaction.atomic():
            copy_.save()
            log(
                copy_,
                "wagtail_flows.duplicate",
                user=user,
                data={"source": self.pk, "source_name": self.name},
            )
            flow_status_changed.send(
                sender=Flow, flow=copy_, old=None, new=FlowStatus.DRAFT, user=user
            )
        return copy_

    # --- what the engine listens to ------------------------------------------------------

    def trigger_kinds(self):
        """Event kinds that can start this flow (sweep and manual triggers listen to none)."""
        kinds = set()
        for child in self.triggers:
            kinds |= trigger_event_kinds(child.block_type)
        return kinds

    def listened_kinds(self):
        """Event kinds this flow reacts to: its triggers, goal and exit conditions."""
        return (
            self.trigger_kinds()
            | conditions_event_kinds(self.goal)
            | conditions_event_kinds(self.exit_conditions)
        )


def _fresh_ids(data, only_missing=False):
    """Give every stream child and list item in raw stream JSON a new uuid (or only those
    without one)."""
    if isinstance(data, list):
        return [_fresh_ids(item, only_missing) for item in data]
    if isinstance(data, dict):
        fresh = {key: _fresh_ids(value, only_missing) for key, value in data.items()}
        if {"type", "value"} <= fresh.keys() and not (only_missing and fresh.get("id")):
            fresh["id"] = str(uuid.uuid4())
        return fresh
    return data


FLOW_LOG_ACTIONS = (
    ("activate", _("Activate flow"), _("Activated the flow")),
    ("pause", _("Pause flow"), _("Paused the flow")),
    ("resume", _("Resume flow"), _("Resumed the flow")),
    ("archive", _("Archive flow"), _("Archived the flow")),
    ("duplicate", _("Duplicate flow"), _("Created as a copy of another flow")),
    ("ab_winner", _("Pick A/B winner"), _("Picked the winner of an A/B split")),
)


class StatusChangeFormatter(LogFormatter):
    """A pause the brake made says why in the history's comment column."""

    def format_comment(self, log_entry):
        return (log_entry.data or {}).get("reason", "")


def register_flow_log_actions(actions):
    """The ``register_log_actions`` hook (registered in hooks.py)."""
    for name, label, message in (*FLOW_LOG_ACTIONS, *VERSION_LOG_ACTIONS):
        formatter = type(
            "_Formatter", (StatusChangeFormatter,), {"label": label, "message": message}
        )
        actions.register_action(f"wagtail_flows.{name}")(formatter)
