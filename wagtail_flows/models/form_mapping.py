"""Where a form page's answers go: each form field to a contact field or a contact property.

A form page without a saved ``FormFieldMapping`` uses ``default_targets()``, read from the
field names (``your_name`` is a full name, ``telephone`` a phone number, …). The admin screen
(``admin/form_fields.py``) shows those defaults and saves the page's own choices.
"""

import re

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from wagtail_flows.conf import flows_settings
from wagtail_flows.models.base import PAGE_MODEL

# A property key usable in a database lookup: a letter, then letters, digits or single
# underscores (``__`` would read as a nested lookup). ``flows.conditions`` uses the same.
PROPERTY_KEY_RE = re.compile(r"[A-Za-z](_?[A-Za-z0-9])*")
# Phone and company are not Contact fields: they are kept as properties under these keys.
CONTACT_PROPERTY_TARGETS = {"phone": "phone", "company": "company"}

IGNORE = "ignore"
PROPERTY = "property"
TARGET_CHOICES = [
    (IGNORE, _("Ignore (kept only in the submission)")),
    ("email", _("Email")),
    ("first_name", _("First name")),
    ("last_name", _("Last name")),
    ("full_name", _("Full name (split into first and last name)")),
    ("phone", _("Phone (property “phone”)")),
    ("company", _("Company (property “company”)")),
    ("consent", _("Consent to marketing email (a checkbox)")),
    (PROPERTY, _("Contact property…")),
]
TARGETS = frozenset(code for code, _label in TARGET_CHOICES)
# Targets one field at most may have.
SINGLE_TARGETS = frozenset({"email", "first_name", "last_name", "full_name"})

# Field names (Wagtail's clean names) read as each target when a page has no saved mapping.
DEFAULT_NAMES = {
    "first_name": ("first_name", "firstname", "given_name", "forename", "your_first_name"),
    "last_name": ("last_name", "lastname", "surname", "family_name", "your_last_name"),
    "full_name": ("your_name", "name", "full_name", "fullname", "your_full_name"),
    "phone": ("phone", "telephone", "phone_number", "your_phone", "mobile", "tel"),
    "company": ("company", "organisation", "organization", "company_name", "your_company"),
}


class FormFieldMapping(models.Model):
    """One form page's choices: ``targets`` maps a field's clean name to
    ``{"target": "first_name"}`` or ``{"target": "property", "key": "nps_score"}``."""

    page = models.OneToOneField(
        PAGE_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("form page")
    )
    targets = models.JSONField(_("targets"), default=dict, blank=True)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("form field mapping")
        verbose_name_plural = _("form field mappings")

    def __str__(self):
        return f"Form fields of page {self.page_id}"


def default_target(field):
    """The target a field gets when its page has no saved mapping."""
    name = field.clean_name
    if field.field_type == "email" or name in flows_settings.EMAIL_FIELD_NAMES:
        return {"target": "email"}
    if field.field_type == "checkbox" and is_consent_name(name):
        return {"target": "consent"}
    for target, names in DEFAULT_NAMES.items():
        if name in names:
            return {"target": target}
    return {"target": IGNORE}


def is_consent_name(name):
    words = f"_{name}_"
    return any(f"_{word}_" in words for word in flows_settings.CONSENT_FIELD_NAMES)


def default_targets(fields):
    targets = {}
    taken = set()
    for field in fields:
        target = default_target(field)
        if target["target"] in SINGLE_TARGETS and target["target"] in taken:
            target = {"target": IGNORE}  # the first email field is the address, as before
        taken.add(target["target"])
        targets[field.clean_name] = target
    return targets


def targets_for(page, fields):
    """The page's saved choices for its current fields, defaults for fields added since."""
    saved = FormFieldMapping.objects.filter(page_id=page.pk).values_list("targets", flat=True)
    saved = next(iter(saved), None)
    if saved is None:
        return default_targets(fields)
    return {
        field.clean_name: saved.get(field.clean_name) or {"target": IGNORE} for field in fields
    }


def validate_targets(targets, field_names):
    """Raise a ValidationError naming each field whose target cannot work."""
    errors = {}
    used = {}
    for name, choice in targets.items():
        target, key = choice.get("target"), (choice.get("key") or "").strip()
        if name not in field_names:
            errors[name] = _("The form has no field “%(name)s”.") % {"name": name}
        elif target not in TARGETS:
            errors[name] = _("“%(target)s” is not a target.") % {"target": target}
        elif target == PROPERTY and not key:
            errors[name] = _("Name the contact property to keep this answer in.")
        elif target == PROPERTY and not PROPERTY_KEY_RE.fullmatch(key):
            errors[name] = _(
                "“%(key)s” cannot be a property name: use letters, digits and single "
                "underscores, starting with a letter (e.g. nps_score)."
            ) % {"key": key}
        elif target in SINGLE_TARGETS and target in used:
            errors[name] = _("“%(other)s” is already the %(target)s field.") % {
                "other": used[target],
                "target": dict(TARGET_CHOICES)[target].lower(),
            }
        used.setdefault(target, name)
    if errors:
        raise ValidationError(errors)
