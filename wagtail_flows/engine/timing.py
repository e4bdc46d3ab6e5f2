"""When things happen: waits, "wait until", send windows, the frequency cap.

Every function takes ``now`` (an aware datetime) and returns aware datetimes in UTC. Local
times are computed with ``zoneinfo``, so a window "09:00–17:00 Europe/Amsterdam" means
09:00 local on both sides of a daylight-saving change; a local time that does not exist
(the skipped hour in spring) maps to the first instant after the gap.
"""

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings

from wagtail_flows.conf import flows_settings

UNITS = {"minutes": 60, "hours": 3600, "days": 86400, "weeks": 7 * 86400}
UTC = dt.UTC


def site_timezone():
    return ZoneInfo(flows_settings.SITE_TIMEZONE or settings.TIME_ZONE or "UTC")


def contact_timezone(contact):
    """The contact's own time zone, or the site's when unknown or invalid."""
    name = getattr(contact, "timezone", "") or ""
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return site_timezone()


def zone_for(which, contact):
    return contact_timezone(contact) if which == "contact" else site_timezone()


def duration(amount, unit):
    return dt.timedelta(seconds=int(amount or 0) * UNITS.get(unit or "days", 86400))


def local_instant(day, at, tz):
    """``day`` at wall-clock ``at`` in ``tz`` as a UTC instant (DST gaps move forward)."""
    naive = dt.datetime.combine(day, at)
    instant = naive.replace(tzinfo=tz).astimezone(UTC)
    if instant.astimezone(tz).replace(tzinfo=None) < naive:
        # A wall time inside a spring-forward gap: the first valid instant after it.
        instant = (naive + dt.timedelta(hours=1)).replace(tzinfo=tz).astimezone(UTC)
    return instant


def _weekdays(values):
    return {int(v) for v in values or () if str(v).strip() != ""}


def next_time_of_day(now, tz, at=None, weekdays=()):
    """The first instant ≥ now that is at wall-clock ``at`` on one of ``weekdays``
    (empty: any day). Without ``at``: now if today is allowed, else the allowed day's start."""
    allowed = _weekdays(weekdays)
    local = now.astimezone(tz)
    for offset in range(0, 15):
        day = local.date() + dt.timedelta(days=offset)
        if allowed and day.weekday() not in allowed:
            continue
        if at is None:
            return now if offset == 0 else local_instant(day, dt.time(0, 0), tz)
        candidate = local_instant(day, at, tz)
        if candidate >= now:
            return candidate
    return now


def window_intervals(day, start, end, tz):
    """The send window opening on ``day``: (opens, closes) as UTC instants."""
    opens = local_instant(day, start or dt.time(0, 0), tz)
    if end is None or end == dt.time(0, 0):
        closes = local_instant(day + dt.timedelta(days=1), dt.time(0, 0), tz)
    elif start and end <= start:  # e.g. 22:00–06:00 crosses midnight
        closes = local_instant(day + dt.timedelta(days=1), end, tz)
    else:
        closes = local_instant(day, end, tz)
    return opens, closes


def next_send_time(flow, contact, now):
    """``now`` when the flow's send window is open for this contact, else when it opens."""
    start, end = flow.send_window_start, flow.send_window_end
    allowed = _weekdays(flow.send_weekdays)
    if start is None and end is None and not allowed:
        return now
    tz = zone_for(flow.send_window_timezone, contact)
    today = now.astimezone(tz).date()
    for offset in range(-1, 15):
        day = today + dt.timedelta(days=offset)
        if allowed and day.weekday() not in allowed:
            continue
        opens, closes = window_intervals(day, start, end, tz)
        if opens <= now < closes:
            return now
        if opens > now:
            return opens
    return now


def quiet_hours_end(contact, now):
    """None outside the site's quiet hours (QUIET_HOURS) in the contact's time zone, else
    the instant they end there."""
    hours = flows_settings.QUIET_HOURS
    if not hours:
        return None
    start, end = (dt.time.fromisoformat(str(h)) for h in hours)
    tz = contact_timezone(contact)
    today = now.astimezone(tz).date()
    for day in (today - dt.timedelta(days=1), today):
        begins = local_instant(day, start, tz)
        ends = local_instant(day + dt.timedelta(days=1) if end <= start else day, end, tz)
        if begins <= now < ends:
            return ends
    return None


def _sent_recently(contact, now, period, limit, flow=None):
    """Creation times of the contact's latest marketing emails within ``period`` (newest
    first, at most ``limit``), of one flow or of all."""
    from wagtail_flows.models import Message
    from wagtail_flows.models.messages import MessageStatus

    messages = Message.objects.filter(
        contact=contact, transactional=False, created_at__gt=now - period, created_at__lte=now
    )
    if flow is not None:
        messages = messages.filter(flow=flow)
    messages = messages.exclude(status__in=[MessageStatus.FAILED, MessageStatus.SUPPRESSED])
    return list(messages.order_by("-created_at").values_list("created_at", flat=True)[:limit])


def _free_at(recent, cap, period, now):
    """When one more email fits under ``cap`` per ``period``, given ``recent`` (newest
    first); None when it fits now."""
    in_period = [at for at in recent if at > now - period]
    # When the cap-th most recent email leaves the period, one more is allowed.
    return in_period[cap - 1] + period if len(in_period) >= cap else None


def flow_cap_until(flow, contact, now):
    """None when the flow's own cap (``Flow.cap_emails`` per ``cap_days``) allows one more
    email to the contact now, else when it will."""
    if not flow.cap_emails:
        return None
    period = dt.timedelta(days=flow.cap_days or 7)
    recent = _sent_recently(contact, now, period, flow.cap_emails, flow=flow)
    return _free_at(recent, flow.cap_emails, period, now)


def frequency_cap_until(contact, now):
    """None when a marketing email may go to the contact now, else the first instant the
    site-wide cap (MAX_EMAILS_PER_DAY / _WEEK) allows one again."""
    caps = [
        (cap, dt.timedelta(days=days))
        for cap, days in (
            (flows_settings.MAX_EMAILS_PER_DAY, 1),
            (flows_settings.MAX_EMAILS_PER_WEEK, 7),
        )
        if cap
    ]
    if not caps:
        return None
    longest = max(period for _, period in caps)
    recent = _sent_recently(contact, now, longest, max(cap for cap, _ in caps))
    frees = [_free_at(recent, cap, period, now) for cap, period in caps]
    return max(filter(None, frees), default=None)


def wait_until_time(step, contact, context, now):
    """When a ``wait_until`` step releases the contact."""
    tz = zone_for(step.get("timezone", "contact"), contact)
    at = step.get("time")
    weekdays = step.get("weekdays", ())
    source = step.get("date_source", "")
    if source:
        base = _date_from(source, step.get("date_key", ""), contact, context)
        if base is None:
            return now
        day = base + dt.timedelta(days=int(step.get("offset_days", 0) or 0))
        target = local_instant(day, at or dt.time(9, 0), tz)
        if target < now:
            return now
        return next_time_of_day(target, tz, at, weekdays) if weekdays else target
    return next_time_of_day(now, tz, at, weekdays)


def _date_from(source, key, contact, context):
    if source == "property":
        raw = (getattr(contact, "properties", None) or {}).get(key)
    else:
        # "order.date", or a field of the triggering event ("event_date" = event.event_date)
        context = context or {}
        raw = _dig(context, key)
        if raw is None:
            raw = _dig(context.get("event") or {}, key)
    return parse_date(raw)


def _dig(data, dotted):
    for part in (dotted or "").split("."):
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


def parse_date(raw):
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    if isinstance(raw, str) and raw:
        try:
            return dt.datetime.fromisoformat(raw.replace("Z", "+00:00")).date()
        except ValueError:
            return None
    return None
