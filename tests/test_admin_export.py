"""A marketer downloads the contacts listing as CSV or XLSX, filters included."""

import csv
import io
from datetime import UTC, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from openpyxl import load_workbook

from tests.conftest import make_staff_user
from tests.factories import ContactFactory, ContactListFactory
from wagtail_flows.models import Contact

CONTACTS_URL = "/admin/flows/contacts/"
HEADINGS = [
    "Email",
    "First Name",
    "Last Name",
    "Consent Status",
    "Stage",
    "Score",
    "Grade",
    "Lists",
    "Tags",
]


def csv_rows(response):
    text = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.reader(io.StringIO(text)))


def xlsx_rows(response):
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    return [list(row) for row in sheet.iter_rows(values_only=True)]


@pytest.fixture
def customers(db):
    """Ann: a customer on two lists with a tag; Bob: a bare lead who unsubscribed."""
    clicked = timezone.now() - timedelta(days=2)
    ann = ContactFactory(
        email="ann@example.com", first_name="Ann", last_name="Lee", stage="customer", score=0
    )
    for name in ("Customers", "Newsletter"):
        ann.add_to_list(ContactListFactory(name=name))
    ann.add_tag("vip")
    Contact.objects.filter(pk=ann.pk).update(last_click_at=clicked, last_activity_at=clicked)
    ContactFactory(email="bob@example.com", first_name="=HYPERLINK(1)", status="unsubscribed")
    return clicked


@pytest.mark.django_db
def test_the_contacts_listing_downloads_as_csv(admin_client, customers):
    listing = admin_client.get(CONTACTS_URL).content.decode()
    assert "Download CSV" in listing and "Download XLSX" in listing

    response = admin_client.get(CONTACTS_URL, {"export": "csv", "o": "0"})
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="contacts.csv"'
    header, *rows = csv_rows(response)
    assert header[: len(HEADINGS)] == HEADINGS
    assert "Last Click" in header and "Last Order" in header
    by_email = {row[0]: dict(zip(header, row, strict=True)) for row in rows}
    ann, bob = by_email["ann@example.com"], by_email["bob@example.com"]
    assert (ann["Consent Status"], ann["Stage"], ann["Score"]) == ("Subscribed", "Customer", "0")
    assert (ann["Lists"], ann["Tags"]) == ("Customers, Newsletter", "vip")
    assert ann["Last Click"].startswith(customers.strftime("%Y-%m-%d"))
    assert ann["Last Order"] == ""
    assert bob["First Name"] == "'=HYPERLINK(1)"  # never a live formula in a spreadsheet
    assert bob["Consent Status"] == "Unsubscribed"


@pytest.mark.django_db
def test_the_download_keeps_the_listings_filters(admin_client, customers):
    response = admin_client.get(CONTACTS_URL, {"export": "csv", "status__exact": "unsubscribed"})
    assert [row[0] for row in csv_rows(response)[1:]] == ["bob@example.com"]


@pytest.mark.django_db
def test_the_contacts_listing_downloads_as_xlsx(admin_client, customers):
    response = admin_client.get(CONTACTS_URL, {"export": "xlsx", "tag": "vip"})
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="contacts.xlsx"'
    header, *rows = xlsx_rows(response)
    assert header[: len(HEADINGS)] == HEADINGS
    assert len(rows) == 1
    row = dict(zip(header, rows[0], strict=True))
    assert row["Email"] == "ann@example.com" and row["Score"] == 0
    assert row["Lists"] == "Customers, Newsletter"
    clicked_utc = customers.astimezone(UTC).replace(tzinfo=None)
    assert abs(row["Last Click"] - clicked_utc) < timedelta(seconds=1)  # a real date cell
    assert row["Last Order"] is None


@pytest.mark.django_db
def test_the_download_costs_the_same_queries_for_one_contact_or_twenty(admin_client):
    first = ContactFactory()
    first.add_to_list(ContactListFactory(name="Customers"))
    first.add_tag("vip")
    admin_client.get(CONTACTS_URL, {"export": "csv"})
    with CaptureQueriesContext(connection) as one:
        csv_rows(admin_client.get(CONTACTS_URL, {"export": "csv"}))
    newsletter = ContactListFactory(name="Newsletter")
    for _ in range(19):
        contact = ContactFactory()
        contact.add_to_list(newsletter)
        contact.add_tag("lead")
    with CaptureQueriesContext(connection) as twenty:
        rows = csv_rows(admin_client.get(CONTACTS_URL, {"export": "csv"}))
    assert len(rows) == 21
    assert len(twenty) == len(one)


@pytest.mark.django_db
@pytest.mark.parametrize("export", ["csv", "xlsx"])
def test_only_users_who_may_see_contacts_download_them(client, customers, export):
    client.force_login(make_staff_user("flows-only", "change_flow"))
    response = client.get(CONTACTS_URL, {"export": export})
    assert response.status_code == 302 and response["Location"] == "/admin/"
    client.force_login(make_staff_user("crm-reader", "view_contact"))
    assert client.get(CONTACTS_URL, {"export": export}).status_code == 200
    client.logout()
    assert client.get(CONTACTS_URL, {"export": export})["Location"].startswith("/admin/login/")
