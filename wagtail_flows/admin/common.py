"""What every admin view of wagtail-flows shares: modeladmin base URLs, the confirmation
template, the activate permission, the 403 page and error messages that name the field."""

from django.core.exceptions import NON_FIELD_ERRORS, FieldDoesNotExist
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.text import capfirst
from django.utils.translation import gettext as _

# Where modeladmin mounts each listing under the admin (admin.py uses these).
FLOWS_BASE_URL = "flows"


CONTACTS_BASE_URL = "flows/contacts"


LISTS_BASE_URL = "flows/lists"


SEGMENTS_BASE_URL = "flows/segments"


MESSAGES_BASE_URL = "flows/messages"


PROPERTIES_BASE_URL = "flows/properties"


SCORING_BASE_URL = "flows/scoring"


CONFIRM_TEMPLATE = "wagtail_flows/admin/confirm.html"


ACTIVATE_PERMISSION = "wagtail_flows.activate_flow"


def modeladmin_url(base_url, action, *args):
    return reverse(f"{base_url.replace('/', '_')}_modeladmin_{action}", args=args)


def forbidden(request, needed):
    """A real 403 (Wagtail's own views redirect to the dashboard instead)."""
    context = {"page_title": _("Permission needed"), "header_icon": "lock", "needed": needed}
    return TemplateResponse(request, "wagtail_flows/admin/forbidden.html", context, status=403)


def error_messages(error, instance=None):
    """Flatten a ValidationError, nested block errors included, into lines that name where
    the problem is: "Steps › Send email (step 2) › Email: This field is required."."""
    return list(_walk_error(error, [], instance))


def _walk_error(error, where, value):
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            field_where, field_value = _field_place(where, value, field)
            for item in errors:
                yield from _walk_error(item, field_where, field_value)
        return
    block_errors = getattr(error, "block_errors", None)
    if block_errors is not None:
        for item in error.non_block_errors.as_data():
            yield from _walk_error(item, where, None)
        for key, item in block_errors.items():
            yield from _walk_error(item, *_block_place(where, value, key))
        return
    prefix = " › ".join(where)
    for message in error.messages:
        yield f"{prefix}: {message}" if prefix else message


def _field_place(where, instance, field):
    if field == NON_FIELD_ERRORS or instance is None:
        return where, None
    try:
        label = capfirst(instance._meta.get_field(field).verbose_name)
    except FieldDoesNotExist:
        label = capfirst(field.replace("_", " "))
    return [*where, str(label)], getattr(instance, field, None)


def _block_place(where, value, key):
    try:
        child = value[key]
    except (TypeError, KeyError, IndexError):
        child = None
    if isinstance(key, int):
        block = getattr(child, "block", None)
        if block is not None:  # a stream child
            return [*where, f"{block.label} ({_('step')} {key + 1})"], child.value
        return [*where, f"{_('item')} {key + 1}"], child
    struct_block = getattr(value, "block", None)
    label = key
    if struct_block is not None and key in getattr(struct_block, "child_blocks", {}):
        label = struct_block.child_blocks[key].label
    return [*where, str(label)], child
