"""Riverside Gardens, an existing Wagtail site not shaped for the plugin, gets wagtail-flows by
exactly the README's steps (settings.py and urls.py apply the README's own snippets), then its
blog and its contact form drive a flow to a sent email — through HTTP requests only.

Run: ``make test-existing-site``."""

import re

import pytest
from django.core import checks, mail
from django.core.management import call_command
from django.test import Client
from wagtail.models import Page, Site

from tests.existing_site import readme
from tests.existing_site.blog.models import BlogIndexPage, BlogPage
from tests.existing_site.contact.models import ContactPage, FormField
from tests.existing_site.home.models import HomePage
from wagtail_flows.models import Contact, EmailLibraryPage, EmailPage, Flow, Message

pytestmark = pytest.mark.django_db
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0"
CONFIRM_LINK = re.compile(r"https?://testserver(/flows/e/confirm/[^/\s\"]+/)")
TRACKED_LINK = re.compile(r'href="(http://testserver/flows/e/c/[^"]+)"')
THANKS = "Thanks for getting in touch"
FILTER_LINK = re.compile(r'href="(\?[^"]*(?:status|flow)[^"]*)"')


def publish(parent, page):
    parent.add_child(instance=page)
    page.save_revision().publish()
    return page


@pytest.fixture
def site():
    """The site's pages as its editors made them: a home, a blog with a post, a contact form
    (your_name, your_email, message; no consent box), and a shop on a second hostname."""
    root = Page.get_first_root_node()
    home = publish(root, HomePage(title="Riverside Gardens", slug="riverside"))
    Site.objects.filter(is_default_site=True).update(
        hostname="testserver", port=80, root_page=home, site_name="Riverside Gardens"
    )
    Page.objects.filter(depth=2).exclude(pk=home.pk).delete()  # Wagtail's "Welcome" page
    shop = publish(root, HomePage(title="Riverside Shop", slug="shop"))
    Site.objects.create(hostname="shop.riverside.example", port=443, root_page=shop)
    blog = publish(home, BlogIndexPage(title="Blog", slug="blog"))
    post = publish(
        blog, BlogPage(title="Planting tulips", slug="tulips", body="<p>In autumn.</p>")
    )
    contact = ContactPage(
        title="Contact us",
        slug="contact",
        to_address="team@riverside.example",
        from_address="site@riverside.example",
        subject="New enquiry",
    )
    for label, field_type in (
        ("Your name", "singleline"),
        ("Your email", "email"),
        ("Message", "multiline"),
    ):
        contact.form_fields.add(FormField(label=label, field_type=field_type, required=True))
    publish(home, contact)
    return {"home": home, "post": post, "contact": contact, "shop": shop}


@pytest.fixture
def follow_up(site):
    """What the README's "first flow in five minutes" makes: an email and a live flow."""
    library = publish(site["home"], EmailLibraryPage(title="Emails", slug="emails"))
    email = EmailPage(
        title=THANKS,
        subject=THANKS,
        body=[
            ("heading", "Hello!"),
            ("text", f'<p>While we reply, <a href="{site["post"].url}">plant tulips</a>.</p>'),
        ],
    )
    publish(library, email)
    flow = Flow(name="Contact follow-up", status="live")
    flow.triggers = [("form_submitted", {"form_page": site["contact"]})]
    flow.steps = [("send_email", {"page": email, "subject_override": ""})]
    flow.save()
    return flow


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """What runs after commit (dispatch, the flow, delivery: django-q2 in sync mode)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def flows_checks():
    return {m.id: m for m in checks.run_checks() if m.id and m.id.startswith("wagtail_flows.")}


def test_the_site_got_the_plugin_by_the_readme_alone(settings):
    added = ["wagtail_flows", "wagtail_modeladmin", "django_q", "wagtail.contrib.settings"]
    assert settings.INSTALLED_APPS.count("wagtail.contrib.forms") == 1
    assert [app for app in added if app in settings.INSTALLED_APPS] == added
    assert "django.contrib.admin" not in settings.INSTALLED_APPS
    assert settings.DATABASES["default"]["OPTIONS"]["init_command"] == "PRAGMA journal_mode=WAL;"
    assert [c[0] for c in readme.commands()] == ["migrate", "check", "qcluster"]
    call_command("check")  # the README's `manage.py check`: no error stops it


def test_check_warns_that_the_contact_form_sends_no_marketing_email(site, follow_up):
    found = flows_checks()
    assert [m for m in found.values() if m.level >= checks.ERROR] == []
    warning = found["wagtail_flows.W050"]
    assert "“Contact us”" in warning.msg and "pending" in warning.msg
    assert "Contact follow-up" in warning.msg
    # The shop's Site has another hostname, but no email page: links are not its business.
    assert "wagtail_flows.W041" not in found


def test_the_contact_form_and_the_blog_drive_the_flow_to_a_sent_email(site, follow_up, committed):
    # As the site was: no consent box. The team gets the enquiry; Rosa stays pending and the
    # flow's email to her is suppressed — what `check` warns about (W050).
    rosa = {"your_name": "Rosa Diaz", "your_email": "rosa@example.com", "message": "Hi"}
    with committed():
        assert Client().post(site["contact"].url, rosa).status_code == 200
    assert [m.subject for m in mail.outbox] == ["New enquiry"]
    assert Contact.objects.get(email="rosa@example.com").status == "pending"
    assert list(Message.objects.values_list("to_email", "status")) == [
        ("rosa@example.com", "suppressed")
    ]

    # The fix `check` gives: a checkbox "I agree to receive emails" on the form.
    FormField.objects.create(
        page=site["contact"], label="I agree to receive emails", field_type="checkbox"
    )
    assert "wagtail_flows.W050" not in flows_checks()
    sam = Client(headers={"user-agent": BROWSER})
    assert sam.get(site["post"].url).status_code == 200  # reads the blog first
    data = {"your_name": "Sam Lee", "your_email": "sam@example.com", "message": "Bulbs?"}
    with committed():
        response = sam.post(site["contact"].url, {**data, "i_agree_to_receive_emails": "on"})
    assert response.status_code == 200
    asking = mail.outbox[-1]
    assert asking.to == ["sam@example.com"] and "confirm" in asking.subject.lower()
    (confirm_path,) = set(CONFIRM_LINK.findall(asking.body))
    with committed():
        assert Client().post(confirm_path).status_code == 200

    thanks = mail.outbox[-1]
    assert (thanks.subject, thanks.to) == (THANKS, ["sam@example.com"])
    contact = Contact.objects.get(email="sam@example.com")
    assert contact.status == "subscribed"
    assert Message.objects.get(contact=contact, page__title=THANKS).status == "sent"
    # Its link goes through the site's own host (the Site record), to the blog post.
    (tracked,) = TRACKED_LINK.findall(thanks.alternatives[0][0])
    click = Client().get(tracked.replace("http://testserver", "").replace("&amp;", "&"))
    assert click.status_code == 302 and click["Location"].endswith(site["post"].url)
    kinds = set(contact.events.values_list("kind", flat=True))
    assert {"page_viewed", "form_submitted", "link_clicked"} <= kinds


def test_every_flows_listing_works_without_djangos_admin(site, follow_up, django_user_model):
    admin = django_user_model.objects.create_superuser("editor", "editor@example.com", "pw")
    client = Client()
    client.force_login(admin)
    flow = follow_up.pk
    listings = [
        "/admin/flows/",
        f"/admin/flows/edit/{flow}/",
        "/admin/flows/contacts/",
        "/admin/flows/lists/",
        "/admin/flows/segments/",
        "/admin/flows/messages/",
    ]
    Message.objects.create(contact=Contact.objects.create(email="a@example.com"), flow=follow_up)
    for url in listings:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        # Every filter of the sidebar, as an editor clicks it (the flow filter of Messages…).
        for query in set(FILTER_LINK.findall(response.content.decode())):
            filtered = client.get(url + query.replace("&amp;", "&"))
            assert filtered.status_code == 200, (url + query, filtered.status_code)


def test_the_sites_api_and_second_site_are_untouched(site, follow_up):
    listed = Client().get("/api/v2/pages/?limit=20").json()["items"]
    titles = {item["title"] for item in listed}
    assert "Planting tulips" in titles and THANKS not in titles
    shop = Client().get("/", headers={"host": "shop.riverside.example"}, secure=True)
    assert shop.status_code == 200 and b"Riverside Shop" in shop.content
