"""Factories for pages and contacts."""

import factory
from wagtail.models import Page, Site

from tests.testapp.models import FormField, FormPage, StandardPage
from wagtail_flows.models import Contact, ContactList, EmailLibraryPage, EmailPage


def site_root():
    return Site.objects.get(is_default_site=True).root_page


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    email = factory.Sequence(lambda n: f"contact{n}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    status = "subscribed"


class ContactListFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ContactList
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"List {n}")


def add_child(parent: Page, page: Page, publish=True) -> Page:
    parent.add_child(instance=page)
    if publish:
        page.save_revision().publish()
    else:
        page.save_revision()
    return page


def make_standard_page(title="About us", parent=None, **kwargs) -> StandardPage:
    return add_child(parent or site_root(), StandardPage(title=title, **kwargs))


def make_form_page(title="Newsletter", parent=None, fields=None, **kwargs) -> FormPage:
    page = FormPage(title=title, to_address="", **kwargs)
    fields = fields or [
        ("Email", "email", True),
        ("First name", "singleline", False),
        ("Subscribe to our newsletter", "checkbox", False),
    ]
    for label, field_type, required in fields:
        page.form_fields.add(FormField(label=label, field_type=field_type, required=required))
    return add_child(parent or site_root(), page)


def make_email_library(parent=None) -> EmailLibraryPage:
    existing = EmailLibraryPage.objects.first()
    return existing or add_child(parent or site_root(), EmailLibraryPage(title="Emails"))


def make_email_page(
    title="Welcome", subject="Welcome, {{ contact.first_name }}", body=None, publish=True, **kwargs
) -> EmailPage:
    body = (
        body
        if body is not None
        else [
            ("heading", "Hello!"),
            (
                "text",
                '<p>Thanks for signing up. <a href="https://example.com/offer">Offer</a></p>',
            ),
        ]
    )
    page = EmailPage(title=title, subject=subject, body=body, **kwargs)
    return add_child(make_email_library(), page, publish=publish)


# --- capture: documents and restricted pages -----------------------------------------------------
def make_document(title="Price list", filename="prices.pdf", content=b"%PDF-1.4 prices"):
    from django.core.files.base import ContentFile
    from wagtail.documents import get_document_model

    document = get_document_model()(title=title)
    document.file.save(filename, ContentFile(content), save=False)
    document.save()
    return document


def restrict_to_logged_in(page):
    from wagtail.models import PageViewRestriction

    return PageViewRestriction.objects.create(page=page, restriction_type="login")


# --- end capture ---------------------------------------------------------------------------------


DESKTOP_BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"


def identified_browser(contact, user_agent=DESKTOP_BROWSER):
    """A browser whose visitor cookie names ``contact`` (as after a form or a login)."""
    from django.test import Client, RequestFactory

    from wagtail_flows import capture as tracking

    request = RequestFactory(headers={"user-agent": user_agent}).get("/")
    assert tracking.identify(request, contact)
    browser = Client(headers={"user-agent": user_agent})
    browser.cookies["flows_vid"] = request._flows_visitor.dumps()
    return browser
