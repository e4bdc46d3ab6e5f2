"""Contacts, anonymous visitors, their events, lists and the suppression list."""

import hashlib

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _
from modelcluster.contrib.taggit import ClusterTaggableManager
from modelcluster.fields import ParentalKey
from modelcluster.models import ClusterableModel
from taggit.models import TaggedItemBase

from wagtail_flows.models.events import Event, Visitor, record_event  # noqa: F401
from wagtail_flows.models.listening import scoring
from wagtail_flows.vocabulary import ContactStatus, EventKind, Grade, Stage  # noqa: F401


def normalize_email(email):
    return (email or "").strip().lower()


class TaggedContact(TaggedItemBase):
    # A ParentalKey, as ClusterTaggableManager requires (tags edited in the admin form).
    content_object = ParentalKey(
        "wagtail_flows.Contact", on_delete=models.CASCADE, related_name="tagged_items"
    )


class ContactQuerySet(models.QuerySet):
    def with_email(self, email):
        """Match the address the way the unique index does (an index scan on LOWER(email))."""
        return self.alias(email_lower=Lower("email")).filter(email_lower=normalize_email(email))

    def ids_for_emails(self, addresses):
        """(ids of the contacts with these addresses, the addresses nobody has), matched as
        ``with_email`` matches one; blank addresses are ignored."""
        wanted = {normalize_email(a) for a in addresses} - {""}
        found = dict(
            self.annotate(email_lower=Lower("email"))
            .filter(email_lower__in=wanted)
            .values_list("email_lower", "pk")
        )
        return sorted(found.values()), sorted(wanted - found.keys())

    def inactive_since(self, since):
        """Contacts with no activity since ``since`` (one index range on last_activity_at,
        which starts at the contact's creation)."""
        return self.filter(last_activity_at__lt=since).order_by("last_activity_at", "pk")


class Contact(ClusterableModel):
    """A person we may email. One row per address, compared case-insensitively."""

    email = models.EmailField(_("email"), max_length=254)
    first_name = models.CharField(_("first name"), max_length=150, blank=True)
    last_name = models.CharField(_("last name"), max_length=150, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="flow_contacts",
    )
    status = models.CharField(
        _("consent status"),
        max_length=20,
        choices=ContactStatus.choices,
        default=ContactStatus.PENDING,
        db_index=True,
    )
    stage = models.CharField(
        _("lifecycle stage"),
        max_length=20,
        choices=Stage.choices,
        default=Stage.SUBSCRIBER,
        db_index=True,
    )
    score = models.IntegerField(_("score"), default=0, db_index=True)
    # Kept from the score by Settings › Lead scoring's bands (models/scoring.py).
    grade = models.CharField(
        _("grade"), max_length=1, choices=Grade.choices, default=Grade.D, db_index=True
    )
    # When decay last took points away (the scoring sweep, engine/scoring.py); None: never.
    score_decayed_at = models.DateTimeField(null=True, blank=True, editable=False)
    tags = ClusterTaggableManager(through=TaggedContact, blank=True)
    lists = models.ManyToManyField(
        "wagtail_flows.ContactList",
        through="wagtail_flows.ListMembership",
        blank=True,
        related_name="contacts",
    )
    timezone = models.CharField(_("time zone"), max_length=64, blank=True)
    properties = models.JSONField(_("properties"), default=dict, blank=True)
    source = models.CharField(_("source"), max_length=255, blank=True)
    consent_at = models.DateTimeField(_("consent given at"), null=True, blank=True)
    unsubscribed_at = models.DateTimeField(_("unsubscribed at"), null=True, blank=True)
    # Denormalised activity, kept current by capture; makes inactivity queries index scans.
    last_visit_at = models.DateTimeField(_("last visit"), null=True, blank=True, db_index=True)
    last_form_at = models.DateTimeField(_("last form"), null=True, blank=True, db_index=True)
    last_open_at = models.DateTimeField(_("last open"), null=True, blank=True, db_index=True)
    last_click_at = models.DateTimeField(_("last click"), null=True, blank=True, db_index=True)
    last_order_at = models.DateTimeField(_("last order"), null=True, blank=True, db_index=True)
    # The latest of the dates above (and cart updates), starting at creation (save()):
    # "inactive since T" is one index range.
    last_activity_at = models.DateTimeField(
        _("last activity"), null=True, blank=True, db_index=True
    )
    orders_count = models.PositiveIntegerField(_("orders"), default=0)
    revenue_total = models.DecimalField(_("revenue"), max_digits=12, decimal_places=2, default=0)
    created_at = models.DateTimeField(_("created"), default=now, db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = ContactQuerySet.as_manager()

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="wagtail_flows_contact_email_ci"),
        ]

    def __str__(self):
        name = self.full_name
        return f"{name} <{self.email}>" if name else self.email

    @classmethod
    def from_db(cls, db, field_names, values):
        contact = super().from_db(db, field_names, values)
        contact._loaded_score = contact.__dict__.get("score")
        return contact

    def refresh_from_db(self, *args, **kwargs):
        super().refresh_from_db(*args, **kwargs)
        fields = kwargs.get("fields") or (args[1] if len(args) > 1 else None)
        if fields is None or "score" in fields:
            self._loaded_score = self.__dict__.get("score")

    def save(self, *args, **kwargs):
        self.email = normalize_email(self.email)
        if self.last_activity_at is None:
            self.last_activity_at = self.created_at
        edit = self._score_edit(kwargs.get("update_fields"))
        old_grade = self.grade
        if edit is not None or self._state.adding:
            self.grade = scoring().grade_for(self.score)  # in the same INSERT/UPDATE
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "grade"}
        super().save(*args, **kwargs)
        if edit is not None:
            self._record_score_edit(edit, old_grade)
        self._loaded_score = self.score

    # --- score and grade: every change passes change_score, save() or the scoring sweep ---

    def _score_edit(self, update_fields):
        """The points a save() of a stored contact sets its score by (an admin edit), or
        None when the score was not edited."""
        if self._state.adding or getattr(self, "_loaded_score", None) is None:
            return None
        if update_fields is not None and "score" not in update_fields:
            return None
        delta = int(self.score or 0) - self._loaded_score
        return delta or None

    def _record_score_edit(self, delta, old_grade):
        data = {"delta": delta, "to": self.score, "source": "edit"}
        self._record(EventKind.SCORE_CHANGED, value=delta, data=data)
        if self.grade != old_grade:
            self._record_grade(old_grade, self.grade)

    def _record_grade(self, old, new, at=None):
        self._record(EventKind.GRADE_CHANGED, name=new, data={"from": old, "to": new}, at=at)

    def regrade(self, at=None):
        """Move the grade to the band of the score (Settings › Lead scoring), recording
        ``grade_changed`` (data: from, to) when it moves. No query when it stays."""
        new, old = scoring().grade_for(self.score), self.grade
        if new == old or not self._set_where({"grade": new}, grade=new):
            return False
        self._record_grade(old, new, at=at)
        return True

    @property
    def full_name(self):
        return f"{self.first_name} {self.last_name}".strip()

    def can_receive_email(self, transactional=False):
        """Consent: marketing needs a subscribed contact; transactional mail goes to anyone
        not bounced, complained or suppressed (erased)."""
        if self.status in (ContactStatus.BOUNCED, ContactStatus.COMPLAINED):
            return False
        if not transactional and self.status != ContactStatus.SUBSCRIBED:
            return False
        return not Suppression.is_suppressed(self.email)

    # --- domain actions: idempotent; each returns True if it changed something and then
    # records its event on the timeline (through ``models.events.record_event``). -----------------

    def _record(self, kind, **kwargs):
        return record_event(kind, contact=self, **kwargs)

    def _set_where(self, exclude, **values):
        """A conditional UPDATE, so concurrent callers change (and record) it only once."""
        changed = type(self).objects.filter(pk=self.pk).exclude(**exclude).update(**values)
        if changed:
            for name, value in values.items():
                setattr(self, name, value)
        return bool(changed)

    def add_to_list(self, contact_list, at=None):
        at = at or now()
        _, created = ListMembership.objects.get_or_create(
            contact=self, contact_list=contact_list, defaults={"joined_at": at}
        )
        if created:
            self._record(
                EventKind.LIST_JOINED, object_id=contact_list.pk, name=contact_list.name, at=at
            )
        return created

    def remove_from_list(self, contact_list, at=None):
        deleted, _ = ListMembership.objects.filter(
            contact=self, contact_list=contact_list
        ).delete()
        if deleted:
            self._record(
                EventKind.LIST_LEFT, object_id=contact_list.pk, name=contact_list.name, at=at
            )
        return bool(deleted)

    def add_tag(self, name, at=None):
        from taggit.models import Tag

        name = _tag_name(name)
        tag = Tag.objects.filter(name__iexact=name).first()
        if tag is None:
            tag, _ = Tag.objects.get_or_create(name=name)
        _, created = TaggedContact.objects.get_or_create(content_object=self, tag=tag)
        if created:
            self._record(EventKind.TAG_ADDED, name=tag.name, at=at)
        return created

    def remove_tag(self, name, at=None):
        name = _tag_name(name)
        deleted, _ = TaggedContact.objects.filter(
            content_object=self, tag__name__iexact=name
        ).delete()
        if deleted:
            self._record(EventKind.TAG_REMOVED, name=name, at=at)
        return bool(deleted)

    def set_stage(self, stage, at=None):
        if stage not in Stage.values:
            raise ValidationError({"stage": _("Unknown lifecycle stage %(s)r.") % {"s": stage}})
        old = self.stage
        if not self._set_where({"stage": stage}, stage=stage):
            return False
        self._record(EventKind.STAGE_CHANGED, name=stage, data={"from": old, "to": stage}, at=at)
        return True

    def change_score(self, delta, at=None, *, rule=None, source=None):
        """Add ``delta`` points (negative: take them away) and regrade. The
        ``score_changed`` event says why: ``data["source"]`` is "rule" (a scoring rule: its
        id in ``object_id`` and ``data["rule"]``, its name as the event's name), "edit",
        "decay", or absent (a flow's change-score step)."""
        delta = int(delta)
        if delta == 0:
            return False
        type(self).objects.filter(pk=self.pk).update(score=models.F("score") + delta)
        self.refresh_from_db(fields=["score", "grade"])
        self._loaded_score = self.score
        data = {"delta": delta, "to": self.score}
        if source:
            data["source"] = source
        named = {}
        if rule is not None:
            data.update(source="rule", rule=rule.pk)
            named = {"object_id": str(rule.pk), "name": rule.name}
        self._record(EventKind.SCORE_CHANGED, value=delta, data=data, at=at, **named)
        self.regrade(at=at)
        return True

    def subscribe(self, at=None, *, resubscribe=False):
        """Record marketing consent: a pending contact becomes subscribed. One who
        unsubscribed comes back only with ``resubscribe`` — their confirmed click
        (``ConsentRecord.confirm``), never a form by itself. Bounced/complained stay so.

        Forms and your own sign-up views ask through ``capture.consent.ask_for_consent``,
        which keeps the proof and applies the site's double opt-in."""
        at = at or now()
        stays = [ContactStatus.SUBSCRIBED, ContactStatus.BOUNCED, ContactStatus.COMPLAINED]
        if not resubscribe:
            stays.append(ContactStatus.UNSUBSCRIBED)
        return self._set_where(
            {"status__in": stays}, status=ContactStatus.SUBSCRIBED, consent_at=at
        )

    def unsubscribe(self, reason=""):
        stopped = [ContactStatus.UNSUBSCRIBED, ContactStatus.BOUNCED, ContactStatus.COMPLAINED]
        at = now()
        if not self._set_where(
            {"status__in": stopped}, status=ContactStatus.UNSUBSCRIBED, unsubscribed_at=at
        ):
            return False
        self._record(EventKind.UNSUBSCRIBED, data={"reason": reason[:255]})
        return True

    def mark_bounced(self):
        return self._stop_email(ContactStatus.BOUNCED, [ContactStatus.COMPLAINED])

    def mark_complained(self):
        changed = self._stop_email(ContactStatus.COMPLAINED, [])
        Suppression.objects.get_or_create(
            email_hash=Suppression.hash_email(self.email), defaults={"reason": "complained"}
        )
        return changed

    def _stop_email(self, status, stronger):
        """Bounces and complaints stop all email: recorded as ``unsubscribed`` named by cause,
        so flows that end on unsubscribe end here too."""
        if not self._set_where({"status__in": [status, *stronger]}, status=status):
            return False
        self._record(EventKind.UNSUBSCRIBED, name=status, data={"reason": status})
        return True


def _tag_name(name):
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ValidationError({"tag": _("A tag is 1 to 100 characters.")})
    return name


class ContactList(models.Model):
    """A static list of contacts."""

    name = models.CharField(_("name"), max_length=255, unique=True)
    description = models.TextField(_("description"), blank=True)
    public = models.BooleanField(
        _("shown on the preferences page"),
        default=False,
        help_text=_("Contacts can join and leave public lists from their preferences page."),
    )
    created_at = models.DateTimeField(default=now)

    class Meta:
        verbose_name = _("list")
        verbose_name_plural = _("lists")
        ordering = ["name"]

    def __str__(self):
        return self.name


class ListMembership(models.Model):
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="memberships")
    contact_list = models.ForeignKey(
        ContactList, on_delete=models.CASCADE, related_name="memberships"
    )
    joined_at = models.DateTimeField(default=now)

    class Meta:
        verbose_name = _("list membership")
        constraints = [
            models.UniqueConstraint(
                fields=["contact", "contact_list"], name="wagtail_flows_one_membership"
            )
        ]

    def __str__(self):
        return f"{self.contact} in {self.contact_list}"


class Suppression(models.Model):
    """An address never to be emailed again, kept only as a hash (GDPR erase, complaints)."""

    email_hash = models.CharField(max_length=64, unique=True)
    reason = models.CharField(max_length=32)
    created_at = models.DateTimeField(default=now)

    class Meta:
        verbose_name = _("suppressed address")
        verbose_name_plural = _("suppressed addresses")

    def __str__(self):
        return f"{self.email_hash[:12]}… ({self.reason})"

    @staticmethod
    def hash_email(email):
        return hashlib.sha256(normalize_email(email).encode()).hexdigest()

    @classmethod
    def is_suppressed(cls, email):
        return cls.objects.filter(email_hash=cls.hash_email(email)).exists()
