"""The one builder: a template definition + the site owner's answers → a draft Flow and its
draft starter emails, in one transaction (bad answers raise ValidationError naming the
parameter, and nothing is created).

Given a user (the admin's gallery), it creates only what that user may create: email pages
where Wagtail would let them add one, lists only with the permission to add lists; what is
missing is a ``MissingPermission`` naming it, and nothing is created. The command line passes
no user and is not limited.
"""

import uuid
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from wagtail.log_actions import log
from wagtail.models import Page, Site

from wagtail_flows.flow_templates.spec import HOME, E, Each, L, Or, P, When
from wagtail_flows.models import ContactList, EmailLibraryPage, EmailPage, Flow

_DROP = object()
ADD_LIST = "wagtail_flows.add_contactlist"


class MissingPermission(ValidationError):
    """The user may not create something the template needs (the message says what)."""


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
            raise ValidationError(_("%(label)s: this is required.") % {"label": param.label})
        return None
    return CLEANERS[param.kind](param, value)


def _clean_int(param, value):
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValidationError(
            _("%(label)s: enter a whole number.") % {"label": param.label}
        ) from None
    if number < 1:
        raise ValidationError(
            _("%(label)s: enter a number of at least 1.") % {"label": param.label}
        )
    return number


def _clean_percent(param, value):
    number = _clean_int(param, value)
    if number > 100:
        raise ValidationError(
            _("%(label)s: enter a percentage from 1 to 100.") % {"label": param.label}
        )
    return number


def _clean_text(param, value):
    return str(value).strip()[:100]


def _clean_skus(param, value):
    """Product SKUs, comma-separated (or a list): each as the shop sends it, at most 20."""
    items = value if isinstance(value, list | tuple) else str(value).split(",")
    skus = list(dict.fromkeys(str(sku).strip() for sku in items if str(sku).strip()))
    if len(skus) > 20:
        raise ValidationError(_("%(label)s: give at most 20 products.") % {"label": param.label})
    if any(len(sku) > 100 for sku in skus):
        raise ValidationError(
            _("%(label)s: a SKU has at most 100 characters.") % {"label": param.label}
        )
    return skus or None


def _clean_emails(param, value):
    addresses = [a.strip() for a in str(value).split(",") if a.strip()]
    for address in addresses:
        try:
            validate_email(address)
        except ValidationError:
            raise ValidationError(
                _("%(label)s: “%(address)s” is not an email address.")
                % {"label": param.label, "address": address}
            ) from None
    return ", ".join(addresses)


def _clean_page(param, value):
    page = value if isinstance(value, Page) else _by_pk(Page.objects, value, param)
    if param.kind == "form_page" and not hasattr(page.specific, "get_form_fields"):
        raise ValidationError(
            _("%(label)s: “%(page)s” is not a form page.")
            % {"label": param.label, "page": page.title}
        )
    return page.pk


def _clean_document(param, value):
    from wagtail.documents import get_document_model

    model = get_document_model()
    return value.pk if isinstance(value, model) else _by_pk(model.objects, value, param).pk


def _by_pk(queryset, value, param):
    try:
        return queryset.get(pk=int(value))
    except (TypeError, ValueError, queryset.model.DoesNotExist):
        raise ValidationError(
            _("%(label)s: no such item (%(value)s).") % {"label": param.label, "value": value}
        ) from None


CLEANERS = {
    "int": _clean_int,
    "percent": _clean_percent,
    "text": _clean_text,
    "emails": _clean_emails,
    "skus": _clean_skus,
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
            return [item for item in self._items(data) if item is not _DROP]
        if isinstance(data, dict):
            resolved = {key: self(value) for key, value in data.items()}
            if {"type", "value"} <= resolved.keys():
                resolved["id"] = str(uuid.uuid4())
            return resolved
        return data

    def _items(self, data):
        for item in data:
            if isinstance(item, Each):
                yield from (self(item.make(value)) for value in self.params.get(item.param) or ())
            else:
                yield self(item)

    def contact_list(self, name):
        if self.dry or not name:
            return None
        return ContactList.objects.get_or_create(name=name)[0].pk


class ListNames(Resolver):
    """Resolves like the builder, writing nothing, and notes each list the template names
    with the parameter its name came from (None for a fixed name)."""

    def __init__(self, params):
        super().__init__(params, dry=True)
        self.names = {}

    def __call__(self, data):
        if isinstance(data, L):
            param = data.name.name if isinstance(data.name, P) else None
            name = self.params.get(param) if param else data.name
            if name:
                self.names.setdefault(name, param)
            return None
        return super().__call__(data)


def list_names(template, params):
    """{list name: parameter or None} of every list ``template`` uses with ``params``."""
    collect = ListNames(params)
    flow_from(template, collect, params)
    for spec in template.emails:
        collect(list(spec.body))
    return collect.names


# --- pages -----------------------------------------------------------------------------------


def home_page():
    site = Site.objects.filter(is_default_site=True).first() or Site.objects.first()
    if site is None:
        raise ValidationError("No Wagtail site exists: create one before using a template.")
    return site.root_page


def email_library(user=None):
    """The email library (the first ``user`` may add email pages to); created under the
    default site's home page if there is none."""
    libraries = EmailLibraryPage.objects.order_by("path")
    if user is not None:
        libraries = [lib for lib in libraries if may_add(user, lib, EmailPage)]
    library = next(iter(libraries), None)
    if library is None:
        library = EmailLibraryPage(
            title="Emails", slug=_free_slug(home_page(), "emails"), live=False
        )
        home_page().add_child(instance=library)
        revision = library.save_revision(user=user)
        if user is None or library.permissions_for_user(user).can_publish():
            revision.publish(user=user)  # else a draft: it is never public either way
    return library


def may_add(user, parent, page_class):
    """Wagtail's own test in its "add a page" view: the permission to add pages below
    ``parent``, and ``page_class`` allowed there (parent and subpage types, max counts)."""
    return (
        parent.permissions_for_user(user).can_add_subpage()
        and page_class in parent.specific_class.creatable_subpage_models()
        and page_class.can_create_at(parent)
    )


def check_permissions(template, params, user):
    """``MissingPermission`` naming what ``user`` may not create for ``template``: the
    starter emails' page (or the library to hold them) and any list that does not exist yet
    (on the setting that names it, else the whole form)."""
    errors = {}
    if template.emails and (problem := _email_page_problem(user)):
        errors[NON_FIELD_ERRORS] = [problem]
    if not user.has_perm(ADD_LIST):
        for field, names in _lists_to_create(template, params).items():
            errors.setdefault(field, []).append(_list_problem(names, field))
    if errors:
        raise MissingPermission(errors)


def _lists_to_create(template, params):
    """{the setting naming them (or NON_FIELD_ERRORS): [names]} of the lists not there yet."""
    names = list_names(template, params)
    existing = set(ContactList.objects.filter(name__in=names).values_list("name", flat=True))
    missing = {}
    for name, param in names.items():
        if name not in existing:
            missing.setdefault(param or NON_FIELD_ERRORS, []).append(name)
    return missing


def _list_problem(names, field):
    quoted = ", ".join(f"“{name}”" for name in names)
    what = f"the list {quoted}" if len(names) == 1 else f"the lists {quoted}"
    fix = (
        "choose a list that exists, or ask an administrator for that permission"
        if field != NON_FIELD_ERRORS
        else "ask an administrator to add them or to give you that permission"
    )
    return (
        f"This template creates {what}, and you may not add lists (the permission "
        f"“{ADD_LIST}”): {fix}."
    )


def _email_page_problem(user):
    libraries = list(EmailLibraryPage.objects.order_by("path"))
    if any(may_add(user, library, EmailPage) for library in libraries):
        return ""
    if libraries:
        names = ", ".join(f"“{library.title}”" for library in libraries)
        return (
            f"This template makes starter emails, and you may not add email pages in the "
            f"email library ({names}): that needs the permission to add pages there "
            "(Settings › Groups › Page permissions)."
        )
    home = home_page()
    if may_add(user, home, EmailLibraryPage):
        return ""
    return (
        f"This template makes starter emails, and there is no email library yet: creating "
        f"one under “{home.title}” needs the permission to add pages there (Settings › "
        "Groups › Page permissions)."
    )


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

STREAMS = ("triggers", "steps", "entry_conditions", "never_enter_if", "goal", "exit_conditions")


def flow_from(template, resolve, params):
    flow = Flow(name=str(template.title), description=str(template.description), **template.fields)
    for name in STREAMS:
        setattr(flow, name, resolve(list(getattr(template, name))))
    if template.runs_for_days_param:
        days = params.get(template.runs_for_days_param)
        flow.ends_at = timezone.now() + timedelta(days=days) if days else None
    return flow


def create_flow(template, params=None, user=None):
    """Create ``template`` as a draft flow with its draft starter emails; returns the Flow."""
    cleaned = clean_params(template, params, user)
    if user is not None:
        check_permissions(template, cleaned, user)
    with transaction.atomic():
        library = email_library(user) if template.emails else None
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
