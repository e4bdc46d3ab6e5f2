"""Loads the demo content. Idempotent: what exists (looked up by slug, SKU, title) is kept."""

from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.db import transaction
from wagtail.documents import get_document_model
from wagtail.models import Page, Site

from demo import content
from demo.flows import load_flows
from demo.models import (
    BlogIndexPage,
    BlogPage,
    FormField,
    FormPage,
    HomePage,
    LandingFormField,
    LandingPage,
    ProductPage,
    ShopIndexPage,
)
from demo.pdf import build_pdf
from wagtail_flows.models import ContactList, EmailLibraryPage, SenderSettings
from wagtail_flows.models.email_pages import email_pages

ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "admin"
HOST, PORT = "127.0.0.1", 8000


def ensure_child(parent, model, slug, **fields):
    """The live child page ``slug`` of ``parent``, created and published if missing."""
    existing = parent.get_children().filter(slug=slug).first()
    if existing is not None:
        return existing.specific, False
    return add_and_publish(parent, model(slug=slug, **fields)), True


def add_and_publish(parent, page):
    parent.add_child(instance=page)
    page.save_revision().publish()
    return page


class DemoLoader:
    def __init__(self, stdout):
        self.stdout = stdout
        self.created = []

    def note(self, obj, created):
        if created:
            self.created.append(f"{obj._meta.verbose_name}: {obj}")
        return obj

    @transaction.atomic
    def load(self):
        root = Page.get_first_root_node()
        ebook = self.ebook()
        home = self.home(root, ebook)
        self.sender(self.site(home))
        for topic in content.TOPICS:
            self.topic(home, topic)
        shop = self.shop(home)
        self.form_page(home, FormPage, FormField, content.NEWSLETTER)
        self.form_page(home, LandingPage, LandingFormField, content.LANDING)
        self.contact_lists()
        self.import_examples()
        self.contact_properties()
        self.scoring_rules(shop, ebook)
        urls = {
            "ebook_url": self.absolute(ebook.url),
            "home_url": self.absolute("/"),
            "shop_url": self.absolute(shop.url),
            "cart_url": self.absolute("/cart/"),
        }
        self.email_library(root)
        for flow in load_flows(self.stdout.write, urls):
            self.note(flow, True)
            for page in email_pages(flow):
                self.note(page, True)
        self.superuser()
        return home

    # --- pages ---------------------------------------------------------------------------

    def home(self, root, ebook):
        home = HomePage.objects.first()
        if home is not None:
            return home
        self.remove_wagtail_welcome_page(root)
        home, created = ensure_child(root, HomePage, "home", ebook=ebook, **content.HOME)
        return self.note(home, created)

    def remove_wagtail_welcome_page(self, root):
        """Wagtail's "Welcome to your new Wagtail site!" page, if still untouched."""
        for page in root.get_children().filter(slug="home").exact_type(Page):
            if not page.get_children().exists():
                page.delete()

    def site(self, home):
        """The default site, at 127.0.0.1:8000, serves the demo (left alone once it does)."""
        site = Site.objects.filter(is_default_site=True).first() or Site(is_default_site=True)
        if site.root_page_id == home.pk:
            return site
        site.hostname, site.port = HOST, PORT
        site.site_name, site.root_page = "Green Spoon", home
        site.save()
        return site

    def sender(self, site):
        """Settings › Email sender: who the demo's emails come from, and its postal address."""
        sender = SenderSettings.for_site(site)
        if sender.postal_address:
            return
        sender.from_name, sender.from_email = "Green Spoon", "hello@greenspoon.example"
        sender.postal_address = "Green Spoon Kitchen Supplies\n12 Market Street\nAmsterdam 1011 AB"
        sender.save()
        self.note(sender, True)

    def topic(self, home, topic):
        index, created = ensure_child(
            home,
            BlogIndexPage,
            topic["slug"],
            title=topic["title"],
            intro=topic["intro"],
            show_in_menus=True,
        )
        self.note(index, created)
        for post in topic["posts"]:
            self.note(*ensure_child(index, BlogPage, **post))

    def shop(self, home):
        shop, created = ensure_child(
            home,
            ShopIndexPage,
            content.SHOP["slug"],
            title=content.SHOP["title"],
            intro=content.SHOP["intro"],
            show_in_menus=True,
        )
        self.note(shop, created)
        for title, sku, price, colour, summary, description in content.SHOP["products"]:
            if ProductPage.objects.filter(sku=sku).exists():
                continue
            product, created = ensure_child(
                shop,
                ProductPage,
                sku.lower(),
                title=title,
                sku=sku,
                price=price,
                colour=colour,
                summary=summary,
                description=description,
            )
            self.note(product, created)
        return shop

    def form_page(self, home, model, field_model, spec):
        spec = dict(spec)
        fields = spec.pop("fields")
        page = home.get_children().filter(slug=spec["slug"]).first()
        if page is not None:
            return page.specific
        page = model(to_address="", show_in_menus=True, **spec)
        for order, (label, field_type, required, clean_name) in enumerate(fields):
            page.form_fields.add(
                field_model(
                    sort_order=order,
                    label=label,
                    field_type=field_type,
                    required=required,
                    clean_name=clean_name,
                )
            )
        return self.note(add_and_publish(home, page), True)

    # --- the rest ------------------------------------------------------------------------

    def ebook(self):
        Document = get_document_model()
        document = Document.objects.filter(title=content.EBOOK_TITLE).first()
        if document is None:
            pdf = build_pdf(content.EBOOK_TITLE, content.EBOOK_LINES)
            document = Document(title=content.EBOOK_TITLE)
            document.file.save("kitchen-garden-handbook.pdf", ContentFile(pdf), save=False)
            document.save()
            self.note(document, True)
        return document

    def contact_lists(self):
        for name, description, public in content.CONTACT_LISTS:
            self.note(
                *ContactList.objects.get_or_create(
                    name=name, defaults={"description": description, "public": public}
                )
            )

    def import_examples(self):
        """What sample_contacts.csv meets (Contacts › Import contacts): a company-size
        property, a contact who unsubscribed and an address erased on request."""
        from wagtail_flows.models import Contact, ContactProperty, Suppression

        self.note(
            *ContactProperty.objects.get_or_create(
                key="company_size", defaults={"label": "Company size", "type": "number"}
            )
        )
        self.note(
            *Contact.objects.get_or_create(
                email="sam.former@example.com",
                defaults={"first_name": "Sam", "last_name": "Former", "status": "unsubscribed"},
            )
        )
        Suppression.objects.get_or_create(
            email_hash=Suppression.hash_email("erased.person@example.com"),
            defaults={"reason": "erased"},
        )

    def contact_properties(self):
        """Typed properties (Flows › Contact properties) on a few demo contacts: filter the
        Contacts listing by them, branch on them, write {{ contact.properties.renewal_date }}."""
        from datetime import timedelta

        from django.utils import timezone

        from wagtail_flows.models import Contact, ContactProperty
        from wagtail_flows.models.properties import set_values

        topics = "Gardening\nCooking\nTravel"
        for key, label, kind, choices in (
            ("company_size", "Company size", "number", ""),
            ("renewal_date", "Renewal date", "date", ""),
            ("favourite_topic", "Favourite topic", "choice", topics),
        ):
            defaults = {"label": label, "type": kind, "choices": choices, "in_listing": True}
            self.note(*ContactProperty.objects.get_or_create(key=key, defaults=defaults))
        ContactProperty.objects.filter(key="company_size").update(in_listing=True)
        today = timezone.localdate()
        for email, first, size, days, topic in (
            ("ann.demo@example.com", "Ann", 250, 20, "Gardening"),
            ("ben.demo@example.com", "Ben", 12, 200, "Cooking"),
            ("cleo.demo@example.com", "Cleo", 1800, -5, "Travel"),
        ):
            contact, created = Contact.objects.get_or_create(
                email=email, defaults={"first_name": first, "source": "demo"}
            )
            self.note(contact, created)
            renewal = (today + timedelta(days=days)).isoformat()
            values = {"company_size": size, "renewal_date": renewal, "favourite_topic": topic}
            set_values(contact, values, source="demo")

    def scoring_rules(self, shop, ebook):
        """Lead scoring demo rules (Flows › Scoring rules): the shop and its products are the
        pricing pages, the handbook is the whitepaper, demo_requested is tracked by code."""
        from wagtail_flows.models import ScoringRule

        demo = {"custom_name": "demo_requested", "cap_points": 30}  # once a month at most
        rules = [
            ("Pricing pages viewed", {"event": "page_viewed", "page": shop, "points": 10}),
            (
                "Handbook downloaded",
                {"event": "document_downloaded", "document": ebook, "points": 20},
            ),
            ("Demo requested", {"event": "custom", "points": 30, **demo}),
        ]
        for name, fields in rules:
            self.note(*ScoringRule.objects.get_or_create(name=name, defaults=fields))

    def email_library(self, root):
        """Where the flows' starter emails go (the templates would make one otherwise)."""
        if not EmailLibraryPage.objects.exists():
            self.note(*ensure_child(root, EmailLibraryPage, "emails", title="Emails"))

    def superuser(self):
        User = get_user_model()
        if not User.objects.filter(username=ADMIN_USERNAME).exists():
            user = User.objects.create_superuser(
                ADMIN_USERNAME, "admin@greenspoon.example", ADMIN_PASSWORD
            )
            self.note(user, True)

    @staticmethod
    def absolute(path):
        return f"http://{HOST}:{PORT}{path}"
