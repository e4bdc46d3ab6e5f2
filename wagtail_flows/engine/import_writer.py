"""Writing one batch of checked rows of a contact import (``engine.imports``).

A fixed list of set-based queries per batch, whatever its size: the suppression list, the
contacts already there (matched lower-case, as the unique index), one insert of the new
contacts, one bulk update of the existing ones, then property values, tags, the list, the
consent records and confirmation emails, and the timeline events, each in bulk.
"""

from django.db import transaction
from django.db.models.functions import Lower
from django.utils.translation import gettext as _

from wagtail_flows.conf import flows_settings
from wagtail_flows.models import (
    ConsentRecord,
    Contact,
    ImportProblem,
    ListMembership,
    Message,
    PropertyValue,
    Suppression,
    TaggedContact,
)
from wagtail_flows.models.consent import ConsentSettings
from wagtail_flows.models.events import Event, clean_event
from wagtail_flows.models.properties import column_of, set_values_bulk, to_json
from wagtail_flows.vocabulary import (
    ConsentMethod,
    ContactStatus,
    EventKind,
    ImportConsent,
    ImportExisting,
)

IMPORTED_EVENT = "Imported"
# The method of a consent record made from a stated basis (a vocabulary value of its own is
# asked of the lead; until then it is a single opt-in, confirmed at the import).
STATED_METHOD = ConsentMethod.IMPORTED


class BatchWriter:
    """Writes one batch's valid rows: a fixed list of set-based queries."""

    def __init__(self, job, now):
        self.job, self.imp, self.now = job, job.imp, now
        self.created = self.updated = self.skipped = 0
        self.source = _("Import: %s") % self.imp.original_name

    def write(self, rows):
        if not rows:
            return
        rows = self._drop_suppressed(rows)
        existing = _existing_contacts([row.email for row in rows])
        new_rows = [row for row in rows if row.email not in existing]
        old_rows = [row for row in rows if row.email in existing]
        if self.imp.existing == ImportExisting.SKIP:
            self.skipped += len(old_rows)
            old_rows = []
        new_contacts = self._create(new_rows)
        old_contacts = self._update(old_rows, existing)
        new_pairs = list(zip(new_rows, new_contacts, strict=True))
        old_pairs = old_rows_with(old_rows, existing)
        pairs = [*new_pairs, *old_pairs]
        self._new_properties(new_pairs)
        self._properties(old_pairs)
        tag_events = self._tags(pairs)
        list_events = self._list(pairs, old_contacts)
        self._consent(new_contacts)
        self._events(pairs, new_contacts, tag_events, list_events)

    # --- who is written -------------------------------------------------------------------

    def _drop_suppressed(self, rows):
        hashes = {Suppression.hash_email(row.email): row for row in rows}
        suppressed = set(
            Suppression.objects.filter(email_hash__in=hashes).values_list("email_hash", flat=True)
        )
        if not suppressed:
            return rows
        column = _email_column(self.imp)
        ImportProblem.objects.bulk_create(
            ImportProblem(
                contact_import_id=self.imp.pk,
                line=hashes[h].line,
                column=column,
                reason=_(
                    "Skipped: this address was erased or reported spam and may not be "
                    "imported again."
                ),
            )
            for h in suppressed
        )
        self.skipped += len(suppressed)
        return [row for row in rows if Suppression.hash_email(row.email) not in suppressed]

    def _create(self, rows):
        stated = self.imp.consent == ImportConsent.STATED
        contacts = [
            Contact(
                email=row.email,
                first_name=row.fields.get("first_name", ""),
                last_name=row.fields.get("last_name", ""),
                source=row.fields.get("source", self.source)[:255],
                timezone=row.fields.get("timezone", ""),
                properties={key: to_json(value) for key, value in row.properties.items()},
                status=ContactStatus.SUBSCRIBED if stated else ContactStatus.PENDING,
                consent_at=self.now if stated else None,
                created_at=self.now,
                last_activity_at=self.now,
            )
            for row in rows
        ]
        created = Contact.objects.bulk_create(contacts)
        self.created += len(created)
        return created

    def _update(self, rows, existing):
        """Mapped, non-empty values overwrite; consent status is never touched."""
        contacts, changed, fields = [], [], set()
        for row in rows:
            contact = existing[row.email]
            dirty = False
            for name, value in row.fields.items():
                if getattr(contact, name) != value:
                    setattr(contact, name, value)
                    fields.add(name)
                    dirty = True
            if dirty:
                changed.append(contact)
            contacts.append(contact)
        if changed:  # only the rows that differ: a file imported again writes nothing
            for contact in changed:
                contact.updated_at = self.now
            Contact.objects.bulk_update(changed, [*sorted(fields), "updated_at"])
        self.updated += len(contacts)
        return contacts

    # --- what comes with each contact -------------------------------------------------------

    def _properties(self, pairs):
        """Contacts already there: through ``set_values_bulk``, which compares and writes
        only what changed (the typed rows and the JSON copy)."""
        values = [(contact, row.properties) for row, contact in pairs if row.properties]
        if values:
            set_values_bulk(values, at=self.now, source=self.source, record=False)

    def _new_properties(self, pairs):
        """Contacts just inserted (their JSON copy was in the INSERT): only their typed
        rows, as ``set_values_bulk`` writes them, in one insert."""
        rows = [
            PropertyValue(
                contact_id=contact.pk,
                property_id=self.job.properties[key].pk,
                updated_at=self.now,
                **{column_of(self.job.properties[key]): value},
            )
            for row, contact in pairs
            for key, value in row.properties.items()
        ]
        PropertyValue.objects.bulk_create(rows)

    def _tags(self, pairs):
        from taggit.models import Tag

        wanted = {name.lower(): name for row, _c in pairs for name in row.tags}
        if not wanted:
            return []
        tags = {
            t.name.lower(): t
            for t in Tag.objects.annotate(lname=Lower("name")).filter(lname__in=list(wanted))
        }
        for lname, name in wanted.items():  # a tag name new to the site: once, ever
            if lname not in tags:
                tags[lname], _created = Tag.objects.get_or_create(name=name)
        ids = [contact.pk for _r, contact in pairs]
        had = set(
            TaggedContact.objects.filter(content_object_id__in=ids).values_list(
                "content_object_id", "tag_id"
            )
        )
        links, events = [], []
        for row, contact in pairs:
            for lname in dict.fromkeys(name.lower() for name in row.tags):
                tag = tags[lname]
                if (contact.pk, tag.pk) not in had:
                    had.add((contact.pk, tag.pk))
                    links.append(TaggedContact(content_object_id=contact.pk, tag=tag))
                    events.append((contact, EventKind.TAG_ADDED, tag.name, ""))
        TaggedContact.objects.bulk_create(links)
        return events

    def _list(self, pairs, old_contacts):
        contact_list = self.job.contact_list
        if contact_list is None:
            return []
        members = set(
            ListMembership.objects.filter(
                contact_list=contact_list, contact__in=[c.pk for c in old_contacts]
            ).values_list("contact_id", flat=True)
        )
        joining = [contact for _r, contact in pairs if contact.pk not in members]
        ListMembership.objects.bulk_create(
            [
                ListMembership(contact=c, contact_list=contact_list, joined_at=self.now)
                for c in joining
            ],
            ignore_conflicts=True,
        )
        return [
            (c, EventKind.LIST_JOINED, contact_list.name, str(contact_list.pk)) for c in joining
        ]

    def _consent(self, new_contacts):
        consent = self.imp.consent
        if not new_contacts or consent == ImportConsent.NONE:
            return
        stated = consent == ImportConsent.STATED
        settings = self.job.consent_settings
        records = ConsentRecord.objects.bulk_create(
            [
                ConsentRecord(
                    contact=contact,
                    email=contact.email,
                    method=STATED_METHOD if stated else ConsentMethod.DOUBLE_OPT_IN,
                    source=self.source[:255],
                    site_id=settings.site_id if settings else None,
                    wording=self._wording(stated),
                    requested_at=self.now,
                    confirmed_at=self.now if stated else None,
                    confirmation_sent_at=None if stated else self.now,
                )
                for contact in new_contacts
            ]
        )
        if not stated:
            _send_confirmations(records, self.job.confirmation_page, self.now)

    def _wording(self, stated):
        who = self.imp.created_by.get_username() if self.imp.created_by else _("a developer")
        if stated:
            return _("Imported from “%(file)s” by %(who)s. Basis of consent: %(basis)s") % {
                "file": self.imp.original_name,
                "who": who,
                "basis": self.imp.consent_basis.strip(),
            }
        return _("Imported from “%(file)s” by %(who)s; asked to confirm by email.") % {
            "file": self.imp.original_name,
            "who": who,
        }

    def _events(self, pairs, new_contacts, tag_events, list_events):
        """The timeline: one "Imported" event per contact, and the tags and list joined.
        Written without dispatch: an import starts no flow (see the module's docstring)."""
        new = {c.pk for c in new_contacts}
        data = {"import": self.imp.pk, "file": self.imp.original_name[:100]}
        entries = [
            (
                contact,
                EventKind.CUSTOM,
                IMPORTED_EVENT,
                str(self.imp.pk),
                {**data, "new": contact.pk in new},
            )
            for _row, contact in pairs
        ]
        entries += [
            (c, kind, name, oid, data) for c, kind, name, oid in [*tag_events, *list_events]
        ]
        record_quietly(entries, self.now)


def old_rows_with(rows, existing):
    return [(row, existing[row.email]) for row in rows]


def _existing_contacts(addresses):
    """The contacts with these addresses, by lower-case address (as the unique index)."""
    found = Contact.objects.annotate(email_lower=Lower("email")).filter(email_lower__in=addresses)
    return {contact.email_lower: contact for contact in found}


def _email_column(contact_import):
    return next((c for c, t in contact_import.mapping.items() if t == "email"), "")


def consent_settings():
    from wagtail.models import Site

    site = Site.objects.filter(is_default_site=True).first()
    return ConsentSettings.for_site(site) if site else None


def _send_confirmations(records, page, now):
    """One double opt-in email per new contact, delivered in batches after commit. The
    contacts are new, so the per-address limits of ``capture.consent`` hold trivially."""
    messages = Message.objects.bulk_create(
        [
            Message(
                contact_id=record.contact_id,
                consent=record,
                page=page,
                to_email=record.email,
                transactional=True,
                created_at=now,
            )
            for record in records
        ]
    )
    ids = [message.pk for message in messages]
    size = max(1, int(flows_settings.SEND_BATCH_SIZE))

    def hand_over():
        from wagtail_flows.emails.delivery import enqueue_batch

        for start in range(0, len(ids), size):
            enqueue_batch(ids[start : start + size])

    transaction.on_commit(hand_over)


def record_quietly(entries, at):
    """Timeline events in one INSERT, checked like ``record_event``, never dispatched.

    ``entries``: (contact, kind, name, object_id, data). Only kinds that move no activity
    date (custom, tag added, list joined)."""
    cleaned = {}  # a batch has few distinct events: each is checked once

    def fields(kind, name, object_id, data):
        key = (kind, name, object_id, tuple(sorted(data.items())))
        if key not in cleaned:
            cleaned[key] = clean_event(kind, name=name, object_id=object_id, data=data)
        return cleaned[key]

    Event.objects.bulk_create(
        [
            Event(contact=contact, created_at=at, pending_dispatch=False, **fields(*event))
            for contact, *event in entries
        ]
    )
