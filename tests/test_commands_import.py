"""``manage.py flows_import``: a developer imports a file as the admin does, from a shell."""

import os
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.factories import ContactFactory, ContactListFactory
from wagtail_flows.models import Contact, ContactImport, ContactProperty, Suppression
from wagtail_flows.vocabulary import ContactStatus, ImportStatus

SAMPLE = os.path.join(
    os.path.dirname(os.path.dirname(__file__)), "sandbox", "demo", "sample_contacts.csv"
)


def write(tmp_path, text, name="people.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def flows_import(*args):
    out = StringIO()
    call_command("flows_import", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def sandbox_contacts(db):
    """What the sandbox's loader puts in place for the sample file."""
    ContactProperty.objects.create(key="company_size", label="Company size", type="number")
    ContactFactory(email="sam.former@example.com", first_name="Sam", status="unsubscribed")
    Suppression.objects.create(
        email_hash=Suppression.hash_email("erased.person@example.com"), reason="erased"
    )


def test_the_sample_file_stops_on_its_errors_and_lists_them(sandbox_contacts):
    with pytest.raises(CommandError, match="5 row\\(s\\) have errors: nothing was imported"):
        flows_import(SAMPLE, "--consent", "none", "--sync")
    assert Contact.objects.count() == 1  # only Sam, from before
    assert ContactImport.objects.get().status == ImportStatus.HAS_ERRORS


def test_the_sample_file_imports_its_valid_rows_on_a_stated_basis(sandbox_contacts):
    expo = ContactListFactory(name="Expo 2026")
    out = flows_import(
        SAMPLE,
        "--consent=stated",
        "--basis=Signed up at our stand, Expo 2026",
        "--list=Expo 2026",
        "--valid-rows",
        "--sync",
    )
    assert "E-mail → email" in out and "Company size → property:company_size" in out
    assert "row 7, E-mail: “maria.garcia@@example.com” is not a valid email address." in out
    assert "row 10, Time zone: “Mars/Olympus” is not a time zone" in out
    assert "row 13, E-mail: Skipped: this address was erased" in out
    assert "Done: 13 new, 1 updated, 1 skipped, 5 with errors." in out
    sam = Contact.objects.get(email="sam.former@example.com")
    assert sam.status == ContactStatus.UNSUBSCRIBED  # never re-subscribed by an import
    assert not Contact.objects.filter(email="erased.person@example.com").exists()
    ada = Contact.objects.get(email="ada.lovelace@example.com")
    assert (ada.status, ada.properties, ada.timezone) == (
        ContactStatus.SUBSCRIBED,
        {"company_size": 120},
        "Europe/London",
    )
    assert sorted(ada.tags.names()) == ["expo-2026", "vip"]
    assert expo.memberships.count() == 14


def test_map_names_a_column_s_target_and_refuses_an_unknown_column(db, tmp_path):
    path = write(tmp_path, "Mail address,Who\nann@example.com,Ann Lee\n")
    out = flows_import(path, "--map", "Who=full_name", "--consent", "none", "--sync")
    assert "Who → full_name" in out and "Done: 1 new" in out
    ann = Contact.objects.get()
    assert (ann.email, ann.first_name, ann.last_name) == ("ann@example.com", "Ann", "Lee")

    with pytest.raises(CommandError, match="no column “Nope”"):
        flows_import(path, "--map", "Nope=email", "--sync")
    assert ContactImport.objects.count() == 1  # the refused one was not kept


def test_bad_choices_are_refused_before_anything_is_imported(db, tmp_path):
    path = write(tmp_path, "Email\nann@example.com\n")
    with pytest.raises(CommandError, match="consent_basis"):
        flows_import(path, "--consent", "stated", "--sync")
    with pytest.raises(CommandError, match="No contact list named “Nope”"):
        flows_import(path, "--list", "Nope", "--sync")
    with pytest.raises(CommandError, match="Upload a CSV file"):
        flows_import(write(tmp_path, "x", name="people.pdf"), "--sync")
    with pytest.raises(CommandError, match="Cannot read"):
        flows_import(str(tmp_path / "missing.csv"))
    assert not Contact.objects.exists() and not ContactImport.objects.exists()


def test_without_sync_the_job_goes_to_the_cluster(
    db, tmp_path, django_capture_on_commit_callbacks
):
    path = write(tmp_path, "Email\nann@example.com\n")
    with django_capture_on_commit_callbacks(execute=True):
        out = flows_import(path, "--consent", "none")
    assert "runs in the django-q2 cluster" in out
    # the test settings' django-q2 runs tasks inline (sync): the job is done
    assert ContactImport.objects.get().status == ImportStatus.DONE
    assert Contact.objects.get().email == "ann@example.com"
