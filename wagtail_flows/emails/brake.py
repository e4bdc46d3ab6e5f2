"""The brake: a marketing flow whose emails draw too many complaints or hard bounces pauses
by itself, before mailbox providers start refusing the site's mail (order confirmations too).

The provider's feedback (django-anymail webhooks, ``record_bounce``/``record_complaint``) is
put on the last email the address was sent; each piece of feedback re-checks that email's
flow over the rolling window. Transactional flows are never braked. Resuming is a person's
decision (the flow's Resume action); the brake then counts only what is sent after it.
"""

import datetime as dt
import logging
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Count, Max, Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from wagtail_flows.conf import flows_settings
from wagtail_flows.models import Flow, Message
from wagtail_flows.models.flows import FlowKind, FlowStatus
from wagtail_flows.models.messages import MessageStatus

logger = logging.getLogger(__name__)


@dataclass
class Rates:
    sent: int
    complaints: int
    bounces: int
    site_wide: bool = False

    @property
    def complaint_rate(self):
        return 100 * self.complaints / self.sent if self.sent else 0.0

    @property
    def bounce_rate(self):
        return 100 * self.bounces / self.sent if self.sent else 0.0

    def over_limit(self):
        """The reason to brake, or "" while the figures are fine (or too few to tell)."""
        if self.sent < flows_settings.BRAKE_MIN_SENT:
            return ""
        if self.complaint_rate >= flows_settings.BRAKE_COMPLAINT_RATE:
            what = ngettext("%(n)d spam complaint", "%(n)d spam complaints", self.complaints)
            return self._reason(what, self.complaints, self.complaint_rate, "COMPLAINT")
        if self.bounce_rate >= flows_settings.BRAKE_BOUNCE_RATE:
            what = ngettext("%(n)d hard bounce", "%(n)d hard bounces", self.bounces)
            return self._reason(what, self.bounces, self.bounce_rate, "BOUNCE")
        return ""

    def _reason(self, what, n, rate, limit):
        figures = {
            "what": what % {"n": n},
            "sent": self.sent,
            "rate": rate,
            "limit": getattr(flows_settings, f"BRAKE_{limit}_RATE"),
            "days": flows_settings.BRAKE_WINDOW_DAYS,
        }
        if self.site_wide:
            text = _(
                "Paused by the deliverability brake (all the site's marketing emails): "
                "%(what)s for %(sent)d emails sent (%(rate).2f %%, limit %(limit)s %%) in "
                "%(days)d days."
            )
        else:
            text = _(
                "Paused by the deliverability brake: %(what)s for %(sent)d emails sent "
                "(%(rate).2f %%, limit %(limit)s %%) in %(days)d days."
            )
        return text % figures


def window_start(now=None):
    return (now or timezone.now()) - dt.timedelta(days=flows_settings.BRAKE_WINDOW_DAYS)


def record_feedback(email, field, now=None):
    """Put a hard bounce (``bounced_at``) or a complaint (``complained_at``) on the last email
    sent to ``email`` within the window, then re-check its flow. Returns the flow braked."""
    now = now or timezone.now()
    message = (
        Message.objects.filter(
            to_email__iexact=email, status=MessageStatus.SENT, sent_at__gte=window_start(now)
        )
        .order_by("-sent_at", "-pk")
        .only("pk", "flow_id")
        .first()
    )
    if message is None:
        return None
    Message.objects.filter(pk=message.pk, **{f"{field}__isnull": True}).update(**{field: now})
    return check_flow(message.flow_id, now) if message.flow_id else None


def flow_rates(flow, now=None):
    since = max(filter(None, [window_start(now), flow.brake_reset_at]))
    return _rates(Message.objects.filter(flow_id=flow.pk, sent_at__gte=since))


def site_rates(now=None):
    """All flows' marketing emails over the window (the dashboard's figures and the site's
    brake), since the last resume after a brake: a person has looked at them."""
    latest_reset = Flow.objects.aggregate(at=Max("brake_reset_at"))["at"]
    since = max(filter(None, [window_start(now), latest_reset]))
    messages = Message.objects.filter(sent_at__gte=since, transactional=False)
    return _rates(messages, site_wide=True)


def _rates(messages, site_wide=False):
    figures = messages.filter(status=MessageStatus.SENT).aggregate(
        sent=Count("pk"),
        complaints=Count("pk", filter=Q(complained_at__isnull=False)),
        bounces=Count("pk", filter=Q(bounced_at__isnull=False)),
    )
    return Rates(**figures, site_wide=site_wide)


def live_marketing():
    return Flow.objects.filter(status=FlowStatus.LIVE, kind=FlowKind.MARKETING)


def check_flow(flow_id, now=None):
    """Pause the live marketing flow ``flow_id`` if its rates are over the limits; then, if
    the site's marketing emails together are, every live marketing flow."""
    if not flows_settings.BRAKE_ENABLED:
        return None
    flow = live_marketing().filter(pk=flow_id).first()
    if flow is None:
        return None
    reason = flow_rates(flow, now).over_limit()
    if reason:
        return flow if _brake(flow, reason) else None
    site_reason = site_rates(now).over_limit()
    if site_reason:
        braked = [other for other in live_marketing() if _brake(other, site_reason)]
        return flow if flow in braked else None
    return None


def _brake(flow, reason):
    try:
        flow.pause(reason=reason)
    except ValidationError:  # someone paused it meanwhile, or it no longer activates
        logger.info("Brake: flow %s changed meanwhile", flow.pk, exc_info=True)
        return False
    logger.warning("Brake: flow %s (%s) paused: %s", flow.pk, flow.name, reason)
    transaction.on_commit(lambda: notify_owners(flow, reason))
    return True


def owners():
    """Active users who may resume flows (the activate permission) and have an address."""
    users = get_user_model().objects.filter(is_active=True).exclude(email="")
    return [
        user.email
        for user in users.filter(
            Q(is_superuser=True)
            | Q(user_permissions__codename="activate_flow")
            | Q(groups__permissions__codename="activate_flow")
        ).distinct()
    ]


def notify_owners(flow, reason):
    recipients = owners()
    if not recipients:
        return
    try:
        link = _admin_link(flow)
    except NoReverseMatch:
        link = ""
    subject = _("Flow paused: %(name)s") % {"name": flow.name}
    body = "\n\n".join(
        filter(
            None,
            [
                reason,
                _(
                    "Its contacts stay where they are; nothing more is sent until someone "
                    "resumes it. Look at the flow's audience and emails first: complaints "
                    "and bounces this high make Gmail and Yahoo refuse the site's mail."
                ),
                link,
            ],
        )
    )
    try:
        send_mail(subject, body, None, recipients)
    except Exception:
        logger.exception("Brake: could not email the site owners about flow %s", flow.pk)


def _admin_link(flow):
    base = (flows_settings.BASE_URL or _admin_base()).rstrip("/")
    return base + reverse("flows_modeladmin_edit", args=[flow.pk])


def _admin_base():
    from django.conf import settings

    return getattr(settings, "WAGTAILADMIN_BASE_URL", "") or ""
