"""Merge tags: a restricted Django template engine for personalising emails.

Editors write ``{{ contact.first_name|default:"there" }}``. Only the tags and filters
registered below exist (no ``{% load %}``, ``{% include %}``, ``{% url %}``...), the context
holds plain read-only data (no model instances, so no methods to call), and contact data is
escaped in HTML. ``check()`` names unknown variables so the preview can report a typo.
"""

import datetime
import functools
import html
import re

from django.template import (
    Context,
    Engine,
    Library,
    TemplateSyntaxError,
    defaultfilters,
    defaulttags,
)
from django.template.base import FilterExpression, VariableNode
from django.utils.translation import gettext as _

register = Library()
# A merge tag: {{ variable|filter }} or {% tag %}.
TAG_RE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)

TAGS = {
    "if": defaulttags.do_if,
    "for": defaulttags.do_for,
    "with": defaulttags.do_with,
    "comment": defaulttags.comment,
    "firstof": defaulttags.firstof,
}
FILTERS = (
    "default",
    "default_if_none",
    "upper",
    "lower",
    "title",
    "capfirst",
    "truncatewords",
    "truncatechars",
    "floatformat",
    "date",
    "length",
    "first",
    "last",
    "join",
    "slice",
    "yesno",
    "pluralize",
    "urlencode",
    "add",
    "linebreaksbr",
)
for _name, _compile in TAGS.items():
    register.tag(_name, _compile)
for _name in FILTERS:
    # The default filters carry their flags (is_safe, needs_autoescape) as attributes.
    register.filters[_name] = defaultfilters.register.filters[_name]

ANY = "*"
# What an editor may write after each root name; ANY allows any key of the data.
SCHEMA = {
    "contact": {
        "first_name": None,
        "last_name": None,
        "full_name": None,
        "email": None,
        "stage": None,
        "score": None,
        "properties": ANY,
    },
    "flow": {"name": None},
    "order": ANY,
    "cart": ANY,
    "event": ANY,
    "answers": ANY,
    "site_name": None,
    "unsubscribe_url": None,
    "preferences_url": None,
    "view_in_browser_url": None,
}


class MergeTagError(ValueError):
    """A merge tag that cannot work: bad syntax or an unknown variable."""


class _MergeEngine(Engine):
    default_builtins = []


@functools.cache
def _engine(autoescape):
    return _MergeEngine(
        builtins=["wagtail_flows.emails.merge_tags"], autoescape=autoescape, string_if_invalid=""
    )


@functools.lru_cache(maxsize=256)
def compile_template(source, autoescape=True):
    try:
        return _engine(autoescape).from_string(source)
    except TemplateSyntaxError as error:
        raise MergeTagError(str(error)) from error


class Record:
    """Read-only data for merge tags: keys only, no attributes or methods to call."""

    __slots__ = ("_data",)

    def __init__(self, data):
        self._data = data

    def __getitem__(self, key):
        return freeze(self._data[key])

    def __contains__(self, key):
        return key in self._data

    def __len__(self):
        return len(self._data)

    def __iter__(self):
        return iter(self._data)

    def __bool__(self):
        return bool(self._data)

    def __str__(self):
        return ""


class PropertyDate(datetime.date):
    """A date property's value: shown as a date in the site's format ("March 1, 2027") and
    usable with ``|date:"j M"``; its methods are never called from a template."""

    do_not_call_in_templates = True


ISO_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")


def property_value(value):
    """A contact property from its JSON copy: a date property's "YYYY-MM-DD" as a date;
    numbers, yes/no (true/false) and text as they are."""
    if isinstance(value, str) and ISO_DATE_RE.fullmatch(value):
        try:
            day = datetime.date.fromisoformat(value)
        except ValueError:
            return value
        return PropertyDate(day.year, day.month, day.day)
    return value


def freeze(value):
    if isinstance(value, dict):
        return Record(value)
    if isinstance(value, list | tuple):
        return tuple(freeze(item) for item in value)
    if value is None or isinstance(value, str | int | float | bool | PropertyDate):
        return value
    return str(value)


def _typed_contact(data):
    contact = data.get("contact")
    props = contact.get("properties") if isinstance(contact, dict) else None
    if not isinstance(props, dict):
        return data
    typed = {key: property_value(value) for key, value in props.items()}
    return {**data, "contact": {**contact, "properties": typed}}


def render(source, data, *, autoescape=True):
    """Render ``source`` with ``data`` (plain dicts/lists/strings)."""
    template = compile_template(source, autoescape)
    context = {key: freeze(value) for key, value in _typed_contact(data).items()}
    return template.render(Context(context, autoescape=autoescape))


def unescape_tags(source):
    """Merge tags typed into rich text arrive HTML-escaped (``&quot;``): restore them."""
    return TAG_RE.sub(lambda match: html.unescape(match.group(0)), source)


def syntax_errors(source):
    """Problems that make ``source`` impossible to render (unknown tags, filters, syntax)."""
    try:
        compile_template(source)
    except MergeTagError as error:
        return [str(error)]
    return []


def check(source):
    """The problems of ``source`` as a list of messages (empty when it is fine)."""
    try:
        template = compile_template(source)
    except MergeTagError as error:
        return [str(error)]
    local_names = set()
    expressions = list(_expressions(template.nodelist, local_names))
    problems = []
    for expression in expressions:
        for path in _variable_paths(expression):
            problem = _check_path(path, local_names)
            if problem and problem not in problems:
                problems.append(problem)
    return problems


def _check_path(path, local_names):
    root, *rest = path
    if root in local_names or root == "forloop":
        return None
    if root not in SCHEMA:
        return _("Unknown merge tag “%(tag)s”: use one of %(names)s.") % {
            "tag": ".".join(path),
            "names": ", ".join(SCHEMA),
        }
    allowed = SCHEMA[root]
    if rest and allowed is None:
        return _("“%(name)s” has no “%(part)s”.") % {"name": root, "part": rest[0]}
    if rest and allowed != ANY and rest[0] not in allowed:
        return _("Unknown merge tag “%(tag)s”: %(name)s has %(parts)s.") % {
            "tag": ".".join(path),
            "name": root,
            "parts": ", ".join(allowed),
        }
    if len(rest) > 1 and allowed != ANY and allowed[rest[0]] is None:
        return _("“%(name)s” has no “%(part)s”.") % {
            "name": f"{root}.{rest[0]}",
            "part": rest[1],
        }
    return None


def _variable_paths(expression):
    variables = [expression.var]
    for _func, args in expression.filters:
        variables.extend(arg for _lookup, arg in args)
    for variable in variables:
        lookups = getattr(variable, "lookups", None)
        if lookups:
            yield list(lookups)


def _expressions(nodelist, local_names):
    for node in nodelist:
        if isinstance(node, VariableNode):
            yield node.filter_expression
        yield from _node_expressions(node, local_names)
        for attr in getattr(node, "child_nodelists", ()):
            yield from _expressions(getattr(node, attr, None) or [], local_names)
        for _condition, branch in getattr(node, "conditions_nodelists", ()):
            yield from _expressions(branch, local_names)


def _node_expressions(node, local_names):
    if isinstance(node, defaulttags.ForNode):
        local_names.update(node.loopvars)
        yield node.sequence
    if isinstance(node, defaulttags.WithNode):
        local_names.update(node.extra_context)
        yield from node.extra_context.values()
    if isinstance(node, defaulttags.FirstOfNode):
        yield from node.vars
    for condition, _branch in getattr(node, "conditions_nodelists", ()):
        yield from _condition_expressions(condition)


def _condition_expressions(condition):
    if condition is None:
        return
    if isinstance(getattr(condition, "value", None), FilterExpression):
        yield condition.value
    for side in ("first", "second"):
        yield from _condition_expressions(getattr(condition, side, None))
