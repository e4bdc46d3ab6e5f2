"""The page type a page-view trigger or a "did something" condition may ask for ("any product
page"): a choice among the site's page models, stored as ``"app_label.model"`` so a saved flow
reads the same after a database is copied (content type ids differ between databases).

A page is of the type when its specific type is exactly that model, as Wagtail's own page type
filters read it: a subclass of the model is a type of its own.
"""

import swapper
from django.apps import apps
from django.utils.text import capfirst
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from wagtail import blocks

OUR_APP = "wagtail_flows"  # its page types (email pages, the library) are never site pages


def page_type_key(model):
    return f"{model._meta.app_label}.{model._meta.model_name}"


def page_type_models():
    """The page models a visitor can view: every concrete page model but the base Page and
    ours (no query: read from the app registry)."""
    from wagtail.models import get_page_models

    base = swapper.load_model("wagtailcore", "Page")
    return [m for m in get_page_models() if m is not base and m._meta.app_label != OUR_APP]


def page_type_choices():
    """``[(key, label)]`` by label, after "Any page type"; a label two apps share names its
    app."""
    models = page_type_models()
    labels = [capfirst(m._meta.verbose_name) for m in models]
    choices = []
    for model, label in zip(models, labels, strict=True):
        if labels.count(label) > 1:
            label = f"{label} ({model._meta.app_config.verbose_name})"
        choices.append((page_type_key(model), label))
    choices.sort(key=lambda choice: (str(choice[1]).lower(), choice[0]))
    return [("", _("Any page type")), *choices]


def page_type_model(key):
    """The page model of ``"app_label.model"``, or None (no such model any more)."""
    app_label, _sep, model_name = (key or "").partition(".")
    if not app_label or not model_name:
        return None
    try:
        return apps.get_model(app_label, model_name)
    except LookupError:
        return None


def page_type_label(key, plural=False):
    """How a description names pages of the type: "product page" ("product pages")."""
    model = page_type_model(key)
    if model is None:
        if plural:
            return gettext("pages of type %(type)s") % {"type": key}
        return gettext("page of type %(type)s") % {"type": key}
    name = model._meta.verbose_name_plural if plural else model._meta.verbose_name
    return str(name)


def page_type_block(**kwargs):
    return blocks.ChoiceBlock(
        choices=page_type_choices,
        required=False,
        label=_("Page type"),
        help_text=_("Only pages of this type, e.g. any product page."),
        **kwargs,
    )
