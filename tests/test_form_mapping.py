"""A form's answers reach the contact: names from ``your_name``, phone and company as
properties, any answer into a property of the editor's choosing; the editor maps the fields
on the form page's own admin screen, and a bad choice is refused naming the field."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import Client
from wagtail.models import GroupPagePermission

from tests.conftest import make_staff_user
from tests.factories import make_form_page
from wagtail_flows.models import Contact, FormFieldMapping

pytestmark = pytest.mark.django_db
BROWSER = "Mozilla/5.0 (Windows NT 10.0) Firefox/128.0"
FIELDS = [
    ("Your name", "singleline", True),
    ("Your email", "email", True),
    ("Telephone", "singleline", False),
    ("Organisation", "singleline", False),
    ("How likely are you to recommend us", "number", False),
    ("Topic", "dropdown", False),
]


@pytest.fixture
def contact_page():
    page = make_form_page("Contact us", fields=FIELDS)
    topic = page.form_fields.get(clean_name="topic")
    topic.choices = "Gardening\nCooking"
    topic.save()
    return page


def submit(page, **data):
    response = Client(headers={"user-agent": BROWSER}).post(page.url, data)
    assert response.status_code == 200, response.content[:500]
    return Contact.objects.get(email=data["your_email"].lower())


def answers(**extra):
    return {
        "your_name": "Ann Marie Smith",
        "your_email": "ann@example.com",
        "telephone": "+44 20 7946 0000",
        "organisation": "Green Spoon Ltd",
        "how_likely_are_you_to_recommend_us": "4",
        "topic": "Gardening",
        **extra,
    }


def url(page):
    return f"/admin/flows/form-fields/{page.pk}/"


def test_your_name_fills_first_and_last_name_and_phone_company_become_properties(contact_page):
    contact = submit(contact_page, **answers())
    assert (contact.first_name, contact.last_name) == ("Ann", "Marie Smith")
    assert contact.properties == {"phone": "+44 20 7946 0000", "company": "Green Spoon Ltd"}
    event = contact.events.get(kind="form_submitted")
    assert event.data["topic"] == "Gardening"  # every answer stays in the submission


def test_a_name_already_known_is_not_replaced_by_a_later_submission(contact_page):
    submit(contact_page, **answers())
    contact = submit(contact_page, **answers(your_name="Mallory Evil", telephone="+1 555"))
    assert (contact.first_name, contact.last_name) == ("Ann", "Marie Smith")
    assert contact.properties["phone"] == "+44 20 7946 0000"


def test_a_saved_mapping_overrides_the_defaults(contact_page):
    FormFieldMapping.objects.create(
        page=contact_page,
        targets={
            "your_name": {"target": "first_name"},
            "your_email": {"target": "email"},
            "telephone": {"target": "ignore"},
            "organisation": {"target": "property", "key": "employer"},
            "how_likely_are_you_to_recommend_us": {"target": "property", "key": "nps_score"},
            "topic": {"target": "property", "key": "topic"},
        },
    )
    contact = submit(contact_page, **answers())
    assert (contact.first_name, contact.last_name) == ("Ann Marie Smith", "")
    assert contact.properties == {
        "employer": "Green Spoon Ltd",
        "nps_score": 4,  # a number field's answer is kept as a number
        "topic": "Gardening",
    }
    again = submit(contact_page, **answers(how_likely_are_you_to_recommend_us="9"))
    assert again.properties["nps_score"] == 9  # answers take the latest value
    blank = submit(contact_page, **answers(how_likely_are_you_to_recommend_us=""))
    assert blank.properties["nps_score"] == 9  # a blank answer erases nothing


# --- the admin screen -----------------------------------------------------------------------


def editor_of(page, username="ed"):
    user = make_staff_user(username)
    group = Group.objects.get(name=f"{username} group")
    for codename in ("add_page", "change_page"):
        GroupPagePermission.objects.create(
            group=group, page=page, permission=Permission.objects.get(codename=codename)
        )
    return user


def logged_in(user):
    client = Client()
    client.force_login(user)
    return client


def test_the_editor_sees_the_fields_with_the_defaults_filled_in(contact_page):
    response = logged_in(editor_of(contact_page)).get(url(contact_page))
    assert response.status_code == 200
    page = response.content.decode()
    assert "suggestions read from the field names" in page
    assert 'data-field="your_name"' in page and "Your name" in page
    rows = {row["field"].clean_name: row["target"] for row in response.context["rows"]}
    assert rows == {
        "your_name": "full_name",
        "your_email": "email",
        "telephone": "phone",
        "organisation": "company",
        "how_likely_are_you_to_recommend_us": "ignore",
        "topic": "ignore",
    }


def post_rows(client, page, choices):
    data = {}
    for index, (name, target, key) in enumerate(choices):
        data.update({f"field-{index}": name, f"target-{index}": target, f"key-{index}": key})
    return client.post(url(page), data)


def test_the_editor_saves_a_mapping_and_the_next_submission_follows_it(contact_page):
    client = logged_in(editor_of(contact_page))
    response = post_rows(
        client,
        contact_page,
        [
            ("your_name", "full_name", ""),
            ("your_email", "email", ""),
            ("telephone", "phone", ""),
            ("organisation", "company", ""),
            ("how_likely_are_you_to_recommend_us", "property", "nps_score"),
            ("topic", "ignore", "unused"),
        ],
    )
    assert response.status_code == 302 and response.url == url(contact_page)
    saved = FormFieldMapping.objects.get(page=contact_page).targets
    assert saved["how_likely_are_you_to_recommend_us"] == {
        "target": "property",
        "key": "nps_score",
    }
    assert saved["topic"] == {"target": "ignore"}
    shown = client.get(url(contact_page)).content.decode()
    assert "now go where you chose" in shown and "suggestions read" not in shown
    contact = submit(contact_page, **answers())
    assert contact.properties["nps_score"] == 4 and "topic" not in contact.properties


@pytest.mark.parametrize(
    ("choices", "named", "message"),
    [
        ([("your_name", "property", "")], "Your name", "Name the contact property"),
        ([("your_name", "property", "2fast")], "Your name", "cannot be a property name"),
        ([("shoe_size", "property", "shoe")], "shoe_size", "The form has no field"),
        ([("your_name", "nickname", "")], "Your name", "is not a target"),
        (
            [("your_name", "email", ""), ("your_email", "email", "")],
            "Your email",
            "is already the email field",
        ),
    ],
)
def test_a_bad_choice_is_refused_naming_the_field_and_nothing_is_saved(
    contact_page, choices, named, message
):
    client = logged_in(editor_of(contact_page))
    response = post_rows(client, contact_page, choices)
    assert response.status_code == 200  # as Wagtail's own forms: the page again, errors shown
    page = response.content.decode()
    assert "Nothing was saved" in page
    assert any(
        named in line and message in line for line in page.replace("&quot;", '"').splitlines()
    ), page
    assert not FormFieldMapping.objects.exists()


def test_a_user_who_may_not_edit_the_page_gets_a_403(contact_page):
    other_page = make_form_page("Other form")
    client = logged_in(editor_of(other_page, "outsider"))
    assert client.get(url(contact_page)).status_code == 403
    response = post_rows(client, contact_page, [("your_name", "ignore", "")])
    assert response.status_code == 403
    assert not FormFieldMapping.objects.exists()


def test_the_form_page_header_offers_the_screen_to_its_editors_only(contact_page):
    parent = contact_page.get_parent()
    explorer = f"/admin/pages/{parent.pk}/"
    editor = logged_in(editor_of(contact_page))
    edit_page = editor.get(f"/admin/pages/{contact_page.pk}/edit/").content.decode()
    assert url(contact_page) in edit_page
    section_editor = logged_in(editor_of(parent, "section"))
    assert url(contact_page) in section_editor.get(explorer).content.decode()
    # May add pages there (and edit their own), not edit this one: no button.
    adder = make_staff_user("adder")
    GroupPagePermission.objects.create(
        group=Group.objects.get(name="adder group"),
        page=parent,
        permission=Permission.objects.get(codename="add_page"),
    )
    listing = logged_in(adder).get(explorer)
    assert listing.status_code == 200 and "Contact us" in listing.content.decode()
    assert url(contact_page) not in listing.content.decode()


def test_a_checkbox_mapped_to_consent_is_the_opt_in_whatever_its_words(db):
    from wagtail_flows.capture.forms import consent_fields

    form = make_form_page(
        "Newsletter",
        fields=[("Email", "email", True), ("I agree to receive emails", "checkbox", False)],
    )
    FormFieldMapping.objects.create(
        page=form,
        targets={
            "email": {"target": "email"},
            "i_agree_to_receive_emails": {"target": "consent"},
        },
    )
    assert [f.clean_name for f in consent_fields(form)] == ["i_agree_to_receive_emails"]
    Client(headers={"user-agent": BROWSER}).post(
        form.url, {"email": "cy@example.com", "i_agree_to_receive_emails": "on"}
    )
    assert Contact.objects.get(email="cy@example.com").consents.exists()
