"""Settings → Email sender, per site: who marketing emails come from, and the postal address
every marketing email carries in its footer (CAN-SPAM; docs/deliverability.md)."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel
from wagtail.contrib.settings.models import BaseSiteSetting
from wagtail.models import Site

from wagtail_flows.emails.rendering import bump_sender_version


class SenderSettings(BaseSiteSetting):
    from_name = models.CharField(
        _("sender name"),
        max_length=100,
        blank=True,
        help_text=_("The name people see, e.g. your shop's. An email page may set its own."),
    )
    from_email = models.EmailField(
        _("sender address"),
        blank=True,
        help_text=_(
            "An address at the domain you checked in Settings › Sending domain. Empty: "
            "the site's default From address."
        ),
    )
    reply_to = models.EmailField(_("reply-to address"), blank=True)
    postal_address = models.TextField(
        _("postal address"),
        blank=True,
        help_text=_(
            "Your organisation's postal address. The law in many countries (CAN-SPAM in the "
            "US) wants it in every marketing email; it is printed in each email's footer and "
            "a marketing flow cannot go live without it."
        ),
    )

    panels = [
        FieldPanel("from_name"),
        FieldPanel("from_email"),
        FieldPanel("reply_to"),
        FieldPanel("postal_address"),
    ]

    class Meta:
        verbose_name = _("email sender")

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        bump_sender_version()


def sender_for_site(site):
    """The site's sender; an email page outside every site (a library under the root) is
    sent as the default site's."""
    site = site or Site.objects.filter(is_default_site=True).first()
    return SenderSettings.for_site(site) if site is not None else None
