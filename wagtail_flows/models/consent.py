"""Consent that can be proven (GDPR Art. 7(1)): every opt-in request with its proof, and the
site setting "Require double opt-in".

A ``ConsentRecord`` keeps what the person saw and did: the page and the consent wording of
the form, when (and from which IP address) they asked, and when they confirmed. With double
opt-in the contact stays as it was (pending, or unsubscribed) until the link in the
confirmation email is confirmed; the form's submission is kept from marketing flows until then.
"""

from datetime import timedelta

from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel
from wagtail.contrib.settings.models import BaseSiteSetting

from wagtail_flows.conf import flows_settings
from wagtail_flows.models.base import PAGE_MODEL
from wagtail_flows.models.events import Event
from wagtail_flows.models.listening import is_listened
from wagtail_flows.signals import events_to_dispatch
from wagtail_flows.vocabulary import ConsentMethod, EventKind


class ConsentSettings(BaseSiteSetting):
    """Settings → Email consent, per site."""

    require_double_opt_in = models.BooleanField(
        _("require double opt-in"),
        default=True,
        help_text=_(
            "A new address ticking a form's consent box is subscribed only after clicking "
            "the link in a confirmation email. An address that unsubscribed always has to "
            "confirm, whatever this says."
        ),
    )
    confirmation_email = models.ForeignKey(
        "wagtail_flows.EmailPage",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("confirmation email"),
        help_text=_(
            "Your own words for the confirmation email (its subject and body); the "
            "Confirm button is added below them. Empty, or not published: a built-in email "
            "with the site's name."
        ),
    )

    panels = [FieldPanel("require_double_opt_in"), FieldPanel("confirmation_email")]

    class Meta:
        verbose_name = _("email consent")


def confirmation_lifetime():
    return timedelta(days=flows_settings.CONSENT_CONFIRMATION_DAYS)


class ConsentRecordQuerySet(models.QuerySet):
    def awaiting(self, at=None):
        """Double opt-in requests not confirmed yet whose link still works."""
        since = (at or timezone.now()) - confirmation_lifetime()
        return self.filter(
            method=ConsentMethod.DOUBLE_OPT_IN, confirmed_at__isnull=True, requested_at__gte=since
        )


class ConsentRecord(models.Model):
    """One request for marketing consent and its proof. Kept until the contact is erased."""

    # Operational rows: keep them out of Wagtail's reference index.
    wagtail_reference_index_ignore = True

    contact = models.ForeignKey(
        "wagtail_flows.Contact", on_delete=models.CASCADE, related_name="consents"
    )
    email = models.EmailField(_("address"), max_length=254)
    method = models.CharField(_("method"), max_length=20, choices=ConsentMethod.choices)
    source = models.CharField(_("source"), max_length=255, blank=True)
    site = models.ForeignKey(
        "wagtailcore.Site", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The page as it was: title and URL stay when the page is renamed or deleted.
    page = models.ForeignKey(
        PAGE_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    page_title = models.CharField(_("page title"), max_length=255, blank=True)
    page_url = models.CharField(_("page URL"), max_length=2000, blank=True)
    wording = models.TextField(_("consent wording"), blank=True)
    # The form submission, kept from marketing flows until the request is confirmed.
    event = models.ForeignKey(
        "wagtail_flows.Event", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    requested_ip = models.GenericIPAddressField(_("requested from IP"), null=True, blank=True)
    confirmation_sent_at = models.DateTimeField(_("confirmation sent at"), null=True, blank=True)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    confirmed_ip = models.GenericIPAddressField(_("confirmed from IP"), null=True, blank=True)

    objects = ConsentRecordQuerySet.as_manager()

    class Meta:
        verbose_name = _("consent record")
        verbose_name_plural = _("consent records")
        ordering = ["-requested_at", "-pk"]

    def __str__(self):
        return f"{self.email}: {self.get_method_display()} ({self.state})"

    @property
    def state(self):
        if self.confirmed_at:
            return "confirmed"
        if self.requested_at < timezone.now() - confirmation_lifetime():
            return "expired"
        return "awaiting confirmation"

    def may_confirm(self):
        """Its address is still the contact's, and the contact may be emailed at all."""
        contact = self.contact
        return contact.email == self.email and contact.can_receive_email(transactional=True)

    def confirm(self, *, ip=None, at=None):
        """The person confirmed by the link: subscribe them, date the proof, and hand the
        held form submissions to marketing flows. Every other request of theirs still
        awaiting confirmation is confirmed with it (one email answers all of them).

        False, and nothing changed, if it is confirmed already, names an address the contact
        no longer has, or the contact may not be emailed (bounced, complained, erased)."""
        at = at or timezone.now()
        contact = self.contact
        if not self.may_confirm():
            return False
        with transaction.atomic():
            mine = ConsentRecord.objects.awaiting(at).filter(pk=self.pk)
            if not mine.update(confirmed_at=at, confirmed_ip=ip):
                return False
            others = ConsentRecord.objects.awaiting(at).filter(contact=contact)
            held = [self.event_id, *others.values_list("event_id", flat=True)]
            others.update(confirmed_at=at, confirmed_ip=ip)
            self.confirmed_at, self.confirmed_ip = at, ip
            contact.subscribe(at, resubscribe=True)
            release_held_submissions([pk for pk in held if pk])
        return True


def awaiting_consent(event):
    """Is this form submission held from marketing flows (its consent not confirmed yet)?
    Asked by dispatch; one query per event, remembered on it."""
    if event.kind != EventKind.FORM_SUBMITTED or event.contact_id is None:
        return False
    held = getattr(event, "_awaiting_consent", None)
    if held is None:
        held = ConsentRecord.objects.filter(
            event_id=event.pk, method=ConsentMethod.DOUBLE_OPT_IN, confirmed_at__isnull=True
        ).exists()
        event._awaiting_consent = held
    return held


def release_held_submissions(event_ids):
    """Dispatch these form submissions again after commit: marketing flows take them now;
    flows they started already are not started twice (dispatch is idempotent per event)."""
    if not event_ids or not is_listened(EventKind.FORM_SUBMITTED):
        return
    Event.objects.filter(pk__in=event_ids).update(pending_dispatch=True)
    transaction.on_commit(lambda: events_to_dispatch.send(sender=Event, event_ids=event_ids))
