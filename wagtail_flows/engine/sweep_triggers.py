"""Time-based triggers, fired by the sweep: ``inactive``, ``engagement``, ``date_reached``.

Each trigger is a set-based query over ``Contact`` (the flow's entry conditions applied with
``conditions.to_q``), minus contacts it already fired for; the contacts found are enrolled
through ``dispatch.enroll`` (re-entry policy, dates and the one-open-run rule apply there),
at most one batch per trigger per sweep.

When does a trigger fire again for the same contact?
- ``inactive``: once per quiet period — a contact enrolled after their last activity is not
  enrolled again until they are active and then quiet again;
- ``engagement``: at most once per ``within_days`` window;
- ``date_reached``: once per date value — a new date (a new order, a rescheduled
  appointment) fires again, and ends a run still open for the old date; with *every year*
  (birthdays, anniversaries) once a year, on the day in the contact's time zone.
"""

import calendar
import math
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db.models import CharField, Count, Exists, F, OuterRef, Q, Subquery
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce, Greatest, Substr, TruncDate
from django.utils import timezone

from wagtail_flows.conf import flows_settings
from wagtail_flows.engine.timing import contact_timezone, site_timezone
from wagtail_flows.flows.conditions.page_views import contacts_with_visits
from wagtail_flows.models import Contact, Enrollment, Event, Message
from wagtail_flows.models.contacts import EventKind
from wagtail_flows.models.enrollments import OPEN_STATUSES, EnrollmentStatus

ACTIVITY_FIELDS = {
    "any": ("last_activity_at",),
    "visit": ("last_visit_at",),
    "form": ("last_form_at",),
    "email": ("last_open_at", "last_click_at"),
}


def fire(flows, clock, advance_now=None):
    """Enroll the contacts each time-based trigger matches; returns counts per trigger type.
    ``advance_now`` is the clock the advance tasks of the new runs get (None: their own)."""
    counts = {"inactive": 0, "engagement": 0, "date_reached": 0}
    for flow, triggers in flows:
        for trigger in triggers:
            finder = FINDERS.get(trigger.block_type)
            if finder is None:
                continue
            contacts, context = finder(flow, trigger.value, clock)
            enrolled = enroll_found(flow, trigger, contacts, context, clock, advance_now)
            counts[trigger.block_type] += enrolled
    return counts


def enroll_found(flow, trigger, contacts, context, clock, advance_now=None):
    """Enroll one batch of the contacts a trigger found, in bulk (``bulk.enroll_batch``)."""
    from wagtail_flows.engine.bulk import eligible, enroll_batch

    # Filter before taking the batch: contacts the entry conditions or re-entry keep out
    # would otherwise fill it on every sweep, and nobody after them would ever enter.
    contacts = eligible(flow, contacts, clock).exclude(
        Exists(
            Enrollment.objects.filter(flow=flow, contact=OuterRef("pk"), status__in=OPEN_STATUSES)
        )
    )
    size = max(1, int(flows_settings.SWEEP_BATCH_SIZE))
    found = list(contacts.order_by("pk")[:size])

    def context_for(contact):
        extra = context(contact) if callable(context) else context
        return {"trigger": trigger.block_type, **extra}

    started = enroll_batch(
        flow, found, context_for=context_for, now=clock, advance_now=advance_now
    )
    return len(started)


def _enrolled_since(flow, since):
    """Contacts with a run in ``flow`` that started at or after ``since`` (an expression)."""
    return Exists(
        Enrollment.objects.filter(flow=flow, contact=OuterRef("pk"), enrolled_at__gte=since)
    )


# --- inactive -------------------------------------------------------------------------------


def last_activity(activity):
    """The contact's latest activity of a kind; never active counts from their creation."""
    fields = ACTIVITY_FIELDS.get(activity) or ACTIVITY_FIELDS["any"]
    dates = [Coalesce(F(name), F("created_at")) for name in fields]
    return dates[0] if len(dates) == 1 else Greatest(*dates)


def find_inactive(flow, value, clock):
    days = int(value.get("days") or 30)
    contacts = (
        Contact.objects.annotate(last_active=last_activity(value.get("activity") or "any"))
        .filter(last_active__lte=clock - timedelta(days=days))
        .exclude(_enrolled_since(flow, OuterRef("last_active")))
    )
    return contacts, {"inactive_days": days}


# --- engagement -----------------------------------------------------------------------------


def find_engaged(flow, value, clock):
    days = int(value.get("within_days") or 7)
    since = clock - timedelta(days=days)
    engaged = Q(pk__in=[])
    if value.get("min_visits"):
        engaged |= Q(pk__in=_frequent_visitors(int(value["min_visits"]), since))
    emails = int(value.get("last_emails") or 10)
    for rate_name, date_field in (
        ("min_open_rate", "first_opened_at"),
        ("min_click_rate", "first_clicked_at"),
    ):
        if value.get(rate_name):
            rated = _email_rate_at_least(int(value[rate_name]), emails, date_field)
            engaged |= Q(pk__in=rated)
    contacts = Contact.objects.filter(engaged).exclude(_enrolled_since(flow, since))
    return contacts, {"engagement_window_days": days}


def _frequent_visitors(min_visits, since):
    """Contacts with ``min_visits`` visits (not page views: ``page_views``) since ``since``."""
    views = Event.objects.filter(
        kind=EventKind.PAGE_VIEWED, contact__isnull=False, created_at__gte=since
    )
    return contacts_with_visits(views.order_by(), min_visits)


def _email_rate_at_least(percent, emails, date_field):
    """Contacts with at least ``emails`` sent emails, ``percent`` % of the last ones
    opened (or clicked): counted from the ``emails``-th most recent send on."""
    sent = Message.objects.filter(contact=OuterRef("pk"), sent_at__isnull=False)
    oldest_counted = Subquery(sent.order_by("-sent_at").values("sent_at")[emails - 1 : emails])
    hits = (
        Message.objects.filter(
            contact=OuterRef("pk"),
            sent_at__gte=OuterRef("oldest_counted"),
            **{f"{date_field}__isnull": False},
        )
        .order_by()
        .values("contact")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        Contact.objects.annotate(oldest_counted=oldest_counted)
        .filter(oldest_counted__isnull=False)
        .annotate(hits=Coalesce(Subquery(hits), 0))
        .filter(hits__gte=math.ceil(percent * emails / 100))
        .values("pk")
    )


# --- date reached ---------------------------------------------------------------------------


def base_date(value, prefix=""):
    """The contact's date the trigger counts from, as ``YYYY-MM-DD`` text in SQL
    (``prefix="contact__"`` reads it through a relation)."""
    if value.get("date_source") == "last_order":
        day = TruncDate(f"{prefix}last_order_at", tzinfo=site_timezone())
        return Cast(day, output_field=CharField())
    name = (value.get("property_name") or "").strip()
    return Substr(KeyTextTransform(name, f"{prefix}properties"), 1, 10)


def date_window(value, clock):
    """The base dates whose target day (base ± offset) is today or in the look-back."""
    shift = _shift(value)
    today = timezone.localtime(clock, site_timezone()).date()
    lookback = int(flows_settings.DATE_REACHED_LOOKBACK_DAYS)
    return today - timedelta(days=lookback) + timedelta(days=shift), today + timedelta(days=shift)


def find_date_reached(flow, value, clock):
    if value.get("date_source") != "last_order" and not (value.get("property_name") or "").strip():
        return Contact.objects.none(), {}
    if value.get("every_year"):
        return find_yearly(flow, value, clock)
    first, last = date_window(value, clock)
    contacts = Contact.objects.annotate(base_date=base_date(value)).filter(
        base_date__gte=first.isoformat(), base_date__lte=last.isoformat()
    )
    if value.get("date_source") == "last_order":
        start = datetime.combine(first, time.min, tzinfo=site_timezone())
        contacts = contacts.filter(last_order_at__gte=start)
    fired = Enrollment.objects.annotate(
        fired_for=Cast(KeyTextTransform("date_reached", "context"), output_field=CharField())
    ).filter(flow=flow, contact=OuterRef("pk"), fired_for=OuterRef("base_date"))
    end_runs_for_old_dates(flow, value, clock)
    return contacts.exclude(Exists(fired)), lambda contact: {"date_reached": contact.base_date}


# --- every year (birthdays, anniversaries) ------------------------------------------------
# The date's month and day come round each year: it fires on the day (± the offset) in the
# contact's time zone (the site's when they have none), once a year, and on 28 February in
# the years without a 29th. Runs started for a date the contact no longer has end, as above.

YEARLY_ONCE_WITHIN = timedelta(days=60)  # no two occurrences of one date are this close


def find_yearly(flow, value, clock):
    contacts = Contact.objects.annotate(
        base_date=base_date(value), base_day=Substr(base_date(value), 6, 5)
    )
    zones = _zones_of(contacts, clock, value)
    matches = Q(pk__in=[])
    for zone_name, days in zones.items():
        in_zone = Q(timezone=zone_name) if zone_name else ~Q(timezone__in=set(zones) - {""})
        matches |= in_zone & Q(base_day__in=sorted(days))
    fired = Enrollment.objects.filter(
        flow=flow,
        contact=OuterRef("pk"),
        context__has_key="date_year",
        enrolled_at__gte=clock - YEARLY_ONCE_WITHIN,
    )
    end_runs_for_old_dates(flow, value, clock)
    return contacts.filter(matches).exclude(Exists(fired)), lambda contact: {
        "date_reached": contact.base_date,
        "date_year": occurrence_year(contact, value, clock),
    }


def _zones_of(contacts, clock, value):
    """``{time zone name: the "MM-DD" days due today there}``; "" stands for the contacts
    without a usable zone (the site's). One query: the distinct zones of the contacts."""
    names = set(contacts.exclude(timezone="").values_list("timezone", flat=True).distinct())
    zones = {"": due_days(value, clock, site_timezone())}
    for name in names:
        try:
            zones[name] = due_days(value, clock, ZoneInfo(name))
        except (ZoneInfoNotFoundError, ValueError):
            continue  # an unknown zone counts as the site's
    return zones


def due_days(value, clock, zone):
    """The "MM-DD" of the dates whose yearly day (± offset) is today in ``zone``, or in the
    look-back after downtime; "02-29" falls on 28 February in the other years."""
    today = timezone.localtime(clock, zone).date()
    shift = _shift(value)
    lookback = int(flows_settings.DATE_REACHED_LOOKBACK_DAYS)
    days = set()
    for back in range(lookback + 1):
        day = today - timedelta(days=back) + timedelta(days=shift)
        days.add(day.strftime("%m-%d"))
        if (day.month, day.day) == (2, 28) and not calendar.isleap(day.year):
            days.add("02-29")
    return days


def occurrence_year(contact, value, clock):
    """The year of the occurrence that fired (a 31 December date seen from 1 January, with an
    offset, belongs to the year before)."""
    zone = contact_timezone(contact)
    today = timezone.localtime(clock, zone).date() + timedelta(days=_shift(value))
    month_day = contact.base_day
    if month_day == "02-29" and not calendar.isleap(today.year):
        month_day = "02-28"
    return today.year if today.strftime("%m-%d") >= month_day else today.year - 1


def _shift(value):
    offset = int(value.get("offset_days") or 0)
    return offset if value.get("direction", "before") == "before" else -offset


def end_runs_for_old_dates(flow, value, clock):
    """A new date resets the pending reminder: open runs started for a date the contact no
    longer has end at once (the new date fires in its own time)."""
    from wagtail_flows.engine.bulk import finish_batch

    stale = (
        Enrollment.objects.filter(
            flow=flow, status__in=OPEN_STATUSES, context__has_key="date_reached"
        )
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=clock))
        .annotate(
            fired_for=Cast(KeyTextTransform("date_reached", "context"), CharField()),
            current=base_date(value, prefix="contact__"),
        )
        .filter(Q(current__isnull=True) | ~Q(fired_for=F("current")))
    )
    size = max(1, int(flows_settings.SWEEP_BATCH_SIZE))
    finish_batch(stale, EnrollmentStatus.EXITED, "date changed", now=clock, limit=size)


FINDERS = {
    "inactive": find_inactive,
    "engagement": find_engaged,
    "date_reached": find_date_reached,
}
