"""Editors write emails as pages: blocks, merge tags, preview, test send, stats; the CSS is
inlined once per revision and each message only substitutes."""

import json

import pytest
from django.contrib.auth.models import Permission
from django.core import mail
from django.core.cache import caches
from django.core.exceptions import ValidationError
from django.urls import reverse
from wagtail.images.models import Image
from wagtail.images.tests.utils import get_test_image_file
from wagtail.models import GroupPagePermission
from wagtail.test.utils.form_data import (
    nested_form_data,
    querydict_from_html,
    rich_text,
    streamfield,
)

from tests.conftest import make_staff_user
from tests.factories import ContactFactory, make_email_library, make_email_page
from wagtail_flows.admin.send_test import SEND_TEST_URL_NAME
from wagtail_flows.emails import merge_tags
from wagtail_flows.emails.rendering import render_email, render_sample
from wagtail_flows.models import Message
from wagtail_flows.models.messages import MessageStatus

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _empty_render_cache():
    caches["default"].clear()


def rich_page(**kwargs):
    image = Image.objects.create(title="Lenses", file=get_test_image_file())
    raw = [
        ("heading", 'Hi {{ contact.first_name|default:"there" }}'),
        ("text", '<p>Read <a href="https://example.com/guide?a=1&amp;b=2">the guide</a>.</p>'),
        ("image", {"image": image.pk, "alt": "Our lenses", "width": 300, "link": ""}),
        (
            "button",
            {
                "text": "Shop now",
                "url": "https://example.com/shop",
                "page": None,
                "align": "center",
            },
        ),
        ("divider", None),
        ("spacer", {"height": 32}),
        (
            "two_columns",
            {
                "left": [{"type": "heading", "value": "Left"}],
                "right": [{"type": "text", "value": "<p>Right side</p>"}],
            },
        ),
        ("quote", {"quote": "Great lenses", "author": "Bo", "role": "Customer"}),
        ("coupon", {"code": "WELCOME10", "description": "10% off", "expires": None}),
        (
            "product_cards",
            {
                "source": "cart",
                "heading": "Still in your cart",
                "max_items": 2,
                "button_text": "View",
            },
        ),
    ]
    body = json.dumps([{"type": kind, "value": value} for kind, value in raw])
    return make_email_page(body=body, preheader="Your guide inside", **kwargs)


CART = {
    "cart": {
        "currency": "EUR",
        "items": [
            {"name": "Lens <6>", "price": "59.00", "quantity": 2, "url": "https://ex.com/l6"},
            {"name": "Case", "price": "9.00", "quantity": 1, "url": ""},
            {"name": "Third item", "price": "1.00", "quantity": 1, "url": ""},
        ],
    }
}


def test_every_block_renders_into_one_inlined_email(contact):
    page = rich_page()
    rendered = render_email(page.get_latest_revision(), contact, context=CART)
    html = rendered.html
    assert "Hi Ann" in html
    assert 'style="' in html and "<style>" in html and "@media" in html
    assert 'alt="Our lenses"' in html and 'width="300"' in html
    assert "WELCOME10" in html and "Great lenses" in html and "Shop now" in html
    assert "Lens &lt;6&gt;" in html and "Case" in html and "Third item" not in html
    assert "2 × 59.00 EUR" in html
    assert rendered.problems == []
    assert "Hi Ann" in rendered.text and "WELCOME10" in rendered.text


def test_image_urls_and_page_links_are_absolute(contact):
    page = rich_page()
    html = render_email(page.get_latest_revision(), contact).html
    assert 'src="/' not in html and 'href="/' not in html
    root = page.get_site().root_url
    assert f'src="{root}/media/images/' in html


def test_product_cards_show_nothing_without_a_cart(contact):
    page = rich_page()
    html = render_email(page.get_latest_revision(), contact).html
    assert "Still in your cart" not in html


def test_contact_data_is_escaped_text_never_code(contact):
    contact.first_name = "<script>alert(1)</script>{{ contact.email }}{% load static %}"
    page = make_email_page(subject="For {{ contact.first_name }}")
    rendered = render_email(page.get_latest_revision(), contact)
    assert "<script>" not in rendered.html
    assert "&lt;script&gt;" in rendered.html
    assert "{{ contact.email }}" in rendered.html  # printed, not evaluated
    assert rendered.subject.startswith("For <script>")  # plain text header, not HTML


@pytest.mark.parametrize(
    "source",
    [
        "{% load static %}",
        "{% include 'x.html' %}",
        "{% url 'admin:index' %}",
        "{{ contact.first_name|safe }}",
        "{% debug %}",
    ],
)
def test_merge_tags_allow_no_other_tags_or_filters(source):
    assert merge_tags.check(source)
    with pytest.raises(merge_tags.MergeTagError):
        merge_tags.render(source, {})


def test_merge_tags_reach_no_methods_or_attributes():
    data = {"contact": {"first_name": "Ann"}, "order": {"items": [{"name": "x"}]}}
    assert merge_tags.render("[{{ contact.keys }}{{ order.items.pop }}]", data) == "[]"
    with pytest.raises(merge_tags.MergeTagError):
        merge_tags.render("{{ contact.__class__ }}", data)
    assert "contact.keys" in merge_tags.check("{{ contact.keys }}")[0]


def test_a_typo_in_a_merge_tag_is_named():
    problems = merge_tags.check("Hi {{ contact.frist_name }}, {{ ordr.total }}")
    assert any("contact.frist_name" in p for p in problems)
    assert any("ordr.total" in p for p in problems)
    assert merge_tags.check("{% for item in cart.items %}{{ item.name }}{% endfor %}") == []


def test_saving_an_email_with_a_merge_tag_that_cannot_render_names_the_field():
    page = make_email_page()
    page.subject = "Hi {% load static %}"
    with pytest.raises(ValidationError) as error:
        page.full_clean()
    assert list(error.value.message_dict) == ["subject"]
    assert "load" in error.value.message_dict["subject"][0]
    page.subject = "Hi"
    page.body = [("heading", "{% url 'admin:index' %}")]
    with pytest.raises(ValidationError) as error:
        page.full_clean()
    assert list(error.value.message_dict) == ["body"]


def test_a_draft_with_a_typo_saves_and_the_preview_names_it():
    page = make_email_page()
    page.subject = "Hi {{ contact.frist_name }}"
    page.full_clean()
    rendered = render_sample(page)
    assert rendered.subject == "Hi"
    assert any("contact.frist_name" in problem for problem in rendered.problems)


def test_premailer_runs_once_per_revision_however_many_messages(premailer_runs):
    calls = premailer_runs
    page = make_email_page()
    revision = page.get_latest_revision()
    contacts = ContactFactory.create_batch(5)
    outputs = [render_email(revision, c).html for c in contacts]
    assert len(calls) == 1
    assert all(c.first_name in html for c, html in zip(contacts, outputs, strict=True))
    page.subject = "New subject"
    render_email(page.save_revision(), contacts[0])
    assert len(calls) == 2


def test_merge_tags_survive_inlining_inside_links(contact):
    body = [("text", '<p><a href="https://example.com/?who={{ contact.email }}">Mine</a></p>')]
    page = make_email_page(body=body)
    message = Message.objects.create(contact=contact, page=page, to_email=contact.email)
    rendered = render_email(page.get_latest_revision(), contact, message=message)
    assert rendered.links == ["https://example.com/?who=ann@example.com"]


def test_email_pages_are_not_public_site_pages(client):
    page = make_email_page()
    assert client.get(page.url).status_code == 404
    assert client.get(make_email_library().url).status_code == 404


def edit_form_data(admin_client, page):
    response = admin_client.get(reverse("wagtailadmin_pages:edit", args=[page.pk]))
    assert response.status_code == 200
    data = querydict_from_html(response.content.decode(), form_id="page-edit-form").dict()
    # The StreamField editor is drawn by JavaScript: give its fields as the browser would.
    body = streamfield(
        [("heading", "Hello!"), ("text", rich_text("<p>Thanks for signing up.</p>"))]
    )
    data.update(nested_form_data({"body": body}))
    return response, data


def test_editor_previews_the_email_and_its_plain_text(admin_client):
    page = make_email_page(subject="Hello {{ contact.first_name }}")
    _, data = edit_form_data(admin_client, page)
    data["subject"] = "Draft for {{ contact.first_name }}"
    url = reverse("wagtailadmin_pages:preview_on_edit", args=[page.pk])
    assert admin_client.post(url, data).json()["is_valid"]
    email = admin_client.get(url, {"mode": "email"})
    assert email.status_code == 200
    assert b'style="' in email.content and b"Hello!" in email.content
    text = admin_client.get(url, {"mode": "text"})
    assert b"Draft for Ann" in text.content and b"Thanks for signing up." in text.content


def test_preview_reports_a_merge_tag_typo(admin_client):
    page = make_email_page()
    _, data = edit_form_data(admin_client, page)
    data["subject"] = "Hi {{ contact.frist_name }}"
    url = reverse("wagtailadmin_pages:preview_on_edit", args=[page.pk])
    admin_client.post(url, data)
    response = admin_client.get(url, {"mode": "email"})
    assert b"contact.frist_name" in response.content
    assert b"Merge tags to fix" in response.content


def test_editor_sends_a_test_of_the_draft(admin_client):
    page = make_email_page(subject="Welcome, {{ contact.first_name }}")
    page.subject = "Draft subject"
    page.save_revision()
    response, _ = edit_form_data(admin_client, page)
    send_url = reverse(SEND_TEST_URL_NAME, args=[page.pk])
    assert send_url.encode() in response.content  # the action menu item
    assert admin_client.get(send_url).status_code == 200
    response = admin_client.post(send_url, {"to": "bo@example.com, cy@example.com"})
    assert response.status_code == 302
    assert [sent.subject for sent in mail.outbox] == ["[Test] Draft subject"] * 3
    assert [sent.to for sent in mail.outbox] == [
        ["bo@example.com"],
        ["cy@example.com"],
        ["admin@example.com"],
    ]
    assert Message.objects.count() == 0  # a test send is not a message to a contact


def test_each_test_recipient_gets_a_message_of_their_own_personalised_for_them(client):
    editor = make_staff_user("dee")
    editor.first_name = "Dee"
    editor.save()
    page = make_email_page(subject="For {{ contact.first_name }} at {{ contact.email }}")
    GroupPagePermission.objects.create(
        group=editor.groups.get(),
        page=page,
        permission=Permission.objects.get(codename="change_page"),
    )
    client.force_login(editor)
    response = client.post(
        reverse(SEND_TEST_URL_NAME, args=[page.pk]),
        {"to": "Bo@example.com; bo@example.com\ncy@example.com, DEE@example.com"},
    )
    assert response.status_code == 302
    assert [(sent.to, sent.subject) for sent in mail.outbox] == [
        (["Bo@example.com"], "[Test] For Ann at Bo@example.com"),
        (["cy@example.com"], "[Test] For Ann at cy@example.com"),
        (["DEE@example.com"], "[Test] For Dee at DEE@example.com"),
    ]
    assert all(sent.cc == [] and sent.bcc == [] for sent in mail.outbox)
    assert "bo@example.com" not in mail.outbox[1].message().as_string().lower()


def test_a_test_goes_to_at_most_ten_addresses_besides_yours(admin_client):
    page = make_email_page()
    many = ", ".join(f"person{n}@example.com" for n in range(11))
    response = admin_client.post(reverse(SEND_TEST_URL_NAME, args=[page.pk]), {"to": many})
    assert response.status_code == 400
    body = response.content.decode()
    assert "Also send to: A test goes to at most 10 addresses besides yours (11 given)." in body
    assert mail.outbox == []


def test_a_bad_test_address_is_named_and_nothing_is_sent(admin_client):
    page = make_email_page()
    response = admin_client.post(reverse(SEND_TEST_URL_NAME, args=[page.pk]), {"to": "nope"})
    assert response.status_code == 400
    assert "“nope” is not an email address." in response.content.decode()
    assert mail.outbox == []


def test_stats_panel_counts_per_published_revision(admin_client):
    page = make_email_page()
    revision = page.get_latest_revision()
    contacts = ContactFactory.create_batch(3)
    for index, contact in enumerate(contacts):
        Message.objects.create(
            contact=contact,
            page=page,
            revision=revision,
            to_email=contact.email,
            status=MessageStatus.SENT,
            first_opened_at=revision.created_at if index < 2 else None,
            first_clicked_at=revision.created_at if index == 0 else None,
        )
    response, _ = edit_form_data(admin_client, page)
    html = response.content.decode()
    assert "Sends, opens and clicks" in html
    assert "<td>3</td><td>2 (67%)</td><td>1 (33%)</td><td>0</td><td>0</td>" in html


def test_only_editors_of_the_email_can_send_a_test(client, django_user_model):
    from django.contrib.auth.models import Permission

    page = make_email_page()
    user = django_user_model.objects.create_user("viewer", "viewer@example.com", "pw")
    user.user_permissions.add(Permission.objects.get(codename="access_admin"))
    client.force_login(user)
    response = client.post(reverse(SEND_TEST_URL_NAME, args=[page.pk]), {"to": ""})
    # Wagtail turns PermissionDenied in admin views into a redirect to the dashboard.
    assert (response.status_code, response["Location"]) == (302, "/admin/")
    assert mail.outbox == []


def test_send_a_test_is_only_for_email_pages(admin_client):
    from tests.factories import make_standard_page

    other = make_standard_page()
    assert admin_client.get(reverse(SEND_TEST_URL_NAME, args=[other.pk])).status_code == 404
    response = admin_client.get(reverse("wagtailadmin_pages:edit", args=[other.pk]))
    assert b"flows-emails/" not in response.content


def test_a_cached_revision_renders_each_message_with_few_queries(django_assert_max_num_queries):
    page = make_email_page()
    revision = page.get_latest_revision()
    contacts = ContactFactory.create_batch(3)
    render_email(revision, contacts[0])  # inlines and caches the revision
    for contact in contacts:
        message = Message.objects.create(contact=contact, page=page, to_email=contact.email)
        with django_assert_max_num_queries(2):
            render_email(revision, contact, message=message)


# --- form answers and contact properties --------------------------------------------------------


def test_an_email_prints_the_form_answers_and_properties_as_escaped_text():
    from django.test import Client

    from tests.factories import make_form_page
    from wagtail_flows.engine.dispatch import event_context
    from wagtail_flows.models import Contact

    form = make_form_page(
        "Contact us",
        fields=[
            ("Your email", "email", True),
            ("Company", "singleline", False),
            ("Topic", "singleline", False),
        ],
    )
    topic = "<b>Gardening</b> {{ contact.email }}"
    Client().post(
        form.url, {"your_email": "ann@example.com", "company": "Spoon & Co", "topic": topic}
    )
    contact = Contact.objects.get(email="ann@example.com")
    page = make_email_page(
        subject="About {{ answers.topic }}",
        body=[
            (
                "text",
                "<p>[{{ answers.topic }}] at [{{ contact.properties.company }}]"
                "[{{ answers.missing|default:'none' }}]</p>",
            )
        ],
    )
    context = event_context(contact.events.get(kind="form_submitted"))
    rendered = render_email(page.get_latest_revision(), contact, context=context)
    assert (
        "[&lt;b&gt;Gardening&lt;/b&gt; {{ contact.email }}] at [Spoon &amp; Co][none]"
        in rendered.html
    )
    assert rendered.subject == "About <b>Gardening</b> {{ contact.email }}"
    assert merge_tags.check("{{ answers.topic }} {{ contact.properties.phone }}") == []
    # A run not started by a form prints nothing there (and the preview has no typo to name).
    assert "[] at [Spoon &amp; Co]" in render_email(page.get_latest_revision(), contact).html
