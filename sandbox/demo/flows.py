"""The demo's live flows, made from wagtail-flows' flow templates (FLOW_CATALOG.md) and wired
to the demo's own forms, shop and e-book — what a site owner gets from "New flow from a
template" in the admin, answered for Green Spoon.

Each template brings its starter emails; where the demo has its own copy for one
(``content.EMAILS``, keyed by the starter email's key) that copy replaces the sample text.
Every starter email is then published and the flow activated. Flows are looked up by name:
an existing one (perhaps edited) is left alone.
"""

import uuid
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from wagtail.documents import get_document_model

from demo import content
from demo.models import FormPage, LandingPage
from wagtail_flows import flow_templates
from wagtail_flows.models import EmailPage, Flow
from wagtail_flows.models.email_pages import email_pages

SALES_TEAM = "sales@greenspoon.example"


def child(block_type, value=None):
    """One stream child in Wagtail's raw form, with its own id (the engine's step key)."""
    return {"type": block_type, "value": value, "id": str(uuid.uuid4())}


@dataclass(frozen=True)
class DemoFlow:
    name: str
    template: str
    params: object = dict  # a callable: the template's settings, read when the flow is made
    copy: dict = field(default_factory=dict)  # starter email key -> content.EMAILS slug


def _newsletter():
    return {
        "form_page": FormPage.objects.get().pk,
        "join_list": "Newsletter",
        "source_tag": "signup-newsletter",
    }


def _landing():
    landing = LandingPage.objects.get()
    return {"form_page": landing.pk, "coupon_code": landing.discount_code}


def _ebook():
    ebook = get_document_model().objects.get(title=content.EBOOK_TITLE)
    return {"document": ebook.pk, "sales_team": SALES_TEAM}


def _cart():
    return {"after_hours": 1, "coupon_code": LandingPage.objects.get().discount_code}


DEMO_FLOWS = (
    DemoFlow(
        "Welcome series",
        "welcome-series",
        _newsletter,
        {"welcome": "welcome", "best-of": "welcome-best-of"},
    ),
    DemoFlow("10% off for new subscribers", "visitor-conversion", _landing, {"discount": "code"}),
    DemoFlow("Abandoned cart", "abandoned-cart", _cart, {"reminder": "abandoned-cart"}),
    DemoFlow("E-book follow-up", "content-download-follow-up", _ebook, {"content": "ebook"}),
    DemoFlow("New customers", "purchase-list-move"),
)


def load_flows(write, urls):
    """Create, publish and activate the demo flows that do not exist yet; returns them."""
    created = []
    for demo in DEMO_FLOWS:
        if Flow.objects.filter(name=demo.name).exists():
            continue
        template = flow_templates.get_template(demo.template)
        flow = flow_templates.create_flow(template, demo.params())
        flow.name = demo.name
        flow.save(update_fields=["name"])
        # The builder titles each starter email "<template title>: <email title>".
        own_copy = {
            f"{template.title}: {template.email(key).title}": content.EMAIL_COPY[slug]
            for key, slug in demo.copy.items()
        }
        for page in email_pages(flow):
            publish(page, flow.name, own_copy.get(page.title), urls)
        try:
            flow.activate()
        except ValidationError as error:
            write(f"Flow {flow.name!r} left as a draft: {'; '.join(error.messages)}")
        created.append(flow)
    return created


def publish(page, flow_name, spec, urls):
    """Publish a starter email, titled after the demo's flow, with the demo's own copy
    (``spec``) if it has some."""
    page.title = f"{flow_name}: {page.title.split(': ', 1)[-1]}"
    if spec is not None:
        page.subject, page.preheader = spec["subject"], spec["preheader"]
        page.body = email_body(spec, urls)
    page.save_revision().publish()


def email_body(spec, urls):
    """Raw body blocks for an email, using only the blocks the email body offers (heading
    and text always; a button, a coupon, product cards where offered)."""
    offered = EmailPage._meta.get_field("body").stream_block.child_blocks
    body = [child("heading", spec["heading"])]
    body += [child("text", f"<p>{paragraph}</p>") for paragraph in spec["paragraphs"]]
    body += [child(kind, value) for kind, value in spec["extras"] if kind in offered]
    if spec["button"]:
        label, url = spec["button"][0], spec["button"][1].format(**urls)
        if "button" in offered:
            body.append(child("button", {"text": label, "url": url}))
        else:
            body.append(child("text", f'<p><a href="{url}">{label}</a></p>'))
    return body
