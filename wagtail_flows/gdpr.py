"""GDPR: export everything we hold on a contact; erase it, keeping only a suppression hash.

What we hold on a contact, store by store (``holdings``): the erase page counts it with
``Holdings.counts``, ``erase_contact`` deletes it and returns the same counts.

- Our own tables: the contact, its tags, list memberships, consent records, visitors and
  their anonymous events, events, messages, runs and their step log.
- Wagtail's form submissions (every ``AbstractFormSubmission`` model): those its
  ``form_submitted`` events name, and those with a field that *is* its address. Another
  person's submission that only mentions the address in a longer answer is kept, with the
  address taken out.
- django-q2's records: finished tasks (``django_q_task``: successes and failures) and tasks
  queued in the ORM broker (``django_q_ormq``) whose first argument names the contact's
  events, runs or messages (``engine.queue.TASK_SUBJECTS``), or whose stored arguments,
  result or name hold its address. A queued batch that also names other contacts stays:
  it carries only ids, which name nothing once the rows are gone.
- Wagtail's audit log: the contact's entries are relabelled with its number; any other
  entry whose label or data holds the address loses them.

Kept: a SHA-256 hash of the address (``Suppression``), so it is never emailed again.
"""

import base64
import binascii
import json
import pickle
import re
import zlib
from collections import defaultdict
from dataclasses import dataclass, field

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Q, TextField
from django.db.models.functions import Cast
from django.forms.models import model_to_dict
from django.utils import timezone
from django.utils.translation import gettext as _

from wagtail_flows.conf import flows_settings
from wagtail_flows.engine.queue import TASK_SUBJECTS
from wagtail_flows.models import Enrollment, Event, Message, Suppression, Visitor
from wagtail_flows.models.contacts import ListMembership
from wagtail_flows.models.properties import column_of
from wagtail_flows.vocabulary import EventKind

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
REDACTED = "[erased]"


# --- what we hold -------------------------------------------------------------------------


@dataclass
class FormSubmissions:
    """Wagtail form submissions, as ``{model: {pk, ...}}``."""

    own: dict = field(default_factory=dict)  # the contact's: deleted
    mentions: dict = field(default_factory=dict)  # another person's naming the address

    @staticmethod
    def count(found):
        return sum(len(pks) for pks in found.values())


@dataclass
class QueueRecords:
    """django-q2's rows about the contact, by primary key."""

    finished: list = field(default_factory=list)  # django_q_task (Success and Failure)
    queued: list = field(default_factory=list)  # django_q_ormq


@dataclass
class Holdings:
    contact: object
    events: object
    enrollments: object
    messages: object
    memberships: object
    visitors: object
    submissions: FormSubmissions
    queue: QueueRecords
    mentions: dict  # {Event or Enrollment: {pk, ...}}: other people's naming the address

    def counts(self):
        """What erasing deletes, by store (the erase page shows these numbers)."""
        return {
            "events": self.events.count(),
            "enrollments": self.enrollments.count(),
            "messages": self.messages.count(),
            "memberships": self.memberships.count(),
            "form_submissions": FormSubmissions.count(self.submissions.own),
            "form_mentions": FormSubmissions.count(self.submissions.mentions),
            "data_mentions": sum(len(rows) for rows in self.mentions.values()),
            "queued_tasks": len(self.queue.queued),
            "finished_tasks": len(self.queue.finished),
        }


def holdings(contact):
    """Everything we hold on ``contact``, found in every store it reaches."""
    visitor_ids = list(contact.visitors.values_list("pk", flat=True))
    events = _events_of(contact, visitor_ids)
    enrollments = Enrollment.objects.filter(contact=contact)
    messages = Message.objects.filter(contact=contact)
    subjects = {
        "event": set(events.values_list("pk", flat=True)),
        "enrollment": set(enrollments.values_list("pk", flat=True)),
        "message": set(messages.values_list("pk", flat=True)),
    }
    return Holdings(
        contact=contact,
        events=events,
        enrollments=enrollments,
        messages=messages,
        memberships=ListMembership.objects.filter(contact=contact),
        visitors=Visitor.objects.filter(pk__in=visitor_ids),
        submissions=form_submissions(contact.email, events),
        queue=queue_records(contact.email, subjects),
        mentions={
            Event: _mentioning(Event, contact.email, events),
            Enrollment: _mentioning(Enrollment, contact.email, enrollments),
        },
    )


def _events_of(contact, visitor_ids=None):
    """The contact's events, and its visitors' from before it was known."""
    if visitor_ids is None:
        visitor_ids = contact.visitors.values_list("pk", flat=True)
    return Event.objects.filter(
        Q(contact=contact) | Q(visitor_id__in=visitor_ids, contact__isnull=True)
    )


# The JSON column of other people's rows that may carry an erased address.
MENTION_FIELDS = {Event: "data", Enrollment: "context"}


def _mentioning(model, email, own):
    """Other people's rows whose JSON column holds the address (a referral form's "friend's
    email" is in the referrer's event and run)."""
    field_name = MENTION_FIELDS[model]
    if not email:
        return set()
    rows = (
        model.objects.exclude(pk__in=own.values("pk"))
        .annotate(raw=Cast(field_name, TextField()))
        .filter(raw__icontains=json.dumps(email)[1:-1])
    )
    return {
        pk
        for pk, data in rows.values_list("pk", field_name).iterator(chunk_size=500)
        if any(_folded(email) in _folded(text) for text in _texts(data))
    }


def erase_mentions(mentions, email):
    """Take the address out of other people's events and runs; keep the rest of them."""
    for model, pks in mentions.items():
        name = MENTION_FIELDS[model]
        for pk, data in model.objects.filter(pk__in=pks).values_list("pk", name):
            model.objects.filter(pk=pk).update(**{name: _redacted(data, email)})


# --- Wagtail form submissions -------------------------------------------------------------


def submission_models():
    """Every concrete form-submission model of the site (Wagtail's and custom ones)."""
    from wagtail.contrib.forms.models import AbstractFormSubmission

    return [m for m in apps.get_models() if issubclass(m, AbstractFormSubmission)]


def form_submissions(email, events):
    """The submissions the contact's ``form_submitted`` events name, or whose email field
    (``EMAIL_FIELD_NAMES``) holds its address; and other people's submissions that mention
    it — a referral's "friend's email" is the friend's data only where it names them."""
    found = FormSubmissions(own=_linked_submissions(events))
    for model in submission_models():
        own = found.own.setdefault(model, set())
        for pk, data in _submissions_naming(model, email):
            if pk in own or _submitted_by(data, email):
                own.add(pk)
            else:
                found.mentions.setdefault(model, set()).add(pk)
    found.own = {model: pks for model, pks in found.own.items() if pks}
    return found


def _submitted_by(data, email):
    if not isinstance(data, dict):
        return False
    fields = {_folded(name) for name in flows_settings.EMAIL_FIELD_NAMES}
    return any(
        _folded(key) in fields and _folded(value).strip() == _folded(email)
        for key, value in data.items()
        if isinstance(value, str)
    )


def _linked_submissions(events):
    """``form_submitted`` events name their page and submission (``capture.forms``); the
    page's ``get_submission_class()`` says where the submission lives."""
    linked = events.filter(kind=EventKind.FORM_SUBMITTED, page__isnull=False)
    pairs = [
        (page, pk)
        for page, pk in linked.values_list("page_id", "object_id")
        if (pk or "").isdigit()
    ]
    if not pairs:
        return {}
    page_model = Event._meta.get_field("page").related_model
    pages = page_model.objects.filter(pk__in={page for page, _pk in pairs}).specific()
    model_of = {
        p.pk: p.get_submission_class() for p in pages if hasattr(p, "get_submission_class")
    }
    wanted = defaultdict(set)
    for page, pk in pairs:
        if page in model_of:
            wanted[model_of[page]].add(int(pk))
    return {
        model: set(model.objects.filter(pk__in=pks).values_list("pk", flat=True))
        for model, pks in wanted.items()
    }


def _submissions_naming(model, email):
    """(pk, form_data) of the submissions of ``model`` that hold ``email`` anywhere."""
    if not email:
        return
    rows = model.objects.all()
    if json.dumps(email)[1:-1] == email:  # stored unescaped in the JSON: the database can look
        rows = rows.filter(form_data__icontains=email)
    for pk, data in rows.values_list("pk", "form_data").iterator(chunk_size=500):
        if any(_folded(email) in _folded(text) for text in _texts(data)):
            yield pk, data


def _texts(data):
    if isinstance(data, dict):
        for key, value in data.items():
            yield str(key)
            yield from _texts(value)
    elif isinstance(data, (list, tuple)):
        for value in data:
            yield from _texts(value)
    elif data is not None:
        yield str(data)


def _folded(text):
    return str(text).casefold()


def _redacted(data, email):
    pattern = re.compile(re.escape(email), re.IGNORECASE)
    if isinstance(data, dict):
        return {pattern.sub(REDACTED, k): _redacted(v, email) for k, v in data.items()}
    if isinstance(data, list):
        return [_redacted(value, email) for value in data]
    return pattern.sub(REDACTED, data) if isinstance(data, str) else data


def erase_form_submissions(submissions, email):
    """Delete the contact's submissions; take the address out of the others."""
    for model, pks in submissions.own.items():
        model.objects.filter(pk__in=pks).delete()
    for model, pks in submissions.mentions.items():
        for pk, data in model.objects.filter(pk__in=pks).values_list("pk", "form_data"):
            model.objects.filter(pk=pk).update(form_data=_redacted(data, email))


# --- django-q2's task records -------------------------------------------------------------


def queue_records(email, subjects):
    """django-q2's finished and queued tasks that name the contact (see the module doc)."""
    return QueueRecords(
        finished=_finished_tasks(email, subjects), queued=_queued_tasks(email, subjects)
    )


def _finished_tasks(email, subjects):
    from django_q.models import Task

    stored = ("args", "kwargs", "result")
    rows = Task.objects.annotate(**{f"raw_{name}": Cast(name, TextField()) for name in stored})
    found = []
    columns = ("pk", "func", "name", *(f"raw_{name}" for name in stored))
    for pk, func, name, raw_args, *raw_rest in rows.values_list(*columns).iterator(chunk_size=200):
        texts = [name, *(_unpickled_text(raw) for raw in (raw_args, *raw_rest))]
        if _names_address(email, texts) or _ids_in(func, _unpickled(raw_args), subjects):
            found.append(pk)
    return found


def _queued_tasks(email, subjects):
    """Queued in the ORM broker: a task all of whose ids are the contact's (it would find
    nothing to do), or any whose package holds the address."""
    from django_q.models import OrmQ
    from django_q.signing import SignedPackage

    found = []
    for pk, payload in OrmQ.objects.values_list("pk", "payload").iterator(chunk_size=200):
        try:
            task = SignedPackage.loads(payload)
        except Exception:  # noqa: S112  (signed with another key, or of an older release)
            continue
        text = pickle.dumps(task).decode("utf-8", "replace")
        ids = _ids_in(task.get("func"), task.get("args"), subjects, every=True)
        if _names_address(email, [text]) or ids:
            found.append(pk)
    return found


def _names_address(email, texts):
    wanted = _folded(email)
    return bool(wanted) and any(text and wanted in _folded(text) for text in texts)


def _ids_in(func, args, subjects, every=False):
    """Does the task's first argument name the contact's rows (``every``: only theirs)?"""
    kind = TASK_SUBJECTS.get(func) if isinstance(func, str) else None
    if kind is None or not args:
        return False
    first = args[0] if isinstance(args[0], (list, tuple, set)) else [args[0]]
    ids = {pk for pk in first if isinstance(pk, int)}
    mine = ids & subjects[kind]
    return bool(mine) and (not every or mine == ids)


def _unpickled_text(raw):
    """A stored pickle (picklefield: base64, maybe zlib) as text, without unpickling it: a
    string in the pickle is its UTF-8 bytes, so an address in it is found as it is."""
    data = _pickle_bytes(raw)
    return data.decode("utf-8", "replace") if data else ""


def _unpickled(raw):
    data = _pickle_bytes(raw)
    if not data:
        return None
    try:
        value = pickle.loads(data)  # noqa: S301  (django-q2's own column, as its worker reads it)
    except Exception:
        return None
    return getattr(value, "_obj", value)  # picklefield wraps some values


def _pickle_bytes(raw):
    if not raw:
        return b""
    try:
        data = base64.b64decode(raw)
    except (binascii.Error, ValueError):
        return b""
    try:
        return zlib.decompress(data)
    except zlib.error:
        return data


def erase_queue_records(records):
    from django_q.models import OrmQ, Task

    Task.objects.filter(pk__in=records.finished).delete()
    OrmQ.objects.filter(pk__in=records.queued).delete()


# --- the audit log ------------------------------------------------------------------------


def erased_label(pk):
    return _("Contact #%s (erased)") % pk


def erase_audit_log(contact):
    """The contact's entries keep that they happened, labelled with its number only; any
    other entry naming the address (a label, the data) loses it."""
    from wagtail.models import ModelLogEntry, PageLogEntry

    label = erased_label(contact.pk)
    content_type = ContentType.objects.get_for_model(contact)
    ModelLogEntry.objects.filter(content_type=content_type, object_id=str(contact.pk)).update(
        label=label
    )
    if not contact.email:
        return
    for model in (ModelLogEntry, PageLogEntry):
        model.objects.filter(label__icontains=contact.email).update(label=_("(erased)"))
        model.objects.filter(data__icontains=contact.email).update(data={})


# --- our own tables -----------------------------------------------------------------------


def erase_own_rows(found):
    """The contact and what cascades from it (tags, lists, messages, runs and their step log,
    consent records), its visitors and their anonymous events."""
    found.events.delete()
    found.visitors.delete()
    found.contact.delete()


def erase_contact(contact, reason="erased"):
    """Delete the contact and everything tied to it in every store (see the module doc);
    keep a hash so we never email it again. Returns what it deleted, by store."""
    with transaction.atomic():
        found = holdings(contact)
        counts = found.counts()
        Suppression.objects.get_or_create(
            email_hash=Suppression.hash_email(contact.email), defaults={"reason": reason}
        )
        erase_form_submissions(found.submissions, contact.email)
        erase_mentions(found.mentions, contact.email)
        erase_queue_records(found.queue)
        erase_audit_log(contact)
        erase_own_rows(found)
    return counts


# --- export -------------------------------------------------------------------------------


def export_contact(contact):
    """A JSON-ready dict of all we hold on ``contact``."""
    events = _events_of(contact).order_by("created_at")
    data = {
        "exported_at": timezone.now(),
        "contact": {name: getattr(contact, name) for name in CONTACT_FIELDS},
        "properties": _typed_properties(contact),
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
        "events": [_row(e, fields=EVENT_FIELDS) for e in events],
        "messages": [_row(m, exclude=MESSAGE_EXCLUDE) for m in contact.messages.all()],
        "enrollments": [_enrollment(e) for e in contact.enrollments.select_related("flow")],
        "form_submissions": _exported_submissions(form_submissions(contact.email, events)),
        "consents": [_row(r, exclude=("contact",)) for r in contact.consents.order_by("pk")],
    }
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def _typed_properties(contact):
    """The values of the properties defined in the admin, by their label and type (the
    free-form ones are in ``contact.properties``, beside the JSON copy of these)."""
    values = contact.property_values.select_related("property").order_by("property__label")
    return [
        {
            "key": value.property.key,
            "label": value.property.label,
            "type": value.property.type,
            "value": getattr(value, column_of(value.property)),
            "updated_at": value.updated_at,
        }
        for value in values
    ]


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


def _exported_submissions(submissions):
    rows = []
    for model, pks in submissions.own.items():
        for submission in model.objects.filter(pk__in=pks).select_related("page"):
            rows.append(
                {
                    "page": submission.page.title,
                    "submitted_at": submission.submit_time,
                    "data": submission.form_data,
                }
            )
    return sorted(rows, key=lambda row: row["submitted_at"])
