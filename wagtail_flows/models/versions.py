"""Flow versions with sign-off: a live or paused flow is edited as a draft, and only someone
allowed to activate flows puts the draft live.

Versions are Wagtail revisions (``RevisionMixin``) of the fields an editor sets
(``VERSIONED_FIELDS``); the flow's row is always the published version, the one the engine
runs. ``live_revision`` names the revision the row was last published from; a live or paused
flow whose latest revision is another one has a draft awaiting sign-off. Drafts (status
"draft") are edited in place, each save kept as a revision for history and restore.
"""

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils.translation import gettext_lazy as _
from wagtail.log_actions import log
from wagtail.models import RevisionMixin

from wagtail_flows.vocabulary import FlowStatus

# What a version holds: everything an editor sets. Status, dates of status changes and the
# revision pointers belong to the flow as a whole, never to one version.
VERSIONED_FIELDS = (
    "name",
    "description",
    "kind",
    "triggers",
    "entry_match",
    "entry_conditions",
    "never_enter_if",
    "reentry",
    "reentry_days",
    "steps",
    "goal_match",
    "goal",
    "exit_conditions",
    "starts_at",
    "ends_at",
    "send_window_start",
    "send_window_end",
    "send_weekdays",
    "send_window_timezone",
    "cap_emails",
    "cap_days",
    "on_resume",
    "sunset_months",
    "sunset_flow",
)

PUBLISHED_STATUSES = (FlowStatus.LIVE, FlowStatus.PAUSED)


class FlowVersionsMixin(RevisionMixin):
    live_revision = models.ForeignKey(
        "wagtailcore.Revision",
        related_name="+",
        verbose_name=_("published version"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
    )

    class Meta:
        abstract = True

    @property
    def edits_as_draft(self):
        """Live and paused flows keep running their published version while edited."""
        return self.status in PUBLISHED_STATUSES

    @property
    def has_draft(self):
        return bool(
            self.edits_as_draft
            and self.latest_revision_id
            and self.latest_revision_id != self.live_revision_id
        )

    @property
    def draft_revision(self):
        return self.latest_revision if self.has_draft else None

    def with_content_json(self, content):
        """This flow as a version has it: the versioned fields from the revision, all else
        (status, its dates, the revision pointers) from the flow as it is now."""
        stored = self.from_serializable_data(content, check_fks=False)
        version = self.from_serializable_data(self.serializable_data(), check_fks=False)
        version.pk = self.pk
        version.latest_revision_id = self.latest_revision_id
        version.live_revision_id = self.live_revision_id
        for name in VERSIONED_FIELDS:
            setattr(version, name, getattr(stored, name))
        return version

    def editable_version(self):
        """What the edit form shows: the pending draft, else the flow itself."""
        return self.draft_revision.as_object() if self.has_draft else self

    # --- the changes (the admin checks who may make them) ---------------------------------

    def save_draft(self, user=None, previous_revision=None):
        """Keep this object's fields as the flow's draft; the row (the published version)
        is left as it is. ``self`` is an edited copy, e.g. ``editable_version()``."""
        action = "wagtail_flows.restore" if previous_revision else "wagtail_flows.save_draft"
        if not self.live_revision_id:
            # A flow that went live before versions existed: keep what runs as its first
            # published version, so the draft has something to be compared with and undone to.
            published = type(self).objects.get(pk=self.pk)
            self.live_revision = published.record_published_version()
        return self.save_revision(
            user=user,
            log_action=action,
            previous_revision=previous_revision,
            clean=False,  # the edit form has validated it
        )

    def publish(self, revision, user=None):
        """Put ``revision`` live: the flow's row takes its fields, and runs in progress go on
        by step block id. Refused when the draft changed since it was reviewed."""
        with transaction.atomic():
            flow = type(self).objects.select_for_update().get(pk=self.pk)
            if flow.latest_revision_id != revision.pk or not flow.has_draft:
                raise ValidationError(
                    _("The draft changed since it was reviewed: review it again.")
                )
            version = revision.as_object()
            for name in VERSIONED_FIELDS:
                setattr(flow, name, getattr(version, name))
            flow.full_clean()  # a live or paused flow must stay activatable
            flow.live_revision = revision
            flow.save()
            log(flow, "wagtail_flows.publish", user=user, revision=revision)
        self.refresh_from_db()
        return flow

    def discard_draft(self, user=None):
        """Forget the pending draft (it stays in the history); the flow is the published
        version again."""
        if not self.has_draft:
            return False
        with transaction.atomic():
            type(self).objects.filter(pk=self.pk).update(latest_revision=self.live_revision_id)
            log(self, "wagtail_flows.discard_draft", user=user, revision=self.latest_revision)
        self.refresh_from_db()
        return True

    def restore(self, revision, user=None):
        """Bring back an earlier version: as a draft awaiting sign-off for a live or paused
        flow, in place for a draft flow."""
        version = revision.as_object()
        version.full_clean()
        with transaction.atomic():
            if self.edits_as_draft:
                new = version.save_draft(user=user, previous_revision=revision)
            else:
                version.save()
                new = version.save_revision(
                    user=user, log_action="wagtail_flows.restore", previous_revision=revision
                )
        self.refresh_from_db()
        return new

    def record_published_version(self, user=None):
        """On activation: the flow as it goes live is its first published version."""
        revision = self.save_revision(user=user, clean=False)
        type(self).objects.filter(pk=self.pk).update(live_revision=revision)
        self.live_revision = revision
        return revision


VERSION_LOG_ACTIONS = (
    ("save_draft", _("Save draft"), _("Saved a draft of the live flow")),
    ("publish", _("Publish draft"), _("Published the draft: it is the version that runs")),
    ("discard_draft", _("Discard draft"), _("Discarded the draft")),
    ("restore", _("Restore version"), _("Restored an earlier version")),
)
