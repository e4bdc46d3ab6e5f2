"""Pace: at most so many marketing emails an hour, overall and per recipient domain, and a
warm-up ramp for a new sending domain. Off unless a limit is set (docs/deliverability.md).

A marketing email over a limit goes back to the queue with ``send_after`` at the moment the
limit frees up; the sweep then delivers the held ones oldest first. Claiming stays the one
compare-and-set of delivery, so a held email still leaves exactly once. Transactional emails
and consent confirmations are never held.
"""

import datetime as dt

from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from wagtail_flows.conf import flows_settings
from wagtail_flows.emails.domain import domain_of
from wagtail_flows.models import Message
from wagtail_flows.models.messages import MessageStatus

HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)


def is_paced(message):
    return not (message.transactional or message.consent_id) and any(limits(timezone.now()))


def limits(now):
    """(per hour, per domain per hour, per day of the warm-up): None where there is none."""
    return (
        flows_settings.PACE_PER_HOUR,
        flows_settings.PACE_PER_DOMAIN_PER_HOUR,
        warmup_limit(now),
    )


def warmup_limit(now):
    """The warm-up's limit for today: WARMUP_FIRST_DAY emails on its first day, growing by
    WARMUP_GROWTH a day; None before it starts and once it passes WARMUP_UNTIL."""
    start = flows_settings.WARMUP_START
    if not start:
        return None
    start = dt.date.fromisoformat(str(start))
    day = (timezone.localdate(now) - start).days
    if day < 0:
        return None
    limit = int(flows_settings.WARMUP_FIRST_DAY * flows_settings.WARMUP_GROWTH**day)
    return None if limit >= flows_settings.WARMUP_UNTIL else limit


def _out(now, period):
    """Marketing emails sent, or being sent, in the last ``period``."""
    return Message.objects.filter(
        Q(status=MessageStatus.SENT, sent_at__gt=now - period)
        | Q(status=MessageStatus.SENDING, claimed_at__gt=now - period),
        transactional=False,
        consent__isnull=True,
    )


def free_at(message, now):
    """When ``message`` may go: None for now, else the moment a limit frees up."""
    per_hour, per_domain, per_day = limits(now)
    domain = domain_of(message.to_email)
    checks = [
        (per_hour, HOUR, Q()),
        (per_domain, HOUR, Q(to_email__iendswith=f"@{domain}")),
        (per_day, DAY, Q()),
    ]
    later = [
        _frees_up(_out(now, period).filter(scope).exclude(pk=message.pk), limit, period)
        for limit, period, scope in checks
        if limit
    ]
    later = [moment for moment in later if moment is not None]
    # Held emails competing for the same limit leave first, oldest first.
    competing = Q() if per_hour or per_day else checks[1][2]
    if _older_held(message, competing).exists():
        later.append(now)
    return max(later) if later else None


def _older_held(message, scope):
    return Message.objects.filter(
        scope,
        status=MessageStatus.QUEUED,
        paced_at__isnull=False,
        created_at__lt=message.created_at,
    ).exclude(pk=message.pk)


def hold(message, until, now):
    """Back to the queue until ``until``; ``paced_at`` keeps when the pace first held it."""
    Message.objects.filter(pk=message.pk, status=MessageStatus.SENDING).update(
        status=MessageStatus.QUEUED,
        send_after=until,
        claimed_at=None,
        paced_at=Coalesce("paced_at", now),
    )


def _frees_up(out, limit, period):
    """None while fewer than ``limit`` went out in the period; else when the oldest of the
    last ``limit`` leaves the period."""
    moments = list(
        out.annotate(moment=Coalesce("sent_at", "claimed_at"))
        .order_by("-moment")
        .values_list("moment", flat=True)[:limit]
    )
    return moments[-1] + period if len(moments) >= limit else None
