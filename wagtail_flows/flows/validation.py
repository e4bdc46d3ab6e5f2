"""Activation checks: what a flow needs before it can go live.

A draft may be incomplete; these checks run when a flow is activated (``Flow.activate``,
``Flow.validate_for_activation``) and when a live or paused flow is cleaned. Errors are
Wagtail's block validation errors (``StreamBlockValidationError`` …) so the editor highlights
the exact block and field; each also carries a readable message naming the path, e.g.
``Step 2 (Send email) › page: Choose an email.``
"""

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.validators import validate_email
from django.forms.utils import ErrorList
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from wagtail.blocks import (
    ListBlock,
    ListBlockValidationError,
    StreamBlock,
    StreamBlockValidationError,
    StructBlockValidationError,
)

from wagtail_flows.flows.blocks import (
    GROUP_CONDITION_TYPES,
    ConditionsBlock,
    StepsBlock,
    TriggersBlock,
)
from wagtail_flows.flows.kinds import SEGMENT_TRIGGERS

STREAM_FIELDS = (
    "triggers",
    "entry_conditions",
    "never_enter_if",
    "steps",
    "goal",
    "exit_conditions",
)


# Checks that need more than the flows know (the emails' sender check): registered at app
# ready, each ``check(flow) -> {field name or NON_FIELD_ERRORS: ValidationError}``.
EXTRA_CHECKS = []


def register_activation_check(check):
    if check not in EXTRA_CHECKS:
        EXTRA_CHECKS.append(check)


def activation_errors(flow):
    """``{field name: ValidationError}`` for everything that stops ``flow`` going live."""
    errors = dict(settings_errors(flow))
    errors.update(structural_errors(flow))
    checks = (
        ("triggers", _triggers_error),
        ("entry_conditions", _conditions_error),
        ("never_enter_if", _conditions_error),
        ("steps", _steps_error),
        ("goal", _conditions_error),
        ("exit_conditions", _conditions_error),
    )
    for field, check in checks:
        if field in errors:
            continue
        error = check(getattr(flow, field), field.replace("_", " ").capitalize())
        if error is not None:
            errors[field] = error
    for extra in EXTRA_CHECKS:
        for field, error in extra(flow).items():
            errors.setdefault(field, error)
    return errors


def validate_for_activation(flow):
    errors = activation_errors(flow)
    if errors:
        raise ValidationError(errors)


def settings_errors(flow):
    """Checks of plain fields that hold for drafts too."""
    errors = {}
    if flow.starts_at and flow.ends_at and flow.ends_at <= flow.starts_at:
        errors["ends_at"] = ValidationError(_("The end must be after the start."), code="ends_at")
    if flow.reentry == "after_days" and not flow.reentry_days:
        errors["reentry_days"] = ValidationError(
            _("Give the number of days before a contact may enter again."), code="reentry_days"
        )
    return errors


def structural_errors(flow):
    """The blocks' own validation (``StreamBlock.clean``), which ``full_clean()`` skips."""
    errors = {}
    for field in STREAM_FIELDS:
        block = flow._meta.get_field(field).stream_block
        value = getattr(flow, field)
        try:
            block.clean(value)
        except ValidationError as error:
            label = field.replace("_", " ").capitalize()
            errors[field] = _readable(error, list(flatten(error, label, value, block)))
    return errors


def flatten(error, where, value=None, block=None):
    """Readable ``path: message`` lines for a (nested) block validation error, naming each
    block by its position and label where the value is at hand (``Steps › Step 2 (Wait)``)."""
    if isinstance(error, (StreamBlockValidationError, ListBlockValidationError)):
        for index, child in sorted(error.block_errors.items()):
            here, child_value, child_block = _item(where, value, block, index)
            yield from flatten(child, here, child_value, child_block)
        for message in _messages(error.non_block_errors):
            yield f"{where}: {message}"
    elif isinstance(error, StructBlockValidationError):
        for name, child in error.block_errors.items():
            child_block = getattr(block, "child_blocks", {}).get(name)
            nested = isinstance(child_block, (StreamBlock, ListBlock))
            child_value = _get(value, name)
            yield from flatten(
                child, f"{where} › {_field_label(name, nested)}", child_value, child_block
            )
        for message in _messages(error.non_block_errors):
            yield f"{where}: {message}"
    else:
        for message in error.messages:
            yield f"{where}: {message}"


def _item(where, value, block, index):
    """(path, value, block) of item ``index`` of a stream or list."""
    try:
        if isinstance(block, StreamBlock):
            child = value[index]
            label = block.child_blocks[child.block_type].label
            return f"{where} › {_noun(block)} {index + 1} ({label})", child.value, child.block
        if isinstance(block, ListBlock):
            return f"{where} › {index + 1}", value[index], block.child_block
    except (IndexError, KeyError, TypeError, AttributeError):
        pass
    return f"{where} › {index + 1}", None, None


def _noun(block):
    if isinstance(block, TriggersBlock):
        return _("Trigger")
    return _("Condition") if isinstance(block, ConditionsBlock) else _("Step")


def _field_label(name, nested):
    return name.replace("_", " ").capitalize() if nested else name


def _get(value, name):
    try:
        return value[name]
    except (KeyError, TypeError):
        return None


def _messages(error_list):
    return ValidationError(error_list.as_data()).messages if error_list else []


def conditions_errors(stream, field):
    """Errors of a conditions stream alone (segments): block validation, then our checks."""
    block = ConditionsBlock()
    try:
        block.clean(stream)
    except ValidationError as error:
        return {field: _readable(error, list(flatten(error, field.capitalize())))}
    error = _conditions_error(stream, field.capitalize())
    return {field: error} if error is not None else {}


# --- building errors ----------------------------------------------------------------------


def _readable(error, messages):
    error.message = " ".join(messages)
    error.readable_messages = messages
    return error


def _stream_error(block_errors, non_block, messages):
    if not block_errors and not non_block:
        return None
    error = StreamBlockValidationError(
        block_errors=block_errors, non_block_errors=ErrorList(non_block)
    )
    return _readable(error, messages)


class _Walk:
    """Collects structured errors for one stream and readable messages for all of them."""

    def __init__(self, path):
        self.path = path
        self.messages = []

    def field(self, where, field, message):
        self.messages.append(f"{where} › {field}: {message}")
        return ValidationError(message, code=field)


def _position(index, child, block):
    label = block.child_blocks[child.block_type].label if block else child.block_type
    return f"{index + 1} ({label})"


# --- triggers and conditions --------------------------------------------------------------


def _trigger_fields(child):
    v = child.value or {}
    kind = child.block_type
    if kind == "custom_event" and not v.get("name"):
        return {"name": _("Give the custom event's name.")}
    if kind == "property_changed" and (problem := _watched_property_problem(v.get("name"))):
        return {"name": problem}
    if kind in SEGMENT_TRIGGERS and v.get("segment") is None:
        return {"segment": _("Choose a segment.")}  # none chosen, or it was deleted
    by_property = v.get("date_source") == "property"
    if kind == "date_reached" and by_property and not v.get("property_name"):
        return {"property_name": _("Name the contact's date property.")}
    thresholds = (v.get("min_visits"), v.get("min_open_rate"), v.get("min_click_rate"))
    if kind == "engagement" and not any(thresholds):
        return {"min_visits": _("Set a number of visits, an open rate or a click rate.")}
    return {}


def _watched_property_problem(name):
    """Why a "Property changed" trigger cannot watch ``name`` (None if it can): a contact
    field's changes are no property changes (read by name: no import of the models here)."""
    from django.apps import apps

    name = (name or "").strip()
    if not name:
        return _("Name the property to watch.")
    contact = apps.get_model("wagtail_flows", "Contact")
    fields = {f.name for f in contact._meta.get_fields() if f.concrete or f.many_to_many}
    if name.lower() in fields | {"full_name", "tags", "lists"}:
        return _(
            "“%(name)s” is a contact field, not a property: its changes start no flow "
            "(the stage and the score have triggers of their own)."
        ) % {"name": name}
    return None


def _triggers_error(stream, path):
    walk = _Walk(path)
    if not list(stream or ()):
        message = _("Add a trigger: nothing would start this flow.")
        walk.messages.append(f"{path}: {message}")
        return _stream_error({}, [ValidationError(message, code="no_trigger")], walk.messages)
    block_errors = _struct_errors(stream, _trigger_fields, walk, TriggersBlock(), _("Trigger"))
    return _stream_error(block_errors, [], walk.messages)


def _condition_fields(child):
    v = child.value or {}
    if child.block_type == "property" and _blank(v.get("name")):
        return {"name": _("Name the property to compare.")}
    if child.block_type in GROUP_CONDITION_TYPES:
        return _group_fields(child.block_type, v)
    return {}


def _group_fields(block_type, v):
    if block_type == "group" and v.get("match") not in ("all", "any"):
        return {"match": _("Choose whether all or any of the group's conditions must hold.")}
    if not list(v.get("conditions") or ()):
        if block_type == "group":
            return {"conditions": _("Add a condition to this group, or remove it.")}
        return {"conditions": _("Add a condition to this “Not”, or remove it.")}
    return {}


def _conditions_error(stream, path):
    walk = _Walk(path)
    block_errors = _condition_stream_errors(stream, walk, path)
    return _stream_error(block_errors, [], walk.messages)


def _condition_stream_errors(stream, walk, path):
    """Errors of each condition, looking into groups and NOTs at every depth."""
    block = ConditionsBlock()
    block_errors = {}
    for index, child in enumerate(stream or ()):
        where = f"{path} › {_('Condition')} {_position(index, child, block)}"
        problems = _condition_fields(child)
        nested = {}
        if child.block_type in GROUP_CONDITION_TYPES:
            inner = _condition_stream_errors((child.value or {}).get("conditions"), walk, where)
            if inner:
                nested["conditions"] = StreamBlockValidationError(block_errors=inner)
        if problems or nested:
            errors = {f: walk.field(where, f, m) for f, m in problems.items()}
            block_errors[index] = StructBlockValidationError(block_errors={**errors, **nested})
    return block_errors


def _struct_errors(stream, check, walk, block, noun):
    block_errors = {}
    for index, child in enumerate(stream or ()):
        problems = check(child)
        if problems:
            where = f"{walk.path} › {noun} {_position(index, child, block)}"
            block_errors[index] = StructBlockValidationError(
                block_errors={f: walk.field(where, f, m) for f, m in problems.items()}
            )
    return block_errors


# --- steps --------------------------------------------------------------------------------


def _steps_error(stream, path):
    walk = _Walk(path)
    block_errors = _step_stream_errors(stream, walk, path)
    return _stream_error(block_errors, [], walk.messages)


def _step_stream_errors(stream, walk, where):
    block = StepsBlock()
    block_errors = {}
    for index, child in enumerate(stream or ()):
        here = f"{where} › {_('Step')} {_position(index, child, block)}"
        error = STEP_CHECKS.get(child.block_type, _no_check)(child.value or {}, walk, here)
        if error is not None:
            block_errors[index] = error
    return block_errors


def _no_check(value, walk, where):
    return None


def _struct(walk, where, problems, nested=None, non_block=()):
    block_errors = {f: walk.field(where, f, m) for f, m in problems.items()}
    block_errors.update(nested or {})
    for message in non_block:
        walk.messages.append(f"{where}: {message}")
    if not block_errors and not non_block:
        return None
    return StructBlockValidationError(
        block_errors=block_errors, non_block_errors=ErrorList(list(non_block))
    )


def _check_send_email(value, walk, where):
    page = value.get("page")
    if page is None:
        return _struct(walk, where, {"page": _("Choose an email.")})
    if not page.live:
        return _struct(
            walk,
            where,
            {"page": _("“%(title)s” is not published: publish it.") % {"title": page.title}},
        )
    return None


def _check_wait(value, walk, where):
    if value.get("amount") is None or value["amount"] <= 0:
        return _struct(walk, where, {"amount": _("A wait must be longer than 0.")})
    return None


def _check_wait_until(value, walk, where):
    if value.get("date_source"):
        if _blank(value.get("date_key")):
            return _struct(walk, where, {"date_key": _("Name the date to wait for.")})
        return None
    if not value.get("time") and not value.get("weekdays"):
        return _struct(walk, where, {"time": _("Set a time of day, weekdays or a date.")})
    return None


def _nested(stream, walk, where, name):
    errors = _step_stream_errors(stream, walk, f"{where} › {name}")
    return StreamBlockValidationError(block_errors=errors) if errors else None


def _check_branch(value, walk, where):
    problems, nested = {}, {}
    if not list(value.get("conditions") or ()):
        problems["conditions"] = _("Add a condition to branch on.")
    conditions = _branch_conditions_error(value.get("conditions"), walk, where)
    if conditions is not None:
        nested["conditions"] = conditions
    if value.get("wait_up_to_amount") is not None and value["wait_up_to_amount"] < 0:
        problems["wait_up_to_amount"] = _("Waiting cannot be negative.")
    for side, side_label in (("yes", _("Yes")), ("no", _("No"))):
        error = _nested(value.get(side), walk, where, side_label)
        if error is not None:
            nested[side] = error
    if not list(value.get("yes") or ()) and not list(value.get("no") or ()):
        problems["yes"] = _("Add a step to Yes or No: this branch does nothing.")
    return _struct(walk, where, problems, nested)


def _branch_conditions_error(stream, walk, where):
    errors = _condition_stream_errors(stream, walk, f"{where} › {_('Conditions')}")
    return StreamBlockValidationError(block_errors=errors) if errors else None


def _check_split(value, walk, where):
    variants = list(value.get("variants") or ())
    if not variants:
        return _struct(walk, where, {"variants": _("Add at least one variant.")})
    item_errors, non_block = {}, []
    for index, variant in enumerate(variants):
        label = variant.get("label") or chr(65 + index)
        error = _nested(
            variant.get("steps"), walk, where, _("Variant %(label)s") % {"label": label}
        )
        if error is not None:
            item_errors[index] = StructBlockValidationError(block_errors={"steps": error})
    if sum(max(v.get("weight") or 0, 0) for v in variants) <= 0:
        non_block.append(_("The variants' weights add up to 0: give one a weight."))
    if all(not list(v.get("steps") or ()) for v in variants):
        non_block.append(_("Add a step to at least one variant: this split does nothing."))
    if not item_errors and not non_block:
        return None
    for message in non_block:
        walk.messages.append(f"{where} › {_('variants')}: {message}")
    list_error = ListBlockValidationError(
        block_errors=item_errors, non_block_errors=ErrorList(non_block)
    )
    return StructBlockValidationError(block_errors={"variants": list_error})


def _required(field, message):
    def check(value, walk, where):
        if _blank(value.get(field)):
            return _struct(walk, where, {field: message})
        return None

    return check


def _blank(value):
    return value is None or (isinstance(value, str) and not value.strip())


def _check_notify(value, walk, where):
    recipients = [r.strip() for r in (value.get("recipients") or "").split(",") if r.strip()]
    if not recipients:
        return _struct(walk, where, {"recipients": _("Add at least one email address.")})
    for address in recipients:
        try:
            validate_email(address)
        except ValidationError:
            return _struct(
                walk,
                where,
                {"recipients": _("Not an email address: %(address)s") % {"address": address}},
            )
    return None


def _check_webhook(value, walk, where):
    url = value.get("url") or ""
    if not url:
        return _struct(walk, where, {"url": _("Enter the URL to call.")})
    allowed = ("https://", "http://") if settings.DEBUG else ("https://",)
    if not url.lower().startswith(allowed):
        return _struct(walk, where, {"url": _("Use an https:// URL.")})
    return None


def _check_change_score(value, walk, where):
    if not value.get("delta"):
        return _struct(walk, where, {"delta": _("Use a number other than 0.")})
    return None


STEP_CHECKS = {
    "send_email": _check_send_email,
    "wait": _check_wait,
    "wait_until": _check_wait_until,
    "branch": _check_branch,
    "split": _check_split,
    "add_to_list": _required("list", gettext_lazy("Choose a list.")),
    "remove_from_list": _required("list", gettext_lazy("Choose a list.")),
    "add_tag": _required("tag", gettext_lazy("Name the tag.")),
    "remove_tag": _required("tag", gettext_lazy("Name the tag.")),
    "set_stage": _required("stage", gettext_lazy("Choose a stage.")),
    "change_score": _check_change_score,
    "notify": _check_notify,
    "webhook": _check_webhook,
}


# --- errors by block (the editor's live diagram) -------------------------------------------


def errors_by_block(flow):
    """The activation errors laid out for a drawing: ``(flow messages, {block id: [messages]})``.

    A message about a step or trigger is keyed by that block's id and reads from inside it
    (``Email: Choose an email.``); what belongs to no such block (no trigger, a goal's
    condition, the dates) is a flow message naming its field."""
    flow_messages, by_block = [], {}
    for field, error in activation_errors(flow).items():
        if field == NON_FIELD_ERRORS:  # the flow as a whole (its emails' sender)
            flow_messages.extend(error.messages)
            continue
        label = flow._meta.get_field(field).verbose_name.capitalize()
        if field not in STREAM_FIELDS:
            flow_messages.extend(f"{label}: {message}" for message in error.messages)
            continue
        block = flow._meta.get_field(field).stream_block
        for block_id, where, message in keyed_messages(error, getattr(flow, field), block):
            if block_id:
                by_block.setdefault(block_id, []).append(_line(where, message))
            else:
                flow_messages.append(_line(_join(label, where) if where else "", message))
    return flow_messages, by_block


def keyed_messages(error, value, block, owner=None, where=""):
    """``(block id or None, path inside it, message)`` for a (nested) block validation
    error; the id is that of the innermost step or trigger holding the error."""
    if isinstance(error, StreamBlockValidationError):
        for index, child_error in sorted(error.block_errors.items()):
            child_owner, child_where, child_value, child_block = _keyed_item(
                value, block, index, owner, where
            )
            yield from keyed_messages(
                child_error, child_value, child_block, child_owner, child_where
            )
    elif isinstance(error, ListBlockValidationError):
        for index, child_error in sorted(error.block_errors.items()):
            child_value = _at(value, index)
            child_block = getattr(block, "child_block", None)
            here = _join(where, _list_item_label(child_value, index))
            yield from keyed_messages(child_error, child_value, child_block, owner, here)
    elif isinstance(error, StructBlockValidationError):
        for name, child_error in error.block_errors.items():
            child_block = getattr(block, "child_blocks", {}).get(name)
            label = getattr(child_block, "label", None) or name.replace("_", " ").capitalize()
            yield from keyed_messages(
                child_error, _get(value, name), child_block, owner, _join(where, str(label))
            )
    else:
        for message in error.messages:
            yield owner, where, message
        return
    for message in _messages(error.non_block_errors):
        yield owner, where, message


def _keyed_item(value, block, index, owner, where):
    """(owner, path, value, block) of item ``index`` of a stream."""
    child = _at(value, index)
    child_block = getattr(child, "block", None)
    if child is None or child_block is None or not isinstance(block, StreamBlock):
        return owner, _join(where, str(index + 1)), None, None
    # Steps and triggers (at any depth) are drawn as nodes; a condition is not, so its error
    # lands on the branch holding it, or on the flow for a goal, entry or exit condition.
    if not isinstance(block, ConditionsBlock) and getattr(child, "id", None):
        return child.id, "", child.value, child_block
    label = block.child_blocks[child.block_type].label
    return owner, _join(where, f"{_noun(block)} {index + 1} ({label})"), child.value, child_block


def _at(value, index):
    try:
        return value[index]
    except (IndexError, KeyError, TypeError):
        return None


def _list_item_label(value, index):
    label = _get(value, "label")
    return (
        _("Variant %(label)s") % {"label": label or chr(65 + index)}
        if isinstance(label, str)
        else str(index + 1)
    )


def _line(where, message):
    return f"{where}: {message}" if where else message


def _join(where, part):
    return f"{where} › {part}" if where else part
