"""A marketer's spreadsheet becomes contacts: read, checked row by row, imported in batches.

Through the engine's entry points (``create_import`` → ``start_import`` → the job, as the
django-q2 task runs it), with the consent rules as invariants: a stated basis subscribes,
otherwise pending (with or without the confirmation email), and an import never makes an
unsubscribed, bounced, complained or erased address subscribed.
"""

import io
from datetime import date
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from tests.factories import ContactFactory, ContactListFactory
from wagtail_flows.engine import import_files as files
from wagtail_flows.engine import imports as importing
from wagtail_flows.engine.tasks import run_import_task
from wagtail_flows.models import (
    ConsentRecord,
    Contact,
    ContactImport,
    ContactProperty,
    Event,
    ListMembership,
    Message,
    PropertyValue,
    Suppression,
)
from wagtail_flows.vocabulary import ContactStatus, EventKind, ImportStatus

HEADER = "E-mail,First name,Last name,Company size\n"


def csv_bytes(*lines, header=HEADER, encoding="utf-8"):
    return (header + "".join(line + "\n" for line in lines)).encode(encoding)


def run(content, name="people.csv", *, mapping=None, **choices):
    """Upload, choose, start and run an import to its end, as the task does."""
    contact_import, _preview = importing.create_import(name, content)
    if mapping:
        contact_import.mapping = {**contact_import.mapping, **mapping}
    for field, value in choices.items():
        setattr(contact_import, field, value)
    importing.start_import(contact_import, background=False)
    run_import_task(contact_import.pk)
    contact_import.refresh_from_db()
    return contact_import


def problems(contact_import):
    return list(contact_import.problems.values_list("line", "column", "reason"))


@pytest.fixture
def company_size(db):
    return ContactProperty.objects.create(key="company_size", label="Company size", type="number")


# --- reading ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "delimiter"),
    [
        (b"Email,Name\nann@example.com,Ann Lee\n", ","),
        (b"Email;Name\nann@example.com;Ann Lee\n", ";"),
        (b"Email\tName\nann@example.com\tAnn Lee\n", "\t"),
        ("\ufeffEmail;Name\nann@example.com;Ann Lee\n".encode(), "bom"),
    ],
)
def test_csv_with_commas_semicolons_tabs_or_a_bom_is_read_the_same(content, delimiter):
    kind, columns, preview, count = files.read_table(content, "people.csv")
    assert (kind, columns, preview, count) == (
        "csv",
        ["Email", "Name"],
        [["ann@example.com", "Ann Lee"]],
        1,
    )


def test_a_windows_csv_is_read_as_cp1252():
    content = "Email;Last name\nzoe@example.com;Müller–Lüdenscheidt\n".encode("cp1252")
    _kind, _columns, preview, _count = files.read_table(content, "excel.csv")
    assert preview == [["zoe@example.com", "Müller–Lüdenscheidt"]]


def test_an_xlsx_workbook_is_read_from_its_first_sheet():
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["Email", "First name", "Renewal"])
    sheet.append(["ann@example.com", "Ann", date(2027, 3, 1)])
    sheet.append([None, None, None])
    sheet.append(["bob@example.com", "Bob", 12.0])
    buffer = io.BytesIO()
    book.save(buffer)
    kind, columns, preview, count = files.read_table(buffer.getvalue(), "people.xlsx")
    assert (kind, columns, count) == ("xlsx", ["Email", "First name", "Renewal"], 2)
    assert preview == [["ann@example.com", "Ann", "2027-03-01"], ["bob@example.com", "Bob", "12"]]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("people.csv", b"", "The file is empty."),
        ("people.csv", b"\n\n", "The file is empty."),
        ("people.csv", b"Email\n", "no contacts below it"),
        ("people.pdf", b"%PDF-1.4", "Upload a CSV file"),
        ("people.xlsx", b"Email\nann@example.com\n", "not an Excel workbook"),
        ("people.csv", b"PK\x03\x04rest", "not a CSV text file"),
    ],
)
def test_a_file_that_is_no_table_of_contacts_is_refused_naming_the_file(
    db, name, content, message
):
    with pytest.raises(ValidationError) as error:
        importing.create_import(name, content)
    assert message in " ".join(error.value.message_dict["file"])
    assert not ContactImport.objects.exists()


def test_a_file_over_the_size_limit_is_refused_and_not_kept(db, settings):
    settings.WAGTAIL_FLOWS = {**settings.WAGTAIL_FLOWS, "IMPORT_MAX_BYTES": 100}
    with pytest.raises(ValidationError) as error:
        importing.create_import(
            "big.csv", csv_bytes(*[f"p{i}@example.com,A,B," for i in range(10)])
        )
    assert "larger than" in error.value.message_dict["file"][0]
    assert not ContactImport.objects.exists()


def test_the_columns_are_guessed_from_their_names_and_the_properties(company_size):
    header = "E-mail,First name,Surname,Company size,Tags,Notes\n"
    contact_import, preview = importing.create_import(
        "p.csv", csv_bytes("a@example.com,A,B,3,x,y", header=header)
    )
    assert contact_import.mapping == {
        "E-mail": "email",
        "First name": "first_name",
        "Surname": "last_name",
        "Company size": "property:company_size",
        "Tags": "tags",
        "Notes": "ignore",
    }
    assert preview == [["a@example.com", "A", "B", "3", "x", "y"]]
    assert contact_import.total_rows == 1 and contact_import.status == ImportStatus.UPLOADED


def test_a_mapping_without_one_email_column_cannot_start(db):
    contact_import, _ = importing.create_import("p.csv", csv_bytes("a@example.com,A,B,"))
    contact_import.mapping = {**contact_import.mapping, "E-mail": "ignore"}
    with pytest.raises(ValidationError) as error:
        importing.start_import(contact_import, background=False)
    assert "email addresses" in error.value.message_dict["mapping"][0]
    contact_import.refresh_from_db()
    assert contact_import.status == ImportStatus.UPLOADED


# --- checking: all or nothing ------------------------------------------------------------------


def test_every_bad_value_is_reported_and_a_file_with_errors_changes_nothing(company_size):
    done = run(
        csv_bytes(
            "ann@example.com,Ann,Lee,12",
            "not-an-address,Bob,Ray,3",
            ",Nobody,Here,",
            "ANN@example.com,Ann,Again,4",
            "cy@example.com," + "C" * 151 + ",Day,many",
        )
    )
    assert done.status == ImportStatus.HAS_ERRORS
    assert problems(done) == [
        (3, "E-mail", "“not-an-address” is not a valid email address."),
        (4, "E-mail", "No email address."),
        (5, "E-mail", "The same address as row 2: only that row is imported."),
        (6, "First name", "Longer than 150 characters."),
        (6, "Company size", "“many”: Company size: enter a number"),
    ]
    assert (done.total_rows, done.checked_rows, done.problem_count) == (5, 5, 4)
    assert not Contact.objects.exists() and not Event.objects.exists()
    assert done.content is not None  # kept, for "import the valid rows"


def test_import_the_valid_rows_imports_only_rows_without_problems(company_size):
    done = run(
        csv_bytes("ann@example.com,Ann,Lee,12", "bad@,Bob,Ray,3", "cy@example.com,Cy,Day,x"),
        import_valid_rows=True,
        consent="none",
    )
    assert done.status == ImportStatus.DONE
    assert list(Contact.objects.values_list("email", flat=True)) == ["ann@example.com"]
    assert (done.created_count, done.problem_count) == (1, 2)
    assert done.content is None  # wiped when the import ends


def test_a_stopped_import_can_import_its_valid_rows_later_without_uploading_again(db):
    stopped = run(csv_bytes("ann@example.com,Ann,Lee,", "bad@,Bob,Ray,"), consent="none")
    assert stopped.status == ImportStatus.HAS_ERRORS and not Contact.objects.exists()

    importing.import_valid_rows(stopped, background=False)
    run_import_task(stopped.pk)
    stopped.refresh_from_db()
    assert stopped.status == ImportStatus.DONE and stopped.created_count == 1
    assert list(Contact.objects.values_list("email", flat=True)) == ["ann@example.com"]


# --- consent (invariants) ---------------------------------------------------------------------


def test_a_stated_basis_subscribes_new_contacts_with_their_proof(db):
    basis = "Signed up at our stand, Expo 2026, paper form"
    run(csv_bytes("ann@example.com,Ann,Lee,"), consent="stated", consent_basis=basis)
    ann = Contact.objects.get()
    assert ann.status == ContactStatus.SUBSCRIBED and ann.consent_at is not None
    record = ConsentRecord.objects.get(contact=ann)
    assert basis in record.wording and record.confirmed_at is not None
    assert record.source == "Import: people.csv"
    assert not Message.objects.exists()


def test_a_stated_consent_needs_its_basis(db):
    contact_import, _ = importing.create_import("p.csv", csv_bytes("a@example.com,A,B,"))
    contact_import.consent = "stated"
    with pytest.raises(ValidationError) as error:
        importing.start_import(contact_import, background=False)
    assert "consent_basis" in error.value.message_dict


def test_confirm_imports_pending_contacts_and_emails_each_a_confirmation(
    db, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        run(csv_bytes("ann@example.com,Ann,Lee,", "bob@example.com,Bob,Ray,"), consent="confirm")
    assert set(Contact.objects.values_list("status", flat=True)) == {ContactStatus.PENDING}
    records = ConsentRecord.objects.all()
    assert {r.method for r in records} == {"double_opt_in"} and len(records) == 2
    assert all(r.confirmed_at is None and r.confirmation_sent_at for r in records)
    assert sorted(m.to[0] for m in mail.outbox) == ["ann@example.com", "bob@example.com"]
    assert all(m.transactional for m in Message.objects.all())


def test_no_consent_imports_pending_contacts_and_sends_nothing(
    db, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        run(csv_bytes("ann@example.com,Ann,Lee,"), consent="none")
    assert Contact.objects.get().status == ContactStatus.PENDING
    assert not ConsentRecord.objects.exists() and not mail.outbox


@pytest.mark.parametrize("status", ["unsubscribed", "bounced", "complained", "pending"])
@pytest.mark.parametrize("existing", ["update", "skip"])
def test_an_import_never_changes_the_consent_of_an_address_already_there(db, status, existing):
    ContactFactory(email="ann@example.com", first_name="Old", status=status)
    run(
        csv_bytes("Ann@Example.com,Ann,Lee,"),
        consent="stated",
        consent_basis="Expo 2026",
        existing=existing,
    )
    ann = Contact.objects.get()
    assert ann.status == status
    assert ann.first_name == ("Ann" if existing == "update" else "Old")
    assert not ConsentRecord.objects.exists()


@pytest.mark.parametrize("existing", ["update", "skip"])
def test_an_erased_address_is_never_imported_again_and_is_reported_as_skipped(db, existing):
    Suppression.objects.create(
        email_hash=Suppression.hash_email("gone@example.com"), reason="erased"
    )
    done = run(
        csv_bytes("gone@example.com,Gone,Away,", "ann@example.com,Ann,Lee,"),
        consent="stated",
        consent_basis="Expo 2026",
        existing=existing,
    )
    assert list(Contact.objects.values_list("email", flat=True)) == ["ann@example.com"]
    assert (done.status, done.created_count, done.skipped_count) == ("done", 1, 1)
    assert problems(done) == [
        (
            2,
            "E-mail",
            "Skipped: this address was erased or reported spam and may not be imported again.",
        )
    ]


def test_a_complained_contact_on_the_suppression_list_is_not_even_updated(db):
    ann = ContactFactory(email="ann@example.com", first_name="Old", status="complained")
    Suppression.objects.create(email_hash=Suppression.hash_email(ann.email), reason="complained")
    done = run(csv_bytes("ann@example.com,New,Name,"), consent="none", existing="update")
    ann.refresh_from_db()
    assert (ann.first_name, ann.status, done.updated_count, done.skipped_count) == (
        "Old",
        "complained",
        0,
        1,
    )


# --- existing addresses, properties, lists, timeline -------------------------------------------


def test_update_overwrites_the_mapped_non_empty_values_and_skip_leaves_them(company_size):
    ann = ContactFactory(email="ann@example.com", first_name="Ann", last_name="Old", source="shop")
    done = run(csv_bytes("ANN@example.com,,New,250", "bob@example.com,Bob,Ray,3"), consent="none")
    ann.refresh_from_db()
    assert (ann.first_name, ann.last_name, ann.source) == ("Ann", "New", "shop")
    assert ann.properties == {"company_size": 250}
    assert PropertyValue.objects.get(contact=ann).number == Decimal("250")
    assert (done.created_count, done.updated_count) == (1, 1)
    assert Contact.objects.count() == 2  # matched case-insensitively, as the unique index

    again = run(csv_bytes("ann@example.com,Changed,Again,9"), consent="none", existing="skip")
    ann.refresh_from_db()
    assert (ann.first_name, ann.properties, again.skipped_count) == (
        "Ann",
        {"company_size": 250},
        1,
    )


def test_typed_properties_tags_full_names_and_time_zones_are_imported(db):
    ContactProperty.objects.create(key="renewal", label="Renewal date", type="date")
    ContactProperty.objects.create(key="vip", label="VIP", type="boolean")
    header = "Email,Name,Renewal date,VIP,Tags,Time zone\n"
    run(
        csv_bytes(
            "ann@example.com,Ann van der Berg,31/12/2026,yes,expo; vip,Europe/Paris", header=header
        ),
        consent="none",
    )
    ann = Contact.objects.get()
    assert (ann.first_name, ann.last_name, ann.timezone) == ("Ann", "van der Berg", "Europe/Paris")
    assert ann.properties == {"renewal": "2026-12-31", "vip": True}
    assert sorted(ann.tags.names()) == ["expo", "vip"]
    values = {
        v.property.key: (v.date, v.boolean)
        for v in PropertyValue.objects.select_related("property")
    }
    assert values == {"renewal": (date(2026, 12, 31), None), "vip": (None, True)}


def test_contacts_join_the_chosen_list_without_starting_its_flows(db):
    from tests.test_admin import make_flow, raw

    expo = ContactListFactory(name="Expo 2026")
    welcome = make_flow("Welcome", status="live")
    welcome.triggers = [raw("list_joined", {"list": expo.pk})]
    welcome.save()
    already = ContactFactory(email="bob@example.com")
    ListMembership.objects.create(contact=already, contact_list=expo)
    run(
        csv_bytes("ann@example.com,Ann,Lee,", "bob@example.com,Bob,Ray,"),
        consent="none",
        contact_list=expo,
    )

    assert ListMembership.objects.filter(contact_list=expo).count() == 2
    joined = Event.objects.filter(kind=EventKind.LIST_JOINED)
    assert [e.contact.email for e in joined] == ["ann@example.com"]
    assert not Event.objects.filter(pending_dispatch=True).exists()
    assert not welcome.enrollments.exists()


def test_each_contact_s_timeline_shows_the_import_and_new_contacts_its_source(db):
    ContactFactory(email="bob@example.com", source="shop")
    done = run(csv_bytes("ann@example.com,Ann,Lee,", "bob@example.com,Bob,Ray,"), consent="none")
    imported = Event.objects.filter(kind=EventKind.CUSTOM, name="Imported")
    assert {(e.contact.email, e.data["new"]) for e in imported} == {
        ("ann@example.com", True),
        ("bob@example.com", False),
    }
    assert all(e.object_id == str(done.pk) for e in imported)
    assert dict(Contact.objects.values_list("email", "source")) == {
        "ann@example.com": "Import: people.csv",
        "bob@example.com": "shop",
    }


# --- batches: cursor, resume, queries ---------------------------------------------------------


def many(count, start=0):
    return csv_bytes(*[f"p{i}@example.com,P{i},Q,{i}" for i in range(start, start + count)])


def test_a_batch_delivered_twice_does_nothing_the_second_time(db, settings):
    settings.WAGTAIL_FLOWS = {**settings.WAGTAIL_FLOWS, "IMPORT_BATCH_SIZE": 3}
    contact_import, _ = importing.create_import("p.csv", many(7))
    contact_import.consent = "none"
    importing.start_import(contact_import, background=False)
    assert importing.run_import(contact_import.pk, 1) is None  # the whole job, cursor 1
    contact_import.refresh_from_db()
    assert contact_import.status == ImportStatus.DONE
    # the same first task, delivered again: the cursor moved on, nothing happens
    assert importing.run_import(contact_import.pk, 1) is None
    assert Contact.objects.count() == 7 and Event.objects.count() == 7


def test_a_job_resumed_after_a_lost_task_goes_on_after_the_last_committed_row(db, settings):
    from datetime import timedelta

    from django.utils import timezone

    settings.WAGTAIL_FLOWS = {**settings.WAGTAIL_FLOWS, "IMPORT_BATCH_SIZE": 3}
    contact_import, _ = importing.create_import("p.csv", many(8))
    contact_import.consent = "none"
    importing.start_import(contact_import, background=False)
    # each task does one batch and hands over; after the first import batch the worker dies
    cursor, handed = 1, []
    while True:
        cursor = importing.run_import(contact_import.pk, cursor, budget=timedelta(days=-1))
        handed.append(cursor)
        contact_import.refresh_from_db()
        if contact_import.status == ImportStatus.IMPORTING and contact_import.cursor > 1:
            break
    assert handed == [4, 7, 9, 4]  # three batches checked, then the first imported
    assert Contact.objects.count() == 3

    later = timezone.now() + timedelta(hours=1)
    queued = []
    from wagtail_flows.engine import queue

    original = queue.enqueue
    queue.enqueue = lambda func, *args: queued.append((func, args))
    try:
        assert importing.resume_stalled_imports(later) == 1
    finally:
        queue.enqueue = original
    assert queued == [(importing.IMPORT_JOB_FUNC, (contact_import.pk, contact_import.cursor))]
    run_import_task(*queued[0][1])
    contact_import.refresh_from_db()
    assert contact_import.status == ImportStatus.DONE
    assert sorted(Contact.objects.values_list("email", flat=True)) == sorted(
        f"p{i}@example.com" for i in range(8)
    )
    assert Event.objects.count() == 8


def _prepared_batch(count, contact_list):
    """A checked import of ``count`` rows (confirm, a list, a property) and its one batch."""
    contact_import, _ = importing.create_import("p.csv", many(count, start=1000 * count))
    contact_import.consent = "confirm"
    contact_import.contact_list = contact_list
    importing.start_import(contact_import, background=False)
    job = importing.Job(contact_import)
    importing._check_phase(job, 1, None, None, None)
    batch = list(job.batches(1))[0]
    return job, batch


def test_a_batch_of_30_rows_costs_the_queries_of_a_batch_of_3(
    company_size, django_assert_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    expo = ContactListFactory(name="Expo")
    ContactFactory(email="p3000@example.com")  # an existing one in the small batch
    ContactFactory(email="p30000@example.com")  # and in the big one
    job, batch = _prepared_batch(3, expo)
    with CaptureQueriesContext(connection) as small:
        importing.import_batch(job, batch, 1, batch[-1][0])
    assert len(small.captured_queries) < 30

    job, batch = _prepared_batch(30, expo)
    with django_assert_num_queries(len(small.captured_queries)):
        importing.import_batch(job, batch, 1, batch[-1][0])
    assert Contact.objects.count() == 2 + 2 + 29
    assert Message.objects.count() == 2 + 29  # a confirmation for each new contact


def test_a_check_resumed_by_a_fresh_task_still_finds_duplicates_of_earlier_rows(db, settings):
    from datetime import timedelta

    settings.WAGTAIL_FLOWS = {**settings.WAGTAIL_FLOWS, "IMPORT_BATCH_SIZE": 2}
    content = csv_bytes("ann@example.com,A,,", "bob@example.com,B,,", "cy@example.com,C,,")
    content += b"ANN@example.com,Again,,\n"
    contact_import, _ = importing.create_import("p.csv", content)
    contact_import.consent = "none"
    importing.start_import(contact_import, background=False)
    cursor = importing.run_import(contact_import.pk, budget=timedelta(days=-1))
    assert cursor == 3  # one batch checked, then handed to a fresh task
    importing.run_import(contact_import.pk, cursor)
    contact_import.refresh_from_db()
    assert contact_import.status == ImportStatus.HAS_ERRORS
    assert problems(contact_import) == [
        (5, "E-mail", "The same address as row 2: only that row is imported.")
    ]
