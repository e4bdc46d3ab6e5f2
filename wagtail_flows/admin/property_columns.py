"""Contact properties in the admin beside the listing: export columns, and what defining or
retyping a property did to the values contacts already had."""

from django.utils.translation import ngettext

from wagtail_flows.models.properties import ContactProperty, display

EXPORT_PREFIX = "property:"


def export_fields():
    """The export columns of the defined properties (one query): ``property:KEY``."""
    return [EXPORT_PREFIX + key for key in ContactProperty.objects.values_list("key", flat=True)]


def is_property_field(field):
    return isinstance(field, str) and field.startswith(EXPORT_PREFIX)


class ExportColumns:
    """The defined properties of an export, read once per export."""

    def __init__(self):
        self.props = {prop.key: prop for prop in ContactProperty.objects.all()}

    def heading(self, field):
        prop = self.props.get(field.removeprefix(EXPORT_PREFIX))
        return prop.label if prop else field

    def value(self, field, contact):
        prop = self.props.get(field.removeprefix(EXPORT_PREFIX))
        stored = contact.properties if isinstance(contact.properties, dict) else {}
        return display(prop, stored.get(prop.key)) if prop else ""


def rebuild_message(prop):
    """A sentence on the values copied into ``prop`` from contacts' free-form properties."""
    report = getattr(prop, "rebuild_report", None)
    if not report:
        return ""
    parts = [
        ngettext(
            "%(count)s existing value was kept as a %(type)s.",
            "%(count)s existing values were kept as a %(type)s.",
            report.copied,
        )
        % {"count": report.copied, "type": prop.get_type_display().lower()}
    ]
    if report.failed:
        examples = "; ".join(f"{email}: “{raw}”" for email, raw, _m in report.examples)
        parts.append(
            ngettext(
                "%(count)s value did not fit and stays free-form, not set for conditions "
                "and filters (%(examples)s).",
                "%(count)s values did not fit and stay free-form, not set for conditions "
                "and filters (%(examples)s).",
                report.failed,
            )
            % {"count": report.failed, "examples": examples}
        )
    return " ".join(parts)


def saved_message(base, prop):
    extra = rebuild_message(prop)
    return f"{base} {extra}" if extra else base
