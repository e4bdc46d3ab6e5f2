"""Typed contact properties the site owner defines in the admin (company size, renewal date…).

``ContactProperty`` is the definition; each contact's value is one ``PropertyValue`` row in
the column of its type, indexed by (property, value), so a segment on one property over a
million contacts is an index range, not a scan of every contact's JSON. ``Contact.properties``
keeps a JSON copy of the same values (merge tags, exports, free-form keys read it); both are
written together, only through ``wagtail_flows.models.properties.set_values``.
"""

import datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from wagtail_flows.models.form_mapping import PROPERTY_KEY_RE
from wagtail_flows.vocabulary import EventKind, PropertyType

# Contact fields a property may not shadow (conditions and merge tags read both by name).
RESERVED_KEYS = frozenset(
    {
        "email",
        "first_name",
        "last_name",
        "full_name",
        "source",
        "timezone",
        "score",
        "grade",
        "stage",
        "status",
        "orders_count",
        "revenue_total",
        "properties",
        "tags",
        "lists",
    }
)


def validate_key(key):
    if not PROPERTY_KEY_RE.fullmatch(key or ""):
        raise ValidationError(
            _(
                "Use letters, digits and single underscores, starting with a letter "
                "(e.g. company_size)."
            )
        )
    if key.lower() in RESERVED_KEYS:
        raise ValidationError(_("“%(key)s” is a contact field already.") % {"key": key})


class ContactProperty(models.Model):
    """A property every contact may have, with its type (and its choices, for a choice)."""

    key = models.CharField(
        _("name in code"),
        max_length=64,
        unique=True,
        validators=[validate_key],
        help_text=_(
            "How merge tags, conditions and imports name it: {{ contact.properties.KEY }}."
        ),
    )
    label = models.CharField(_("label"), max_length=255)
    type = models.CharField(
        _("type"), max_length=16, choices=PropertyType.choices, default=PropertyType.TEXT
    )
    choices = models.TextField(
        _("choices"), blank=True, help_text=_("For a choice: one choice per line.")
    )
    help_text = models.CharField(_("help text"), max_length=255, blank=True)
    in_listing = models.BooleanField(
        _("filter the Contacts listing by it"),
        default=False,
        help_text=_("Shows this property as a filter beside the Contacts listing."),
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("contact property")
        verbose_name_plural = _("contact properties")
        ordering = ["label"]

    def __str__(self):
        return self.label

    @property
    def choice_list(self):
        return [line.strip() for line in self.choices.splitlines() if line.strip()]

    def clean(self):
        if self.type == PropertyType.CHOICE and not self.choice_list:
            raise ValidationError({"choices": _("A choice needs its choices, one per line.")})
        saved = ContactProperty.objects.filter(pk=self.pk).first() if self.pk else None
        if saved is None or not saved.values.exists():
            return
        if saved.key != self.key:
            raise ValidationError(
                {"key": _("Contacts have values of this property: its name in code stays.")}
            )
        if (saved.type, saved.choice_list) != (self.type, self.choice_list):
            failing, examples = type_change_problems(saved, self.type, self.choices)
            if failing:
                raise ValidationError(
                    {
                        "type" if saved.type != self.type else "choices": _(
                            "%(count)s contacts have values that would not fit "
                            "(e.g. %(examples)s): change or clear those values first."
                        )
                        % {"count": failing, "examples": ", ".join(f"“{e}”" for e in examples)}
                    }
                )

    def save(self, *args, **kwargs):
        """A new property takes the values its key already has in contacts' JSON; a change
        of type or choices re-reads them (``rebuild_report`` says how it went)."""
        saved = None
        if self.pk:
            saved = ContactProperty.objects.filter(pk=self.pk).values("type", "choices").first()
        super().save(*args, **kwargs)
        self.rebuild_report = None
        if saved is None or (saved["type"], saved["choices"]) != (self.type, self.choices):
            self.rebuild_report = rebuild_values(self)


class PropertyValue(models.Model):
    """One contact's value of one property, in the column of the property's type."""

    contact = models.ForeignKey(
        "wagtail_flows.Contact", on_delete=models.CASCADE, related_name="property_values"
    )
    property = models.ForeignKey(ContactProperty, on_delete=models.CASCADE, related_name="values")
    text = models.CharField(max_length=255, null=True, blank=True)  # text and choice
    number = models.DecimalField(max_digits=18, decimal_places=4, null=True, blank=True)
    date = models.DateField(null=True, blank=True)
    boolean = models.BooleanField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("property value")
        constraints = [
            models.UniqueConstraint(
                fields=["contact", "property"], name="wagtail_flows_one_value_per_property"
            )
        ]
        indexes = [
            models.Index(fields=["property", "text"], name="wf_propvalue_text"),
            models.Index(fields=["property", "number"], name="wf_propvalue_number"),
            models.Index(fields=["property", "date"], name="wf_propvalue_date"),
            models.Index(fields=["property", "boolean"], name="wf_propvalue_boolean"),
        ]

    def __str__(self):
        return f"{self.property.key} of contact {self.contact_id}"


# --- reading a raw value as the property's type -------------------------------------------

COLUMNS = {
    PropertyType.TEXT: "text",
    PropertyType.CHOICE: "text",
    PropertyType.NUMBER: "number",
    PropertyType.DATE: "date",
    PropertyType.BOOLEAN: "boolean",
}
NUMBER_PLACES = Decimal("0.0001")  # PropertyValue.number: 4 decimal places
NUMBER_LIMIT = Decimal("1e14")  # 18 digits, 4 of them after the point
TEXT_LIMIT = 255
YES = frozenset({"true", "yes", "y", "1", "on", "t"})
NO = frozenset({"false", "no", "n", "0", "off", "f"})


def column_of(prop):
    """The PropertyValue column holding values of ``prop``'s type."""
    return COLUMNS[prop.type]


def _blank(raw):
    return raw is None or (isinstance(raw, str) and not raw.strip()) or raw == []


def _problem(prop, message):
    return ValidationError(
        _("%(label)s: %(problem)s") % {"label": prop.label, "problem": message}, code="invalid"
    )


def _number(prop, raw):
    if isinstance(raw, bool):
        raise _problem(prop, _("enter a number"))
    text = str(raw).strip().replace(" ", "").replace(",", "") if isinstance(raw, str) else raw
    try:
        number = Decimal(str(text))
    except (InvalidOperation, ValueError):
        raise _problem(prop, _("enter a number")) from None
    if not number.is_finite():
        raise _problem(prop, _("enter a number"))
    if abs(number) >= NUMBER_LIMIT:
        raise _problem(prop, _("enter a number below 100,000,000,000,000"))
    return number.quantize(NUMBER_PLACES, rounding=ROUND_HALF_EVEN).normalize() + 0


def _date(prop, raw):
    if isinstance(raw, datetime.datetime):
        return raw.date()
    if isinstance(raw, datetime.date):
        return raw
    text = str(raw).strip()
    try:
        return datetime.date.fromisoformat(text[:10])
    except ValueError:
        raise _problem(prop, _("enter a date as YYYY-MM-DD")) from None


def _boolean(prop, raw):
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in YES:
        return True
    if text in NO:
        return False
    raise _problem(prop, _("enter yes or no"))


def _text(prop, raw):
    if isinstance(raw, list | tuple):
        raw = ", ".join(str(item) for item in raw)
    text = " ".join(str(raw).split())
    if len(text) > TEXT_LIMIT:
        raise _problem(prop, _("enter at most 255 characters"))
    return text


def _choice(prop, raw):
    text = _text(prop, raw)
    for choice in prop.choice_list:
        if choice.casefold() == text.casefold():
            return choice  # as the definition spells it
    raise _problem(
        prop, _("choose one of: %(choices)s") % {"choices": ", ".join(prop.choice_list)}
    )


PARSERS = {
    PropertyType.TEXT: _text,
    PropertyType.NUMBER: _number,
    PropertyType.DATE: _date,
    PropertyType.BOOLEAN: _boolean,
    PropertyType.CHOICE: _choice,
}


def parse(prop, raw):
    """``raw`` (form text, a JSON value, a cell of an import) as a value of ``prop``'s type:
    a Decimal, a date, a bool or a str; None for a blank. Raises ValidationError naming the
    property ("Company size: enter a number") when it does not read as one."""
    if _blank(raw):
        return None
    return PARSERS[prop.type](prop, raw)


def parse_or_none(prop, raw):
    """As ``parse``, with None for a value that does not read as the type (conditions read the
    JSON copy this way, as the typed table has no row for it)."""
    try:
        return parse(prop, raw)
    except ValidationError:
        return None


def to_json(value):
    """A parsed value as the JSON copy keeps it: numbers as numbers, dates as "YYYY-MM-DD"."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def display(prop, stored):
    """The JSON copy of a value as a person reads it (listing, export): "Yes", "3 Dec 2026"."""
    value = parse_or_none(prop, stored)
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(_("Yes") if value else _("No"))
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(to_json(value))


def definitions(keys=None):
    """The defined properties by key (one query), all of them or those named in ``keys``."""
    props = ContactProperty.objects.all()
    if keys is not None:
        props = props.filter(key__in=list(keys))
    return {prop.key: prop for prop in props}


def check_values(values, props):
    """``values`` ({key: raw}) parsed: ({key: JSON value or None}, {key: message}). Keys that
    ``props`` (from ``definitions``) does not define pass through as free-form JSON."""
    parsed, errors = {}, {}
    for key, raw in values.items():
        prop = props.get(key)
        if prop is None:
            parsed[key] = None if _blank(raw) else raw
            continue
        try:
            parsed[key] = to_json(parse(prop, raw))
        except ValidationError as error:
            errors[key] = error.messages[0]
    return parsed, errors


# --- the one write path -------------------------------------------------------------------


def set_values(contact, values, at=None, source="", record=True):
    """Set (or, with None or "", remove) properties of one contact: ``{key: raw, ...}``.

    A defined property's value is parsed for its type and kept both as its PropertyValue
    row and in the JSON copy ``contact.properties``; other keys are free-form JSON. Each
    changed key is recorded on the timeline (``property_changed``, data ``{"from", "to"}``).
    A value that does not parse raises ValidationError naming the property, and nothing is
    changed. Returns the keys that changed."""
    _parsed, errors = check_values(values, definitions(values))
    if errors:
        raise ValidationError(errors)
    changed = set_values_bulk([(contact, values)], at=at, source=source, record=record)
    return changed.get(contact.pk, [])


def set_values_bulk(rows, at=None, source="", record=True):
    """``set_values`` for many contacts at once, in a constant number of queries (about six
    for a batch, whatever its size): ``rows`` is a list of ``(contact, {key: raw})``, each
    contact saved already (a pk). Every value is parsed before anything is written; one that
    does not parse raises ValidationError ``{"<row index>": ["Company size: enter a number"]}``
    and changes nothing (check rows first with ``check_values`` to report them one by one).
    Returns ``{contact pk: [changed keys]}``."""
    rows = [(contact, dict(values)) for contact, values in rows if values]
    if not rows:
        return {}
    props = definitions({key for _contact, values in rows for key in values})
    parsed_rows, errors = [], {}
    for index, (contact, values) in enumerate(rows):
        parsed, problems = check_values(values, props)
        if problems:
            errors[str(index)] = list(problems.values())
        parsed_rows.append((contact, parsed))
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        return _write(parsed_rows, props, at or timezone.now(), source, record)


def _write(parsed_rows, props, at, source, record, rebuild=False):
    from wagtail_flows.models.contacts import Contact

    pks = [contact.pk for contact, _parsed in parsed_rows]
    current = dict(
        Contact.objects.select_for_update().filter(pk__in=pks).values_list("pk", "properties")
    )
    upserts, deletes, events, touched, changed = {}, [], [], {}, {}
    for contact, parsed in parsed_rows:
        before = current.get(contact.pk)
        before = dict(before) if isinstance(before, dict) else {}
        after = dict(before)
        for key, value in parsed.items():
            if value is None:
                after.pop(key, None)
            else:
                after[key] = value
        keys = [k for k in parsed if _differ(before, after, k)]
        contact.properties = current[contact.pk] = after
        if keys:
            changed.setdefault(contact.pk, []).extend(keys)
            touched[contact.pk] = contact
        for key in parsed if rebuild else keys:
            prop = props.get(key)
            if prop is not None and after.get(key) is None:
                deletes.append((prop.pk, contact.pk))
            elif prop is not None:
                upserts[prop.pk, contact.pk] = _row(prop, contact.pk, after[key], at)
        events.extend(_event(contact, k, before.get(k), after.get(k), source) for k in keys)
    _save(list(touched.values()), list(upserts.values()), deletes)
    if record and events:
        from wagtail_flows.models.events import record_events

        record_events(EventKind.PROPERTY_CHANGED, events, at=at)
    return changed


def _differ(before, after, key):
    return (key in before) != (key in after) or before.get(key) != after.get(key)


def _row(prop, contact_pk, json_value, at):
    value = parse(prop, json_value)
    return PropertyValue(
        contact_id=contact_pk, property_id=prop.pk, updated_at=at, **{column_of(prop): value}
    )


def _event(contact, key, old, new, source):
    data = {"from": old, "to": new}
    if source:
        data["source"] = str(source)[:255]
    return {"contact": contact, "name": key[:100], "data": data}


VALUE_FIELDS = ["text", "number", "date", "boolean", "updated_at"]


def _save(contacts, upserts, deletes):
    from wagtail_flows.models.contacts import Contact

    if contacts:
        Contact.objects.bulk_update(contacts, ["properties"], batch_size=500)
    if upserts:
        PropertyValue.objects.bulk_create(
            upserts,
            batch_size=500,
            update_conflicts=True,
            unique_fields=["contact", "property"],
            update_fields=VALUE_FIELDS,
        )
    if deletes:
        gone = Q()
        by_property = {}
        for prop_pk, contact_pk in deletes:
            by_property.setdefault(prop_pk, []).append(contact_pk)
        for prop_pk, contact_pks in by_property.items():
            gone |= Q(property_id=prop_pk, contact_id__in=contact_pks)
        PropertyValue.objects.filter(gone).delete()


# --- values from the JSON copy: a new property over a key in use, a change of type --------

REBUILD_BATCH = 1000
SHOWN_PROBLEMS = 10


class RebuildReport:
    """What ``rebuild_values`` did: values copied, and those that did not read as the type
    (kept in the JSON as they were, with the first few shown as (email, value, message))."""

    def __init__(self):
        self.copied = 0
        self.failed = 0
        self.examples = []

    def __bool__(self):
        return bool(self.copied or self.failed)


def rebuild_values(prop, at=None):
    """(Re)build ``prop``'s PropertyValue rows from the contacts' JSON copies of its key, in
    batches; values that parse are rewritten in the JSON in their typed form, the others are
    left as they are (and have no row: conditions treat them as not set). No timeline events
    (nothing a person changed). Returns a RebuildReport."""
    from wagtail_flows.models.contacts import Contact

    report = RebuildReport()
    at = at or timezone.now()
    with transaction.atomic():
        PropertyValue.objects.filter(property=prop).delete()
        holders = Contact.objects.filter(properties__has_key=prop.key).order_by("pk")
        last = 0
        while True:
            batch = list(
                holders.filter(pk__gt=last).only("pk", "email", "properties")[:REBUILD_BATCH]
            )
            if not batch:
                return report
            last = batch[-1].pk
            _rebuild_batch(prop, batch, report, at)


def _rebuild_batch(prop, contacts, report, at):
    rows = []
    for contact in contacts:
        raw = contact.properties.get(prop.key)
        try:
            value = parse(prop, raw)
        except ValidationError as error:
            report.failed += 1
            if len(report.examples) < SHOWN_PROBLEMS:
                report.examples.append((contact.email, raw, error.messages[0]))
            continue
        if value is not None:
            rows.append((contact, {prop.key: to_json(value)}))
            report.copied += 1
    if rows:
        _write(rows, {prop.key: prop}, at, "", record=False, rebuild=True)


def type_change_problems(prop, new_type, new_choices=""):
    """Why ``prop`` cannot become ``new_type`` (with ``new_choices``): the count and a few
    examples of its current values that would not read as the new type; empty if all do.
    Refusing keeps every value: change or clear those values first."""
    trial = ContactProperty(key=prop.key, label=prop.label, type=new_type, choices=new_choices)
    stored = PropertyValue.objects.filter(property=prop).values_list(
        "contact__properties", flat=True
    )
    failing, examples = 0, []
    for properties in stored.iterator(chunk_size=REBUILD_BATCH):
        raw = (properties or {}).get(prop.key)
        try:
            parse(trial, raw)
        except ValidationError:
            failing += 1
            if len(examples) < 5:
                examples.append(str(raw))
    return failing, examples
