"""The words the models, blocks and views share: every choice list of wagtail-flows.

A leaf: it imports nothing of ours, so flow blocks (below the models) and the models can both
use it. The models re-export their own choices (``from wagtail_flows.models.contacts import
EventKind`` keeps working).
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class ContactStatus(models.TextChoices):
    SUBSCRIBED = "subscribed", _("Subscribed")
    # No marketing consent yet: never asked, or asked and not confirmed (double opt-in).
    PENDING = "pending", _("Pending")
    UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")
    BOUNCED = "bounced", _("Bounced")
    COMPLAINED = "complained", _("Complained")


class ConsentMethod(models.TextChoices):
    """How a contact's marketing consent was given (``ConsentRecord.method``)."""

    DOUBLE_OPT_IN = "double_opt_in", _("Confirmed by email (double opt-in)")
    SINGLE_OPT_IN = "single_opt_in", _("Ticked on a form (single opt-in)")
    IMPORTED = "imported", _("Imported with a stated basis")


class Stage(models.TextChoices):
    SUBSCRIBER = "subscriber", _("Subscriber")
    LEAD = "lead", _("Lead")
    MQL = "mql", _("Marketing qualified lead")
    SQL = "sql", _("Sales qualified lead")
    CUSTOMER = "customer", _("Customer")
    EVANGELIST = "evangelist", _("Evangelist")


class EventKind(models.TextChoices):
    PAGE_VIEWED = "page_viewed", _("Page viewed")
    DOCUMENT_DOWNLOADED = "document_downloaded", _("Document downloaded")
    FORM_SUBMITTED = "form_submitted", _("Form submitted")
    ORDER_PLACED = "order_placed", _("Order placed")
    CART_UPDATED = "cart_updated", _("Cart updated")
    CART_ABANDONED = "cart_abandoned", _("Cart abandoned")
    EMAIL_SENT = "email_sent", _("Email sent")
    EMAIL_OPENED = "email_opened", _("Email opened")
    LINK_CLICKED = "link_clicked", _("Link clicked")
    UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")
    LIST_JOINED = "list_joined", _("List joined")
    LIST_LEFT = "list_left", _("List left")
    STAGE_CHANGED = "stage_changed", _("Stage changed")
    SCORE_CHANGED = "score_changed", _("Score changed")
    TAG_ADDED = "tag_added", _("Tag added")
    TAG_REMOVED = "tag_removed", _("Tag removed")
    GRADE_CHANGED = "grade_changed", _("Grade changed")
    PROPERTY_CHANGED = "property_changed", _("Property changed")
    CUSTOM = "custom", _("Custom")


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


class HoldReason(models.TextChoices):
    """Why a send step held an email before creating it (``Message.held_reason``)."""

    SEND_WINDOW = "send_window", _("the flow's send window")
    QUIET_HOURS = "quiet_hours", _("quiet hours")
    FREQUENCY_CAP = "frequency_cap", _("the site's frequency cap")
    FLOW_CAP = "flow_cap", _("the flow's frequency cap")


class EnrollmentStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    WAITING = "waiting", _("Waiting")
    COMPLETED = "completed", _("Completed")
    CONVERTED = "converted", _("Converted")
    EXITED = "exited", _("Exited")
    FAILED = "failed", _("Failed")


OPEN_STATUSES = (EnrollmentStatus.ACTIVE, EnrollmentStatus.WAITING)


class MessageStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    UNKNOWN = "unknown", _("Outcome unknown")
    SUPPRESSED = "suppressed", _("Not sent: no consent")


class JobStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


class Repeat(models.TextChoices):
    """How a scheduled enrollment repeats (``EnrollmentJob.repeat``)."""

    ONCE = "", _("Once")
    WEEKLY = "weekly", _("Every week")
    MONTHLY = "monthly", _("Every month")


class PropertyType(models.TextChoices):
    """The type of a contact property defined in the admin (``ContactProperty``)."""

    TEXT = "text", _("Text")
    NUMBER = "number", _("Number")
    DATE = "date", _("Date")
    BOOLEAN = "boolean", _("Yes / no")
    CHOICE = "choice", _("Choice")


class Grade(models.TextChoices):
    """Lead grades from score bands (Settings › Lead scoring)."""

    A = "A", _("A")
    B = "B", _("B")
    C = "C", _("C")
    D = "D", _("D")


class ImportStatus(models.TextChoices):
    UPLOADED = "uploaded", _("Uploaded: map the columns")
    CHECKING = "checking", _("Checking the rows")
    HAS_ERRORS = "has_errors", _("Stopped: some rows have errors")
    IMPORTING = "importing", _("Importing")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


class ImportConsent(models.TextChoices):
    """What an import does with the consent of the addresses it brings in."""

    CONFIRM = (
        "confirm",
        _("No consent stated: each new address is asked to confirm (double opt-in email)"),
    )
    NONE = "none", _("No consent: import as pending and send nothing")
    STATED = "stated", _("They consented elsewhere: import as subscribed on the basis below")


class ImportExisting(models.TextChoices):
    UPDATE = "update", _("Update them with the file's values")
    SKIP = "skip", _("Leave them as they are")


class DecayMode(models.TextChoices):
    OFF = "off", _("No decay")
    POINTS = "points", _("Lose points after a period of inactivity")
    PERCENT = "percent", _("Lose a percentage every month")
