"""Typed contact properties the site owner defines in the admin (company size, renewal date…).

``ContactProperty`` is the definition; each contact's value is one ``PropertyValue`` row in
the column of its type, indexed by (property, value), so a segment on one property over a
million contacts is an index range, not a scan of every contact's JSON. ``Contact.properties``
keeps a JSON copy of the same values (merge tags, exports, free-form keys read it); both are
written together, only through ``wagtail_flows.models.properties.set_values``.
"""

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from wagtail_flows.models.form_mapping import PROPERTY_KEY_RE
from wagtail_flows.vocabulary import PropertyType

# Contact fields a property may not shadow (conditions and merge tags read both by name).
RESERVED_KEYS = frozenset(
    {
        "email",
        "first_name",
        "last_name",
        "full_name",
        "source",
        "timezone",
        "score",
        "grade",
        "stage",
        "status",
        "orders_count",
        "revenue_total",
        "properties",
        "tags",
        "lists",
    }
)


def validate_key(key):
    if not PROPERTY_KEY_RE.fullmatch(key or ""):
        raise ValidationError(
            _(
                "Use letters, digits and single underscores, starting with a letter "
                "(e.g. company_size)."
            )
        )
    if key.lower() in RESERVED_KEYS:
        raise ValidationError(_("“%(key)s” is a contact field already.") % {"key": key})


class ContactProperty(models.Model):
    """A property every contact may have, with its type (and its choices, for a choice)."""

    key = models.CharField(
        _("name in code"),
        max_length=64,
        unique=True,
        validators=[validate_key],
        help_text=_(
            "How merge tags, conditions and imports name it: {{ contact.properties.KEY }}."
        ),
    )
    label = models.CharField(_("label"), max_length=255)
    type = models.CharField(
        _("type"), max_length=16, choices=PropertyType.choices, default=PropertyType.TEXT
    )
    choices = models.TextField(
        _("choices"), blank=True, help_text=_("For a choice: one choice per line.")
    )
    help_text = models.CharField(_("help text"), max_length=255, blank=True)
    in_listing = models.BooleanField(
        _("filter the Contacts listing by it"),
        default=False,
        help_text=_("Shows this property as a filter beside the Contacts listing."),
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("contact property")
        verbose_name_plural = _("contact properties")
        ordering = ["label"]

    def __str__(self):
        return self.label

    @property
    def choice_list(self):
        return [line.strip() for line in self.choices.splitlines() if line.strip()]


class PropertyValue(models.Model):
    """One contact's value of one property, in the column of the property's type."""

    contact = models.ForeignKey(
        "wagtail_flows.Contact", on_delete=models.CASCADE, related_name="property_values"
    )
    property = models.ForeignKey(ContactProperty, on_delete=models.CASCADE, related_name="values")
    text = models.CharField(max_length=255, null=True, blank=True)  # text and choice
    number = models.DecimalField(max_digits=18, decimal_places=4, null=True, blank=True)
    date = models.DateField(null=True, blank=True)
    boolean = models.BooleanField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("property value")
        constraints = [
            models.UniqueConstraint(
                fields=["contact", "property"], name="wagtail_flows_one_value_per_property"
            )
        ]
        indexes = [
            models.Index(fields=["property", "text"], name="wf_propvalue_text"),
            models.Index(fields=["property", "number"], name="wf_propvalue_number"),
            models.Index(fields=["property", "date"], name="wf_propvalue_date"),
            models.Index(fields=["property", "boolean"], name="wf_propvalue_boolean"),
        ]

    def __str__(self):
        return f"{self.property.key} of contact {self.contact_id}"
