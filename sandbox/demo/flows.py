"""The demo's hand-made flows, built from wagtail-flows' public block types.

Each flow names the block types it uses; a flow whose blocks this version of wagtail-flows
does not offer is skipped with a note, so ``load_demo`` keeps working while the vocabulary
grows. Flows are looked up by name: an existing one (perhaps edited) is left alone.
"""

import uuid

from django.core.exceptions import ValidationError
from wagtail.documents import get_document_model

from demo.models import FormPage, LandingPage
from wagtail_flows.models import ContactList, EmailPage, Flow


def child(block_type, value=None):
    """One stream child in Wagtail's raw form, with its own id (the engine's step key)."""
    return {"type": block_type, "value": value, "id": str(uuid.uuid4())}


def email(slug):
    return EmailPage.objects.get(slug=slug).pk


def contact_list(name):
    return ContactList.objects.get(name=name).pk


def welcome_series():
    return {
        "name": "Welcome series",
        "description": "New newsletter subscribers get a welcome, then our favourite posts.",
        "reentry": "never",
        "triggers": [child("form_submitted", {"form_page": FormPage.objects.get().pk})],
        "entry_conditions": [child("is_subscribed")],
        "steps": [
            child("add_to_list", {"list": contact_list("Newsletter")}),
            child("send_email", {"page": email("welcome"), "subject_override": ""}),
            child("wait", {"amount": 2, "unit": "days"}),
            child("send_email", {"page": email("welcome-best-of"), "subject_override": ""}),
            child("wait", {"amount": 3, "unit": "days"}),
            child(
                "branch",
                {
                    "conditions": [child("clicked_email", {"within_days": 7})],
                    "match": "any",
                    "yes": [child("add_tag", {"tag": "engaged"})],
                    "no": [child("add_tag", {"tag": "quiet"})],
                },
            ),
        ],
    }


def discount_offer():
    return {
        "name": "10% off for new subscribers",
        "description": "The landing page's sign-ups get their code by email, and a reminder "
        "three days later unless they have ordered (the goal).",
        "reentry": "never",
        "triggers": [child("form_submitted", {"form_page": LandingPage.objects.get().pk})],
        "entry_conditions": [child("is_subscribed")],
        "steps": [
            child("add_to_list", {"list": contact_list("Newsletter")}),
            child("send_email", {"page": email("discount-code"), "subject_override": ""}),
            child("wait", {"amount": 3, "unit": "days"}),
            child(
                "send_email",
                {"page": email("discount-code"), "subject_override": "A reminder: WELCOME10"},
            ),
        ],
        "goal": [child("has_ordered", {})],
    }


def abandoned_cart():
    return {
        "name": "Abandoned cart",
        "description": "A reminder an hour after a cart was left without an order.",
        "reentry": "after_exit",
        "triggers": [child("cart_abandoned", {"after_hours": 1})],
        "entry_conditions": [child("is_subscribed")],
        "steps": [
            child("send_email", {"page": email("abandoned-cart"), "subject_override": ""}),
        ],
        "goal": [child("did_event", {"kind": "order_placed", "within_days": 1})],
    }


def ebook_follow_up():
    ebook = get_document_model().objects.get(title="The Kitchen Garden Handbook")
    return {
        "name": "E-book follow-up",
        "description": "Known readers of the e-book hear from us a day later; sales is told.",
        "reentry": "never",
        "triggers": [child("document_downloaded", {"document": ebook.pk})],
        "steps": [
            child(
                "notify",
                {
                    "recipients": "sales@greenspoon.example",
                    "subject": "A known contact downloaded the e-book",
                    "message": "Their timeline is under Flows > Contacts in the admin.",
                },
            ),
            child("set_stage", {"stage": "lead"}),
            child("wait", {"amount": 1, "unit": "days"}),
            child("send_email", {"page": email("ebook-follow-up"), "subject_override": ""}),
        ],
    }


def new_customers():
    return {
        "name": "New customers",
        "description": "Everyone who orders joins the Customers list at stage customer.",
        "reentry": "never",
        "triggers": [child("order_placed", {})],
        "steps": [
            child("add_to_list", {"list": contact_list("Customers")}),
            child("set_stage", {"stage": "customer"}),
        ],
    }


DEMO_FLOWS = (welcome_series, discount_offer, abandoned_cart, ebook_follow_up, new_customers)
STREAMS = ("triggers", "entry_conditions", "steps", "goal")


def missing_blocks(spec):
    """Block types ``spec`` uses that this version of wagtail-flows does not offer."""
    missing = set()
    for field in STREAMS:
        offered = Flow._meta.get_field(field).stream_block.child_blocks
        for item in spec.get(field, ()):
            if item["type"] not in offered:
                missing.add(item["type"])
    return missing


def load_flows(write):
    """Create and activate the demo flows that do not exist yet; returns the created ones."""
    created = []
    for build in DEMO_FLOWS:
        spec = build()
        if Flow.objects.filter(name=spec["name"]).exists():
            continue
        missing = missing_blocks(spec)
        if missing:
            write(f"Skipped flow {spec['name']!r}: no block types {', '.join(sorted(missing))}")
            continue
        flow = Flow.objects.create(**spec)
        try:
            flow.activate()
        except ValidationError as error:
            write(f"Flow {flow.name!r} left as a draft: {'; '.join(error.messages)}")
        created.append(flow)
    return created
