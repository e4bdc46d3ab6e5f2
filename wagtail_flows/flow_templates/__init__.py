"""Ready-made flows (FLOW_CATALOG.md): declarative definitions and one builder.

``TEMPLATES`` maps slug → ``FlowTemplate``; ``create_flow(slug, params, user)`` makes a draft
flow and its draft starter emails.
"""

from wagtail_flows.flow_templates import acquisition, commerce, engagement, retention
from wagtail_flows.flow_templates.spec import GROUPS, FlowTemplate

TEMPLATES = {
    template.slug: template
    for module in (acquisition, engagement, commerce, retention)
    for template in module.TEMPLATES
}


def get_template(slug):
    """The template of that slug; ``KeyError`` naming the known slugs if there is none."""
    try:
        return TEMPLATES[slug]
    except KeyError:
        raise KeyError(f"No flow template “{slug}”. Known: {', '.join(TEMPLATES)}") from None


def grouped():
    """[(group label, [templates])] in the catalog's order."""
    return [(label, [t for t in TEMPLATES.values() if t.group == key]) for key, label in GROUPS]


def create_flow(slug_or_template, params=None, user=None):
    from wagtail_flows.flow_templates.builder import create_flow as build

    template = (
        slug_or_template
        if isinstance(slug_or_template, FlowTemplate)
        else get_template(slug_or_template)
    )
    return build(template, params, user)
