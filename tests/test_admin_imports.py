"""Contacts › Import contacts, through the real admin views, as someone with the contacts role
(add, change and view contacts; nothing else). The job runs as a django-q2 task (the test
settings' sync mode) after the commit of the request that starts it."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tests.conftest import make_staff_user
from tests.factories import ContactFactory, ContactListFactory
from wagtail_flows.models import Contact, ContactImport, ContactProperty, ListMembership
from wagtail_flows.vocabulary import ContactStatus, ImportStatus

BASE = "/admin/flows/imports/"
UPLOAD_URL = f"{BASE}upload/"
CONTACTS_URL = "/admin/flows/contacts/"
CONTACTS_ROLE = ("add_contact", "change_contact", "view_contact")
FILE = (
    "E-mail;First name;Last name;Company size\n"
    "ann@example.com;Ann;Lee;12\n"
    "bob@example.com;Bob;Ray;many\n"
    "cy@example.com;Cy;Day;3\n"
)


@pytest.fixture
def marketer(db):
    return make_staff_user("marketer", *CONTACTS_ROLE)


@pytest.fixture
def company_size(db):
    return ContactProperty.objects.create(key="company_size", label="Company size", type="number")


def upload(client, content=FILE, name="expo.csv"):
    data = content.encode() if isinstance(content, str) else content
    return client.post(UPLOAD_URL, {"file": SimpleUploadedFile(name, data)})


def mapping_data(response, **choices):
    """What the mapping form sends when the guesses are kept."""
    form = response.context["form"]
    data = {name: form[name].initial for name in form.column_fields}
    data.update({"consent": "none", "existing": "update", "consent_basis": ""})
    data.update(choices)
    return {k: v for k, v in data.items() if v is not None and v is not False}


def start(client, capture, **choices):
    response = upload(client)
    assert response.status_code == 302
    map_url = response.url
    form_page = client.get(map_url)
    with capture(execute=True):
        started = client.post(map_url, mapping_data(form_page, **choices))
    return started, ContactImport.objects.get()


def test_the_contacts_listing_offers_the_import_to_those_who_may_add_contacts(client, marketer):
    client.force_login(marketer)
    assert f'href="{UPLOAD_URL}"' in client.get(CONTACTS_URL).content.decode()
    viewer = make_staff_user("viewer", "view_contact")
    client.force_login(viewer)
    assert UPLOAD_URL not in client.get(CONTACTS_URL).content.decode()


def test_upload_map_and_watch_the_job_import_the_valid_rows(
    client, marketer, company_size, django_capture_on_commit_callbacks
):
    client.force_login(marketer)
    expo = ContactListFactory(name="Expo 2026")
    form_page_response = upload(client)
    contact_import = ContactImport.objects.get()
    assert form_page_response.url == f"{BASE}{contact_import.pk}/"
    form_page = client.get(form_page_response.url)
    page = form_page.content.decode()
    assert form_page.status_code == 200
    assert "ann@example.com" in page and "many" in page  # the preview
    assert 'value="property:company_size" selected' in page  # guessed from "Company size"
    assert not Contact.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(
            form_page_response.url,
            mapping_data(form_page, contact_list=expo.pk, import_valid_rows="on"),
        )
    assert started.status_code == 302 and started.url == f"{BASE}{contact_import.pk}/job/"
    contact_import.refresh_from_db()
    assert contact_import.status == ImportStatus.DONE
    assert contact_import.created_by == marketer
    assert sorted(Contact.objects.values_list("email", flat=True)) == [
        "ann@example.com",
        "cy@example.com",
    ]
    assert ListMembership.objects.filter(contact_list=expo).count() == 2

    job = client.get(started.url).content.decode()
    assert "Done" in job and "Download the problems (CSV)" in job
    assert "“many”: Company size: enter a number" in job
    state = client.get(f"{BASE}{contact_import.pk}/status/").json()
    assert state["status"] == "done" and state["percent"] == 100 and state["created"] == 2
    assert contact_import.original_name in client.get(BASE).content.decode()


def test_a_file_with_errors_stops_and_can_import_its_valid_rows_later(
    client, marketer, company_size, django_capture_on_commit_callbacks
):
    client.force_login(marketer)
    started, contact_import = start(client, django_capture_on_commit_callbacks)
    contact_import.refresh_from_db()
    assert contact_import.status == ImportStatus.HAS_ERRORS and not Contact.objects.exists()
    job = client.get(started.url).content.decode()
    assert "nothing was imported" in job and "Import the valid rows" in job

    problems = client.get(f"{BASE}{contact_import.pk}/problems.csv")
    assert problems["Content-Type"].startswith("text/csv")
    assert "expo-problems.csv" in problems["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(problems.content.decode("utf-8-sig"))))
    assert rows == [
        ["Row", "Column", "Problem"],
        ["3", "Company size", "“many”: Company size: enter a number"],
    ]

    with django_capture_on_commit_callbacks(execute=True):
        again = client.post(f"{BASE}{contact_import.pk}/valid-rows/")
    assert again.status_code == 302
    contact_import.refresh_from_db()
    assert contact_import.status == ImportStatus.DONE and contact_import.created_count == 2
    assert contact_import.content is None


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("people.csv", b"", "The submitted file is empty."),
        ("people.pdf", b"%PDF-1.4 hello", "Upload a CSV file (.csv) or an Excel workbook"),
        ("people.csv", b"Email\n", "no contacts below it"),
        ("people.xlsx", b"not a zip", "not an Excel workbook"),
    ],
)
def test_a_bad_file_is_refused_on_the_file_field_and_nothing_is_kept(
    client, marketer, name, content, message
):
    client.force_login(marketer)
    response = upload(client, content, name)
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors["file"])
    assert not ContactImport.objects.exists()


def test_a_file_over_the_size_limit_is_refused(client, marketer, settings):
    settings.WAGTAIL_FLOWS = {**settings.WAGTAIL_FLOWS, "IMPORT_MAX_BYTES": 50}
    client.force_login(marketer)
    response = upload(client)
    assert response.status_code == 400
    assert "larger than" in response.context["form"].errors["file"][0]
    assert not ContactImport.objects.exists()


def test_the_mapping_needs_an_email_column_and_a_basis_for_stated_consent(client, marketer):
    client.force_login(marketer)
    map_url = upload(client).url
    form_page = client.get(map_url)
    no_email = mapping_data(form_page, column_0="ignore", consent="stated")
    response = client.post(map_url, no_email)
    assert response.status_code == 400
    form = response.context["form"]
    assert "Choose the one column that holds the email addresses." in form.non_field_errors()
    assert "consent_basis" in form.errors
    assert ContactImport.objects.get().status == ImportStatus.UPLOADED
    assert not Contact.objects.exists()


def test_a_stated_basis_subscribes_and_is_kept_as_proof(
    client, marketer, company_size, django_capture_on_commit_callbacks
):
    client.force_login(marketer)
    start(
        client,
        django_capture_on_commit_callbacks,
        consent="stated",
        consent_basis="Expo 2026 sign-up sheet",
        import_valid_rows="on",
    )
    ann = Contact.objects.get(email="ann@example.com")
    assert ann.status == ContactStatus.SUBSCRIBED
    assert "Expo 2026 sign-up sheet" in ann.consents.get().wording
    assert "by marketer" in ann.consents.get().wording


def test_someone_who_may_add_but_not_change_contacts_leaves_existing_ones_as_they_are(
    client, company_size, django_capture_on_commit_callbacks
):
    adder = make_staff_user("adder", "add_contact", "view_contact")
    ContactFactory(email="ann@example.com", first_name="Old", status="unsubscribed")
    client.force_login(adder)
    map_url = upload(client).url
    form_page = client.get(map_url)
    assert [value for value, _label in form_page.context["form"].fields["existing"].choices] == [
        "skip"
    ]
    refused = client.post(map_url, mapping_data(form_page, existing="update"))
    assert refused.status_code == 400 and "existing" in refused.context["form"].errors

    with django_capture_on_commit_callbacks(execute=True):
        client.post(map_url, mapping_data(form_page, existing="skip", import_valid_rows="on"))
    ann = Contact.objects.get(email="ann@example.com")
    assert (ann.first_name, ann.status) == ("Old", "unsubscribed")
    assert ContactImport.objects.get().skipped_count == 1


def test_without_the_add_contact_permission_every_import_page_is_a_403(client, marketer):
    client.force_login(marketer)
    contact_import = ContactImport.objects.get(pk=upload(client).url.rstrip("/").rsplit("/", 1)[1])
    viewer = make_staff_user("viewer", "view_contact", "change_contact")
    client.force_login(viewer)
    pk = contact_import.pk
    for url in (
        BASE,
        UPLOAD_URL,
        f"{BASE}{pk}/",
        f"{BASE}{pk}/job/",
        f"{BASE}{pk}/status/",
        f"{BASE}{pk}/problems.csv",
        f"{BASE}{pk}/cancel/",
    ):
        assert client.get(url).status_code == 403, url
    assert client.post(f"{BASE}{pk}/valid-rows/").status_code == 403
    assert upload(client).status_code == 403
    assert ContactImport.objects.count() == 1


def test_the_upload_keeps_django_s_csrf_check(marketer):
    client = Client(enforce_csrf_checks=True)
    client.force_login(marketer)
    assert upload(client).status_code == 403
    assert not ContactImport.objects.exists()


def test_cancelling_an_import_deletes_its_file(client, marketer):
    client.force_login(marketer)
    map_url = upload(client).url
    contact_import = ContactImport.objects.get()
    assert "Cancel the import" in client.get(f"{BASE}{contact_import.pk}/cancel/").content.decode()
    response = client.post(f"{BASE}{contact_import.pk}/cancel/")
    assert response.status_code == 302
    contact_import.refresh_from_db()
    assert contact_import.status == ImportStatus.CANCELLED and contact_import.content is None
    assert client.get(map_url).status_code == 302  # no mapping any more: to the job page
