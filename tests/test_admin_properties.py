"""A site owner defines contact properties, fills them in on a contact's page, filters and
exports the Contacts listing by them — as a user holding only the contact and contact-property
permissions."""

import csv
import io

import pytest
from django.test import Client

from tests.conftest import make_staff_user
from wagtail_flows.models import Contact, ContactProperty, Event, PropertyValue
from wagtail_flows.models.properties import set_values

pytestmark = pytest.mark.django_db

PROPERTIES_URL = "/admin/flows/properties/"
CONTACTS_URL = "/admin/flows/contacts/"
PERMISSIONS = (
    "add_contactproperty",
    "change_contactproperty",
    "view_contactproperty",
    "add_contact",
    "change_contact",
    "view_contact",
)


@pytest.fixture
def owner():
    client = Client()
    client.force_login(make_staff_user("owner", *PERMISSIONS))
    return client


def define(client, **fields):
    data = {"label": "", "key": "", "type": "text", "choices": "", "help_text": "", **fields}
    return client.post(PROPERTIES_URL + "create/", data)


def contact_form_data(contact, **extra):
    return {
        "email": contact.email,
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "stage": contact.stage,
        "score": contact.score,
        "tag_list": "",
        "timezone": contact.timezone,
        "source": contact.source,
        "properties": "{}",
        **extra,
    }


def emails_in(response):
    assert response.status_code == 200, response.content[:300]
    return sorted(c.email for c in response.context["object_list"])


def test_defining_a_property_over_a_key_in_use_copies_the_values_that_fit(owner):
    Contact.objects.create(email="ann@example.com", properties={"company_size": "250"})
    Contact.objects.create(email="bob@example.com", properties={"company_size": "a few"})
    response = define(
        owner, label="Company size", key="company_size", type="number", in_listing="on"
    )
    assert response.status_code == 302
    prop = ContactProperty.objects.get(key="company_size")
    assert list(prop.values.values_list("contact__email", "number")) == [("ann@example.com", 250)]
    message = str(list(response.wsgi_request._messages)[0])
    assert "1 existing value was kept as a number" in message
    assert "bob@example.com: “a few”" in message


def test_a_bad_key_is_refused_naming_the_field(owner):
    response = define(owner, label="Email again", key="email", type="text")
    assert response.status_code == 200
    assert "email" in response.context["form"].errors["key"][0]
    assert not ContactProperty.objects.exists()


def test_changing_the_type_is_refused_while_a_value_would_not_fit(owner):
    prop = ContactProperty.objects.create(key="plan", label="Plan", type="text")
    ann = Contact.objects.create(email="ann@example.com")
    set_values(ann, {"plan": "Pro"})
    data = {"label": "Plan", "key": "plan", "type": "number", "choices": "", "help_text": ""}
    response = owner.post(f"{PROPERTIES_URL}edit/{prop.pk}/", data)
    assert response.status_code == 200
    assert "“Pro”" in response.context["form"].errors["type"][0]
    prop.refresh_from_db()
    assert prop.type == "text" and PropertyValue.objects.get().text == "Pro"


def test_a_contacts_typed_values_are_edited_on_its_page(owner):
    define(owner, label="Company size", key="company_size", type="number")
    define(owner, label="Renewal date", key="renewal_date", type="date")
    define(owner, label="Newsletter", key="newsletter", type="boolean")
    define(owner, label="Topic", key="topic", type="choice", choices="Gardening\nCooking")
    ann = Contact.objects.create(email="ann@example.com", properties={"shoe": 42})
    page = owner.get(f"{CONTACTS_URL}edit/{ann.pk}/")
    html = page.content.decode()
    assert 'name="property__company_size"' in html and 'type="number"' in html
    assert 'name="property__topic"' in html and "Gardening" in html
    data = contact_form_data(
        ann,
        property__company_size="1500",
        property__renewal_date="2027-03-01",
        property__newsletter="true",
        property__topic="Cooking",
        properties='{"shoe": 43}',
    )
    response = owner.post(f"{CONTACTS_URL}edit/{ann.pk}/", data)
    assert response.status_code == 302, response.context["form"].errors
    ann.refresh_from_db()
    assert ann.properties == {
        "shoe": 43,
        "company_size": 1500,
        "renewal_date": "2027-03-01",
        "newsletter": True,
        "topic": "Cooking",
    }
    assert PropertyValue.objects.filter(contact=ann).count() == 4
    changed = Event.objects.filter(contact=ann, kind="property_changed")
    assert sorted(changed.values_list("name", flat=True)) == [
        "company_size", "newsletter", "renewal_date", "shoe", "topic",
    ]  # fmt: skip


def test_a_bad_value_names_the_field_and_changes_nothing(owner):
    define(owner, label="Company size", key="company_size", type="number")
    ann = Contact.objects.create(email="ann@example.com", first_name="Ann")
    set_values(ann, {"company_size": 10})
    data = contact_form_data(ann, first_name="Annie", property__company_size="lots")
    response = owner.post(f"{CONTACTS_URL}edit/{ann.pk}/", data)
    assert response.status_code == 200
    assert response.context["form"].errors["property__company_size"] == ["Enter a number."]
    ann.refresh_from_db()
    assert ann.first_name == "Ann" and ann.properties == {"company_size": 10}
    assert PropertyValue.objects.get().number == 10


def test_a_defined_key_typed_into_the_free_form_json_is_refused(owner):
    define(owner, label="Company size", key="company_size", type="number")
    ann = Contact.objects.create(email="ann@example.com")
    data = contact_form_data(ann, properties='{"company_size": "x"}')
    response = owner.post(f"{CONTACTS_URL}edit/{ann.pk}/", data)
    assert "company_size" in response.context["form"].errors["properties"][0]


@pytest.fixture
def listed(owner):
    define(owner, label="Company size", key="company_size", type="number", in_listing="on")
    topics = "Gardening\nCooking"
    define(owner, label="Topic", key="topic", type="choice", choices=topics, in_listing="on")
    define(owner, label="Renewal date", key="renewal_date", type="date", in_listing="on")
    define(owner, label="Newsletter", key="newsletter", type="boolean", in_listing="on")
    define(owner, label="Plan", key="plan", type="text", in_listing="on")
    ann = Contact.objects.create(email="ann@example.com")
    bob = Contact.objects.create(email="bob@example.com")
    Contact.objects.create(email="cat@example.com")
    set_values(ann, {"company_size": 250, "topic": "Cooking", "newsletter": True, "plan": "Pro"})
    set_values(bob, {"company_size": 9, "renewal_date": "2000-01-01", "plan": "Basic"})
    return owner


def test_the_listing_is_filtered_by_each_listed_property(listed):
    def filtered(**params):
        return [e.split("@")[0] for e in emails_in(listed.get(CONTACTS_URL, params))]

    assert filtered(p_company_size_min="100") == ["ann"]
    assert filtered(p_company_size_min="5", p_company_size_max="10") == ["bob"]
    assert filtered(p_topic="Cooking") == ["ann"]
    assert filtered(p_topic="none") == ["bob", "cat"]
    assert filtered(p_newsletter="yes") == ["ann"]
    assert filtered(p_renewal_date="past") == ["bob"]
    assert filtered(p_plan="pro") == ["ann"]
    page = listed.get(CONTACTS_URL).content.decode()
    assert 'name="p_company_size_min"' in page and "By Topic" in page


def test_bad_filter_values_are_refused_and_other_lookups_stay_refused(listed):
    bad = listed.get(CONTACTS_URL, {"p_company_size_min": "lots"})
    assert bad.status_code == 400 and "p_company_size" in bad.content.decode()
    assert listed.get(CONTACTS_URL, {"p_topic": "Skiing"}).status_code == 400
    oracle = listed.get(CONTACTS_URL, {"user__password__startswith": "p"})
    assert oracle.status_code == 400
    guess = listed.get(CONTACTS_URL, {"property_values__property__key": "plan"})
    assert guess.status_code == 400


def test_the_export_has_a_column_per_property(listed):
    response = listed.get(CONTACTS_URL, {"export": "csv"})
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    ann = next(row for row in rows if row["Email"] == "ann@example.com")
    assert ann["Company size"] == "250" and ann["Topic"] == "Cooking"
    assert ann["Newsletter"] == "Yes" and ann["Renewal date"] == ""
    xlsx = listed.get(CONTACTS_URL, {"export": "xlsx"})
    assert xlsx.status_code == 200
