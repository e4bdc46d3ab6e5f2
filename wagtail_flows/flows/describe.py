"""Plain-language descriptions of triggers, conditions and steps ("Wait 3 days").

Read through ``describe(child)``; the flow diagram, listings and
reports use it, so every block type has a sentence a marketer understands. Every sentence
goes through gettext, in the language active when it is drawn (the admin user's).
"""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from wagtail_flows.vocabulary import EventKind, Stage

WEEKDAYS = [
    gettext_lazy("Mon"),
    gettext_lazy("Tue"),
    gettext_lazy("Wed"),
    gettext_lazy("Thu"),
    gettext_lazy("Fri"),
    gettext_lazy("Sat"),
    gettext_lazy("Sun"),
]


def describe(child):
    """One line describing a StreamChild (or a ``(block_type, value)`` pair)."""
    block_type, value = _unpack(child)
    describer = DESCRIBERS.get(block_type)
    if describer is None:
        return block_type.replace("_", " ").capitalize()
    return describer(value if value is not None else {})


def describe_conditions(stream, match="all"):
    parts = [describe(child) for child in stream or ()]
    if not parts:
        return _("Everyone")
    return _or(parts) if match == "any" else _and(parts)


def describe_never_enter_if(stream):
    """ "Never enters if has tag “dormant” or in list “Staff”" ("" for an empty list)."""
    parts = [lower_first(describe(child)) for child in stream or ()]
    return _("Never enters if %(conditions)s") % {"conditions": _or(parts)} if parts else ""


def _and(parts):
    return f" {_('and')} ".join(str(p) for p in parts)


def _or(parts):
    return f" {_('or')} ".join(str(p) for p in parts)


def lower_first(text):
    """A description inside a sentence: "has tag “dormant”" (names keep their case)."""
    return text[:1].lower() + text[1:]


def _unpack(child):
    if isinstance(child, tuple):
        return child
    return child.block_type, child.value


def quoted(obj):
    return _("“%(name)s”") % {"name": getattr(obj, "title", None) or obj}


def _q(text):
    return _("“%(name)s”") % {"name": text}


def amount(number, unit):
    number = number if number is not None else 0
    count = abs(number)
    if unit == "minutes":
        text = ngettext("%(count)s minute", "%(count)s minutes", count)
    elif unit == "hours":
        text = ngettext("%(count)s hour", "%(count)s hours", count)
    elif unit == "days":
        text = ngettext("%(count)s day", "%(count)s days", count)
    elif unit == "weeks":
        text = ngettext("%(count)s week", "%(count)s weeks", count)
    else:
        singular = unit[:-1] if unit.endswith("s") else unit
        return f"{number} {singular if count == 1 else unit}"
    return text % {"count": number}


def _stage(code):
    return str(dict(Stage.choices).get(code, code or _("any stage")))


def _times(count):
    count = count or 1
    if count == 1:
        return ""
    if count == 2:
        return " " + _("twice")
    return " " + _("%(count)s times") % {"count": count}


def _within(value):
    days = value.get("within_days")
    return " " + _("within %(duration)s") % {"duration": amount(days, "days")} if days else ""


def page_type_label(key, plural=False):
    from wagtail_flows.flows.blocks.page_types import page_type_label as label

    return label(key, plural=plural)


def _page_part(value, field="page"):
    page = value.get(field)
    kind = value.get("page_type")
    if page is None:
        return (
            _("any %(page_type)s") % {"page_type": page_type_label(kind)}
            if kind
            else _("any page")
        )
    suffix = " " + _("or a page below it") if value.get("include_descendants") else ""
    only = ""
    if kind:
        only = " " + _("(only %(page_types)s)") % {
            "page_types": page_type_label(kind, plural=True)
        }
    return quoted(page) + suffix + only


def _views(count, visits):
    """How many times (" 3 times"), or in how many visits (" in 3 visits")."""
    if visits and (count or 1) > 1:
        return " " + _("in %(count)s visits") % {"count": count}
    return _times(count)


# --- triggers -----------------------------------------------------------------------------


def _t_page_viewed(v):
    return _("Views %(page)s") % {"page": _page_part(v)} + (
        f"{_views(v.get('min_views'), v.get('count_visits'))}{_within(v)}"
    )


def _t_document(v):
    if v.get("document") is not None:
        return _("Downloads %(document)s") % {"document": quoted(v["document"])}
    if v.get("collection") is not None:
        return _("Downloads a document from %(collection)s") % {
            "collection": quoted(v["collection"])
        }
    return _("Downloads any document")


def _t_form(v):
    form = v.get("form_page")
    if form is not None:
        return _("Submits %(form)s") % {"form": quoted(form)}
    return _("Submits any form")


def _t_order(v):
    text = _("Places a first order") if v.get("first_order_only") else _("Places an order")
    if v.get("min_total") is not None:
        text += " " + _("of at least %(total)s") % {"total": v["min_total"]}
    if v.get("sku"):
        text += " " + _("containing %(sku)s") % {"sku": v["sku"]}
    return text


def _t_list(v):
    if v.get("list") is not None:
        return _("Joins %(list)s") % {"list": quoted(v["list"])}
    return _("Joins any list")


def _t_segment(entered):
    def describe_segment(v):
        segment = v.get("segment")
        if segment is None:
            if entered:
                return _("Enters a segment (none chosen)")
            return _("Leaves a segment (none chosen)")
        if entered:
            return _("Enters the segment %(segment)s") % {"segment": quoted(segment)}
        return _("Leaves the segment %(segment)s") % {"segment": quoted(segment)}

    return describe_segment


def _t_tag(v):
    return _("Gets tag “%(tag)s”") % {"tag": v["tag"]} if v.get("tag") else _("Gets any tag")


def _t_stage(v):
    if v.get("stage"):
        return _("Becomes %(stage)s") % {"stage": _stage(v.get("stage"))}
    return _("Changes stage")


def _t_inactive(v):
    activity = {
        "any": _("no activity"),
        "visit": _("no visit"),
        "form": _("no form"),
        "email": _("no email open or click"),
    }.get(v.get("activity")) or _("no activity")
    return _("Inactive: %(activity)s for %(duration)s") % {
        "activity": activity,
        "duration": amount(v.get("days"), "days"),
    }


def _t_engagement(v):
    parts = []
    if v.get("min_visits"):
        parts.append(
            _("%(visits)s+ visits within %(duration)s")
            % {"visits": v["min_visits"], "duration": amount(v.get("within_days"), "days")}
        )
    last = v.get("last_emails") or 10
    if v.get("min_open_rate"):
        parts.append(
            _("opens ≥ %(rate)s%% over the last %(emails)s emails")
            % {"rate": v["min_open_rate"], "emails": last}
        )
    if v.get("min_click_rate"):
        parts.append(
            _("clicks ≥ %(rate)s%% over the last %(emails)s emails")
            % {"rate": v["min_click_rate"], "emails": last}
        )
    return _("Highly engaged: %(thresholds)s") % {
        "thresholds": _or(parts) if parts else _("no threshold set")
    }


def _t_date(v):
    if v.get("date_source") == "last_order":
        what = _("last order")
    else:
        what = v.get("property_name") or _("a date")
    days = v.get("offset_days") or 0
    yearly = _(", every year") if v.get("every_year") else ""
    if not days:
        return _("On the day of %(date)s") % {"date": what} + yearly
    if (v.get("direction") or "before") == "after":
        text = _("%(duration)s after %(date)s")
    else:
        text = _("%(duration)s before %(date)s")
    return text % {"duration": amount(days, "days"), "date": what} + yearly


def _t_email(v):
    email = v.get("email")
    name = quoted(email) if email is not None else _("any email")
    if v.get("engagement") == "opened":
        return _("Opens %(email)s") % {"email": name}
    return _("Clicks in %(email)s") % {"email": name}


def _t_custom(v):
    if v.get("name"):
        return _("Custom event “%(name)s”") % {"name": v["name"]}
    return _("Any custom event")


def _t_property_changed(v):
    name = (v.get("name") or "").strip() or _("(none named)")
    text = _("Property %(name)s changes") % {"name": name}
    if v.get("from_value"):
        text += " " + _("from “%(value)s”") % {"value": v["from_value"]}
    if v.get("to_value"):
        text += " " + _("to “%(value)s”") % {"value": v["to_value"]}
    return text


# --- conditions ---------------------------------------------------------------------------


def _c_in_list(v):
    if v.get("list") is not None:
        return _("In list %(list)s") % {"list": quoted(v["list"])}
    return _("In any list")


PROPERTY_WORDS = {
    "before": gettext_lazy("is before"),
    "after": gettext_lazy("is after"),
    "in_last_days": gettext_lazy("is in the last"),
    "in_next_days": gettext_lazy("is in the next"),
}


def _c_property(v):
    from wagtail_flows.flows.blocks import PROPERTY_OPERATORS

    op = v.get("operator") or "equals"
    words = PROPERTY_WORDS.get(op) or dict(PROPERTY_OPERATORS).get(op, op)
    name = v.get("name") or _("(property)")
    if op in ("is_set", "is_not_set"):
        return f"{name} {words}"
    if op in ("in_last_days", "in_next_days"):
        days = str(v.get("value") or "").strip()
        return f"{name} {words} {amount(int(days), 'days') if days.isdigit() else _('? days')}"
    return f"{name} {words} {_q(v.get('value') or '')}"


def _c_form_answer(v):
    from wagtail_flows.flows.blocks import PROPERTY_OPERATORS

    op = v.get("operator") or "equals"
    words = dict(PROPERTY_OPERATORS).get(op, op)
    field = v.get("field") or _("(field)")
    if op in ("is_set", "is_not_set"):
        return _("Form answer %(field)s %(operator)s") % {"field": field, "operator": words}
    return _("Form answer %(field)s %(operator)s “%(value)s”") % {
        "field": field,
        "operator": words,
        "value": v.get("value") or "",
    }


def _c_did_event(v):
    label = str(dict(EventKind.choices).get(v.get("kind"), v.get("kind"))).lower()
    if v.get("name"):
        text = _("Did “%(name)s”") % {"name": v["name"]}
    else:
        text = _("Had %(event)s") % {"event": label}
    if v.get("page") is not None or v.get("page_type"):
        text += " " + _("on %(page)s") % {"page": _page_part(v)}
    if v.get("sku"):
        text += " " + _("with %(sku)s") % {"sku": v["sku"]}
    visits = v.get("count_visits") and v.get("kind") == EventKind.PAGE_VIEWED
    return text + _views(v.get("min_count"), visits) + _within(v)


def _c_email(opened):
    def describe_email(v):
        email = v.get("email")
        name = quoted(email) if email is not None else _("any email")
        if opened:
            return _("Opened %(email)s") % {"email": name} + _within(v)
        return _("Clicked in %(email)s") % {"email": name} + _within(v)

    return describe_email


def _c_has_ordered(v):
    text = _("Has ordered")
    if v.get("min_total") is not None:
        text += " " + _("at least %(total)s") % {"total": v["min_total"]}
    if v.get("sku"):
        text += f" {v['sku']}"
    return text + _within(v)


def _c_group(v):
    """A group in brackets, "(Score at least 50 or In list “X”)", keeps and/or readable."""
    stream = list(v.get("conditions") or ())
    if not stream:
        return _("(no conditions)")
    return f"({describe_conditions(stream, v.get('match') or 'all')})"


def _c_none_of(v):
    stream = list(v.get("conditions") or ())
    if not stream:
        return _("Not (no conditions)")
    if len(stream) == 1:
        return _("Not: %(condition)s") % {"condition": describe(stream[0])}
    return _("None of (%(conditions)s)") % {"conditions": describe_conditions(stream, "any")}


# --- steps --------------------------------------------------------------------------------


def _s_send(v):
    page = v.get("page")
    if page is not None:
        text = _("Send %(email)s") % {"email": quoted(page)}
    else:
        text = _("Send an email (none chosen)")
    if v.get("subject_override"):
        text += " " + _("with subject “%(subject)s”") % {"subject": v["subject_override"]}
    return text


def _s_wait(v):
    return _("Wait %(duration)s") % {"duration": amount(v.get("amount"), v.get("unit") or "days")}


def _s_wait_until(v):
    parts = []
    if v.get("date_source") and v.get("date_key"):
        days = v.get("offset_days") or 0
        if not days:
            parts.append(v["date_key"])
        elif days < 0:
            parts.append(
                _("%(duration)s before %(date)s")
                % {"duration": amount(abs(days), "days"), "date": v["date_key"]}
            )
        else:
            parts.append(
                _("%(duration)s after %(date)s")
                % {"duration": amount(abs(days), "days"), "date": v["date_key"]}
            )
    if v.get("weekdays"):
        days = "/".join(str(WEEKDAYS[int(d)]) for d in v["weekdays"])
        parts.append(_("a %(weekdays)s") % {"weekdays": days})
    if v.get("time"):
        parts.append(v["time"].strftime("%H:%M"))
    zone = _("site time") if v.get("timezone") == "site" else _("their time")
    return _("Wait until %(when)s (%(zone)s)") % {
        "when": ", ".join(parts) or _("(nothing set)"),
        "zone": zone,
    }


def _s_branch(v):
    text = _("If %(conditions)s") % {
        "conditions": describe_conditions(v.get("conditions"), v.get("match"))
    }
    if v.get("wait_up_to_amount"):
        limit = amount(v["wait_up_to_amount"], v.get("wait_up_to_unit") or "days")
        text += " " + _("(waiting up to %(duration)s)") % {"duration": limit}
    return text


def _s_split(v):
    variants = list(v.get("variants") or [])
    total = sum(max(x.get("weight") or 0, 0) for x in variants) or 1
    parts = [
        f"{x.get('label') or chr(65 + i)} {round(100 * max(x.get('weight') or 0, 0) / total)}%"
        for i, x in enumerate(variants)
    ]
    text = _("Split: %(variants)s") % {"variants": ", ".join(parts) or _("no variants")}
    metric = AUTO_WINNER_WORDS.get(v.get("auto_winner") or "")
    if not metric:
        return text
    return _("%(split)s; picks the winner on %(metric)s") % {"split": text, "metric": metric}


AUTO_WINNER_WORDS = {
    "opened": gettext_lazy("opens"),
    "clicked": gettext_lazy("clicks"),
    "converted": gettext_lazy("the goal"),
}


def _s_list(add):
    def describe_list(v):
        lst = v.get("list")
        name = quoted(lst) if lst is not None else _("(no list)")
        if add:
            return _("Add to %(list)s") % {"list": name}
        return _("Remove from %(list)s") % {"list": name}

    return describe_list


def _s_score(v):
    delta = v.get("delta") or 0
    if delta >= 0:
        return _("Add %(points)s points") % {"points": abs(delta)}
    return _("Subtract %(points)s points") % {"points": abs(delta)}


def _s_notify(v):
    return _("Notify %(recipients)s") % {"recipients": v.get("recipients") or _("(nobody)")}


def _s_exit(v):
    if v.get("reason"):
        return _("Exit: %(reason)s") % {"reason": v["reason"]}
    return _("Exit")


DESCRIBERS = {
    "page_viewed": _t_page_viewed,
    "document_downloaded": _t_document,
    "form_submitted": _t_form,
    "order_placed": _t_order,
    "cart_abandoned": lambda v: (
        _("Leaves a cart for %(duration)s") % {"duration": amount(v.get("after_hours"), "hours")}
    ),
    "list_joined": _t_list,
    "segment_entered": _t_segment(entered=True),
    "segment_left": _t_segment(entered=False),
    "tag_added": _t_tag,
    "stage_changed": _t_stage,
    "score_reached": lambda v: _("Score reaches %(score)s") % {"score": v.get("threshold") or 0},
    "grade_becomes": lambda v: _("Grade becomes %(grade)s") % {"grade": v.get("grade") or "A"},
    "inactive": _t_inactive,
    "engagement": _t_engagement,
    "date_reached": _t_date,
    "email_engaged": _t_email,
    "custom_event": _t_custom,
    "property_changed": _t_property_changed,
    "manual": lambda v: _("Enrolled by hand"),
    "in_list": _c_in_list,
    "has_tag": lambda v: (
        _("Has tag “%(tag)s”") % {"tag": v["tag"]} if v.get("tag") else _("Has any tag")
    ),
    "stage_is": lambda v: _("Stage is %(stage)s") % {"stage": _stage(v.get("stage"))},
    "score_at_least": lambda v: _("Score at least %(score)s") % {"score": v.get("score") or 0},
    "grade_is": lambda v: (
        _("Grade is %(grades)s") % {"grades": _or(v.get("grades") or []) or _("any")}
    ),
    "property": _c_property,
    "form_answer": _c_form_answer,
    "did_event": _c_did_event,
    "opened_email": _c_email(opened=True),
    "clicked_email": _c_email(opened=False),
    "has_ordered": _c_has_ordered,
    "is_subscribed": lambda v: _("Subscribed to marketing email"),
    "group": _c_group,
    "none_of": _c_none_of,
    "send_email": _s_send,
    "wait": _s_wait,
    "wait_until": _s_wait_until,
    "branch": _s_branch,
    "split": _s_split,
    "add_to_list": _s_list(add=True),
    "remove_from_list": _s_list(add=False),
    "add_tag": lambda v: _("Add tag “%(tag)s”") % {"tag": v.get("tag") or ""},
    "remove_tag": lambda v: _("Remove tag “%(tag)s”") % {"tag": v.get("tag") or ""},
    "set_stage": lambda v: _("Set stage to %(stage)s") % {"stage": _stage(v.get("stage"))},
    "change_score": _s_score,
    "notify": _s_notify,
    "webhook": lambda v: _("Call webhook %(url)s") % {"url": v.get("url") or _("(no URL)")},
    "exit": _s_exit,
}
