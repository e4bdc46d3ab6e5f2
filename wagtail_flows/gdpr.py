"""GDPR: export everything we hold on a contact; erase it, keeping only a suppression hash.

Scope: our own tables (contact, tags, lists, events, visitors, messages, enrollments and their
step log). Wagtail's form submissions belong to the site and are listed by page in the export
(``form_submissions``) so the owner can delete them there.
"""

import json

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.forms.models import model_to_dict
from django.utils import timezone

from wagtail_flows.models import Event, Suppression, Visitor

CONTACT_FIELDS = (
    "email",
    "first_name",
    "last_name",
    "status",
    "stage",
    "score",
    "timezone",
    "properties",
    "source",
    "consent_at",
    "unsubscribed_at",
    "last_visit_at",
    "last_form_at",
    "last_open_at",
    "last_click_at",
    "last_order_at",
    "last_activity_at",
    "orders_count",
    "revenue_total",
    "created_at",
    "updated_at",
)
EVENT_FIELDS = ("kind", "name", "page", "object_id", "value", "data", "created_at", "visitor")
MESSAGE_EXCLUDE = ("contact", "links")


def export_contact(contact):
    """A JSON-ready dict of all we hold on ``contact``."""
    data = {
        "exported_at": timezone.now(),
        "contact": {name: getattr(contact, name) for name in CONTACT_FIELDS},
        "user": contact.user.get_username() if contact.user_id else None,
        "tags": sorted(contact.tagged_items.values_list("tag__name", flat=True)),
        "lists": [
            {"list": m.contact_list.name, "joined_at": m.joined_at}
            for m in contact.memberships.select_related("contact_list")
        ],
        "visitors": [
            {"id": v.pk, "created_at": v.created_at, "last_seen_at": v.last_seen_at}
            for v in contact.visitors.all()
        ],
        "events": [_row(e, fields=EVENT_FIELDS) for e in _events(contact)],
        "messages": [_row(m, exclude=MESSAGE_EXCLUDE) for m in contact.messages.all()],
        "enrollments": [_enrollment(e) for e in contact.enrollments.select_related("flow")],
        "form_submissions": _form_submission_pages(contact),
    }
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def _events(contact):
    visitor_ids = list(contact.visitors.values_list("pk", flat=True))
    anonymous = Event.objects.filter(visitor_id__in=visitor_ids, contact__isnull=True)
    return (contact.events.all() | anonymous).order_by("created_at")


def _row(obj, fields=None, exclude=None):
    row = model_to_dict(obj, fields=fields, exclude=exclude)
    row["id"] = obj.pk
    return row


def _enrollment(enrollment):
    row = _row(enrollment, exclude=("contact",))
    row["flow"] = str(enrollment.flow)
    row["steps"] = [
        _row(run, exclude=("enrollment",)) for run in enrollment.step_runs.order_by("pk")
    ]
    return row


def _form_submission_pages(contact):
    from wagtail.contrib.forms.models import FormSubmission

    pages = FormSubmission.objects.filter(form_data__icontains=contact.email)
    return sorted({str(page) for page in pages.values_list("page__title", flat=True)})


def erase_contact(contact, reason="erased"):
    """Delete the contact and everything tied to it; keep a hash so we never email it again."""
    with transaction.atomic():
        Suppression.objects.get_or_create(
            email_hash=Suppression.hash_email(contact.email), defaults={"reason": reason}
        )
        visitors = Visitor.objects.filter(contact=contact)
        Event.objects.filter(visitor__in=visitors).delete()
        visitors.delete()
        contact.delete()  # cascades: events, messages, enrollments, memberships, tags
