"""The one builder: a template definition + the site owner's answers → a draft Flow and its
draft starter emails, in one transaction (bad answers raise ValidationError naming the
parameter, and nothing is created)."""

import uuid
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from wagtail.log_actions import log
from wagtail.models import Page, Site

from wagtail_flows.flow_templates.spec import HOME, E, L, Or, P, When
from wagtail_flows.models import ContactList, EmailLibraryPage, EmailPage, Flow

_DROP = object()


# --- parameters ----------------------------------------------------------------------------


def default_recipients(user=None):
    """Who a "notify the team" step writes to unless told: the user, else MANAGERS/ADMINS."""
    if user is not None and getattr(user, "email", ""):
        return user.email
    people = list(settings.MANAGERS) or list(settings.ADMINS)
    return ", ".join(email for _name, email in people)


def clean_params(template, raw, user=None):
    """The template's parameters from ``raw`` (strings, ids or objects), defaults filled in."""
    raw = raw or {}
    unknown = sorted(set(raw) - {p.name for p in template.params})
    if unknown:
        raise ValidationError(dict.fromkeys(unknown, "This template has no such setting."))
    cleaned, errors = {}, {}
    for param in template.params:
        value = raw.get(param.name)
        if value in (None, ""):
            value = param.default(user) if callable(param.default) else param.default
        try:
            cleaned[param.name] = _clean_value(param, value)
        except ValidationError as error:
            errors[param.name] = error.messages
    if errors:
        raise ValidationError(errors)
    return cleaned


def _clean_value(param, value):
    if value in (None, ""):
        if param.required:
            raise ValidationError(f"{param.label}: this is required.")
        return None
    return CLEANERS[param.kind](param, value)


def _clean_int(param, value):
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValidationError(f"{param.label}: enter a whole number.") from None
    if number < 1:
        raise ValidationError(f"{param.label}: enter a number of at least 1.")
    return number


def _clean_percent(param, value):
    number = _clean_int(param, value)
    if number > 100:
        raise ValidationError(f"{param.label}: enter a percentage from 1 to 100.")
    return number


def _clean_text(param, value):
    return str(value).strip()[:100]


def _clean_emails(param, value):
    addresses = [a.strip() for a in str(value).split(",") if a.strip()]
    for address in addresses:
        try:
            validate_email(address)
        except ValidationError:
            raise ValidationError(f"{param.label}: “{address}” is not an email address.") from None
    return ", ".join(addresses)


def _clean_page(param, value):
    page = value if isinstance(value, Page) else _by_pk(Page.objects, value, param)
    if param.kind == "form_page" and not hasattr(page.specific, "get_form_fields"):
        raise ValidationError(f"{param.label}: “{page.title}” is not a form page.")
    return page.pk


def _clean_document(param, value):
    from wagtail.documents import get_document_model

    model = get_document_model()
    return value.pk if isinstance(value, model) else _by_pk(model.objects, value, param).pk


def _by_pk(queryset, value, param):
    try:
        return queryset.get(pk=int(value))
    except (TypeError, ValueError, queryset.model.DoesNotExist):
        raise ValidationError(f"{param.label}: no such item ({value}).") from None


CLEANERS = {
    "int": _clean_int,
    "percent": _clean_percent,
    "text": _clean_text,
    "emails": _clean_emails,
    "page": _clean_page,
    "form_page": _clean_page,
    "document": _clean_document,
}


# --- resolving markers ---------------------------------------------------------------------


class Resolver:
    """Turns a definition's markers into real ids; ``dry`` resolves to placeholders and
    writes nothing (the gallery's preview)."""

    def __init__(self, params, emails=None, dry=False):
        self.params = params
        self.emails = emails or {}
        self.dry = dry

    def __call__(self, data):
        if isinstance(data, When):
            return self(data.block) if self.params.get(data.param) else _DROP
        if isinstance(data, Or):
            return next((v for v in map(self, data.options) if v), None)
        if isinstance(data, P):
            return self.params.get(data.name)
        if isinstance(data, L):
            return self.contact_list(self(data.name) if isinstance(data.name, P) else data.name)
        if isinstance(data, E):
            return None if self.dry else self.emails[data.key].pk
        if data is HOME:
            return None if self.dry else home_page().pk
        if isinstance(data, list | tuple):
            return [item for item in map(self, data) if item is not _DROP]
        if isinstance(data, dict):
            resolved = {key: self(value) for key, value in data.items()}
            if {"type", "value"} <= resolved.keys():
                resolved["id"] = str(uuid.uuid4())
            return resolved
        return data

    def contact_list(self, name):
        if self.dry or not name:
            return None
        return ContactList.objects.get_or_create(name=name)[0].pk


# --- pages -----------------------------------------------------------------------------------


def home_page():
    site = Site.objects.filter(is_default_site=True).first() or Site.objects.first()
    if site is None:
        raise ValidationError("No Wagtail site exists: create one before using a template.")
    return site.root_page


def email_library():
    """The email library; created under the default site's home page if missing."""
    library = EmailLibraryPage.objects.order_by("path").first()
    if library is None:
        library = EmailLibraryPage(title="Emails", slug=_free_slug(home_page(), "emails"))
        home_page().add_child(instance=library)
        library.save_revision().publish()
    return library


def _free_slug(parent, base):
    taken = set(parent.get_children().values_list("slug", flat=True))
    slug, n = base, 1
    while slug in taken:
        n += 1
        slug = f"{base}-{n}"
    return slug


def create_email(library, template, spec, resolve, user=None):
    title = f"{template.title}: {spec.title}"
    page = EmailPage(
        title=title,
        slug=_free_slug(library, slugify(title)[:200] or "email"),
        subject=spec.subject,
        preheader=spec.preheader,
        body=resolve(list(spec.body)),
        live=False,
    )
    library.add_child(instance=page)
    page.save_revision(user=user, log_action=True)
    return page


# --- the flow --------------------------------------------------------------------------------

STREAMS = ("triggers", "steps", "entry_conditions", "goal", "exit_conditions")


def flow_from(template, resolve, params):
    flow = Flow(name=template.title, description=template.description, **template.fields)
    for name in STREAMS:
        setattr(flow, name, resolve(list(getattr(template, name))))
    if template.runs_for_days_param:
        days = params.get(template.runs_for_days_param)
        flow.ends_at = timezone.now() + timedelta(days=days) if days else None
    return flow


def create_flow(template, params=None, user=None):
    """Create ``template`` as a draft flow with its draft starter emails; returns the Flow."""
    cleaned = clean_params(template, params, user)
    with transaction.atomic():
        library = email_library()
        plain = Resolver(cleaned)
        emails = {
            spec.key: create_email(library, template, spec, plain, user)
            for spec in template.emails
        }
        flow = flow_from(template, Resolver(cleaned, emails), cleaned)
        flow.save()
        log(flow, "wagtail.create", user=user, data={"template": template.slug})
    return flow


def preview_flow(template):
    """An unsaved flow showing the template's shape (for the gallery), writing nothing."""
    defaults = {p.name: p.default if not callable(p.default) else None for p in template.params}
    return flow_from(template, Resolver(defaults, dry=True), defaults)


def email_pages(flow):
    """The email pages a flow's send steps use, in order of first use (each once)."""
    ids = []

    def walk(data):
        if isinstance(data, list):
            for item in data:
                walk(item)
        elif isinstance(data, dict):
            if data.get("type") == "send_email" and isinstance(data.get("value"), dict):
                page_id = data["value"].get("page")
                if page_id and page_id not in ids:
                    ids.append(page_id)
            for value in data.values():
                walk(value)

    walk(list(flow.steps.raw_data))
    pages = EmailPage.objects.in_bulk(ids)
    return [pages[pk] for pk in ids if pk in pages]
