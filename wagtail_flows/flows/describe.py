"""Plain-language descriptions of triggers, conditions and steps ("Wait 3 days").

Read through ``describe(child)``; the flow diagram, listings and
reports use it, so every block type has a sentence a marketer understands.
"""

from wagtail_flows.vocabulary import EventKind, Stage

WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


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
        return "Everyone"
    return (" and " if match != "any" else " or ").join(parts)


def describe_never_enter_if(stream):
    """ "Never enters if has tag “dormant” or in list “Staff”" ("" for an empty list)."""
    parts = [lower_first(describe(child)) for child in stream or ()]
    return "Never enters if " + " or ".join(parts) if parts else ""


def lower_first(text):
    """A description inside a sentence: "has tag “dormant”" (names keep their case)."""
    return text[:1].lower() + text[1:]


def _unpack(child):
    if isinstance(child, tuple):
        return child
    return child.block_type, child.value


def quoted(obj):
    return f"“{getattr(obj, 'title', None) or obj}”"


def amount(number, unit):
    number = number if number is not None else 0
    singular = unit[:-1] if unit.endswith("s") else unit
    return f"{number} {singular if abs(number) == 1 else unit}"


def _stage(code):
    return str(dict(Stage.choices).get(code, code or "any stage"))


def _times(count):
    count = count or 1
    return "" if count == 1 else (" twice" if count == 2 else f" {count} times")


def _within(value):
    days = value.get("within_days")
    return f" within {amount(days, 'days')}" if days else ""


def page_type_label(key, plural=False):
    from wagtail_flows.flows.blocks.page_types import page_type_label as label

    return label(key, plural=plural)


def _page_part(value, field="page"):
    page = value.get(field)
    kind = value.get("page_type")
    if page is None:
        return f"any {page_type_label(kind)}" if kind else "any page"
    suffix = " or a page below it" if value.get("include_descendants") else ""
    only = f" (only {page_type_label(kind, plural=True)})" if kind else ""
    return quoted(page) + suffix + only


def _views(count, visits):
    """How many times (" 3 times"), or in how many visits (" in 3 visits")."""
    if visits and (count or 1) > 1:
        return f" in {count} visits"
    return _times(count)


# --- triggers -----------------------------------------------------------------------------


def _t_page_viewed(v):
    return f"Views {_page_part(v)}{_views(v.get('min_views'), v.get('count_visits'))}{_within(v)}"


def _t_document(v):
    if v.get("document") is not None:
        return f"Downloads {quoted(v['document'])}"
    if v.get("collection") is not None:
        return f"Downloads a document from {quoted(v['collection'])}"
    return "Downloads any document"


def _t_form(v):
    form = v.get("form_page")
    return f"Submits {quoted(form)}" if form is not None else "Submits any form"


def _t_order(v):
    text = "Places a first order" if v.get("first_order_only") else "Places an order"
    if v.get("min_total") is not None:
        text += f" of at least {v['min_total']}"
    if v.get("sku"):
        text += f" containing {v['sku']}"
    return text


def _t_list(v):
    return f"Joins {quoted(v['list'])}" if v.get("list") is not None else "Joins any list"


def _t_segment(verb):
    def describe_segment(v):
        segment = v.get("segment")
        if segment is None:
            return f"{verb} a segment (none chosen)"
        return f"{verb} the segment {quoted(segment)}"

    return describe_segment


def _t_tag(v):
    return f"Gets tag “{v['tag']}”" if v.get("tag") else "Gets any tag"


def _t_stage(v):
    return f"Becomes {_stage(v.get('stage'))}" if v.get("stage") else "Changes stage"


def _t_inactive(v):
    activity = {
        "any": "no activity",
        "visit": "no visit",
        "form": "no form",
        "email": "no email open or click",
    }.get(v.get("activity"), "no activity")
    return f"Inactive: {activity} for {amount(v.get('days'), 'days')}"


def _t_engagement(v):
    parts = []
    if v.get("min_visits"):
        parts.append(f"{v['min_visits']}+ visits within {amount(v.get('within_days'), 'days')}")
    over = f" over the last {v.get('last_emails') or 10} emails"
    if v.get("min_open_rate"):
        parts.append(f"opens ≥ {v['min_open_rate']}%{over}")
    if v.get("min_click_rate"):
        parts.append(f"clicks ≥ {v['min_click_rate']}%{over}")
    return "Highly engaged: " + (" or ".join(parts) or "no threshold set")


def _t_date(v):
    what = (
        "last order"
        if v.get("date_source") == "last_order"
        else (v.get("property_name") or "a date")
    )
    days = v.get("offset_days") or 0
    yearly = ", every year" if v.get("every_year") else ""
    if not days:
        return f"On the day of {what}{yearly}"
    return f"{amount(days, 'days')} {v.get('direction') or 'before'} {what}{yearly}"


def _t_email(v):
    verb = "Opens" if v.get("engagement") == "opened" else "Clicks in"
    email = v.get("email")
    return f"{verb} {quoted(email) if email is not None else 'any email'}"


def _t_custom(v):
    return f"Custom event “{v['name']}”" if v.get("name") else "Any custom event"


def _t_property_changed(v):
    text = f"Property {(v.get('name') or '').strip() or '(none named)'} changes"
    if v.get("from_value"):
        text += f" from “{v['from_value']}”"
    if v.get("to_value"):
        text += f" to “{v['to_value']}”"
    return text


# --- conditions ---------------------------------------------------------------------------


def _c_in_list(v):
    return f"In list {quoted(v['list'])}" if v.get("list") is not None else "In any list"


PROPERTY_WORDS = {
    "before": "is before",
    "after": "is after",
    "in_last_days": "is in the last",
    "in_next_days": "is in the next",
}


def _c_property(v):
    from wagtail_flows.flows.blocks import PROPERTY_OPERATORS

    op = v.get("operator") or "equals"
    words = PROPERTY_WORDS.get(op) or dict(PROPERTY_OPERATORS).get(op, op)
    name = v.get("name") or "(property)"
    if op in ("is_set", "is_not_set"):
        return f"{name} {words}"
    if op in ("in_last_days", "in_next_days"):
        days = str(v.get("value") or "").strip()
        return f"{name} {words} {amount(int(days), 'days') if days.isdigit() else '? days'}"
    return f"{name} {words} “{v.get('value') or ''}”"


def _c_form_answer(v):
    from wagtail_flows.flows.blocks import PROPERTY_OPERATORS

    op = v.get("operator") or "equals"
    words = dict(PROPERTY_OPERATORS).get(op, op)
    field = v.get("field") or "(field)"
    if op in ("is_set", "is_not_set"):
        return f"Form answer {field} {words}"
    return f"Form answer {field} {words} “{v.get('value') or ''}”"


def _c_did_event(v):
    label = str(dict(EventKind.choices).get(v.get("kind"), v.get("kind"))).lower()
    text = f"Did “{v['name']}”" if v.get("name") else f"Had {label}"
    if v.get("page") is not None or v.get("page_type"):
        text += f" on {_page_part(v)}"
    if v.get("sku"):
        text += f" with {v['sku']}"
    visits = v.get("count_visits") and v.get("kind") == EventKind.PAGE_VIEWED
    return text + _views(v.get("min_count"), visits) + _within(v)


def _c_email(verb):
    def describe_email(v):
        email = v.get("email")
        return f"{verb} {quoted(email) if email is not None else 'any email'}{_within(v)}"

    return describe_email


def _c_has_ordered(v):
    text = "Has ordered"
    if v.get("min_total") is not None:
        text += f" at least {v['min_total']}"
    if v.get("sku"):
        text += f" {v['sku']}"
    return text + _within(v)


def _c_group(v):
    """A group in brackets, "(Score at least 50 or In list “X”)", keeps and/or readable."""
    stream = list(v.get("conditions") or ())
    if not stream:
        return "(no conditions)"
    return f"({describe_conditions(stream, v.get('match') or 'all')})"


def _c_none_of(v):
    stream = list(v.get("conditions") or ())
    if not stream:
        return "Not (no conditions)"
    if len(stream) == 1:
        return f"Not: {describe(stream[0])}"
    return f"None of ({describe_conditions(stream, 'any')})"


# --- steps --------------------------------------------------------------------------------


def _s_send(v):
    page = v.get("page")
    text = f"Send {quoted(page)}" if page is not None else "Send an email (none chosen)"
    if v.get("subject_override"):
        text += f" with subject “{v['subject_override']}”"
    return text


def _s_wait(v):
    return f"Wait {amount(v.get('amount'), v.get('unit') or 'days')}"


def _s_wait_until(v):
    parts = []
    if v.get("date_source") and v.get("date_key"):
        days = v.get("offset_days") or 0
        when = f"{amount(abs(days), 'days')} {'before' if days < 0 else 'after'} " if days else ""
        parts.append(f"{when}{v['date_key']}")
    if v.get("weekdays"):
        parts.append("a " + "/".join(WEEKDAYS[int(d)] for d in v["weekdays"]))
    if v.get("time"):
        parts.append(v["time"].strftime("%H:%M"))
    zone = "site time" if v.get("timezone") == "site" else "their time"
    return "Wait until " + (", ".join(parts) or "(nothing set)") + f" ({zone})"


def _s_branch(v):
    text = "If " + describe_conditions(v.get("conditions"), v.get("match"))
    if v.get("wait_up_to_amount"):
        limit = amount(v["wait_up_to_amount"], v.get("wait_up_to_unit") or "days")
        text += f" (waiting up to {limit})"
    return text


def _s_split(v):
    variants = list(v.get("variants") or [])
    total = sum(max(x.get("weight") or 0, 0) for x in variants) or 1
    parts = [
        f"{x.get('label') or chr(65 + i)} {round(100 * max(x.get('weight') or 0, 0) / total)}%"
        for i, x in enumerate(variants)
    ]
    text = "Split: " + (", ".join(parts) or "no variants")
    metric = AUTO_WINNER_WORDS.get(v.get("auto_winner") or "")
    return f"{text}; picks the winner on {metric}" if metric else text


AUTO_WINNER_WORDS = {"opened": "opens", "clicked": "clicks", "converted": "the goal"}


def _s_list(verb, prep):
    def describe_list(v):
        lst = v.get("list")
        return f"{verb} {prep} {quoted(lst) if lst is not None else '(no list)'}"

    return describe_list


def _s_score(v):
    delta = v.get("delta") or 0
    return f"{'Add' if delta >= 0 else 'Subtract'} {abs(delta)} points"


def _s_notify(v):
    return f"Notify {v.get('recipients') or '(nobody)'}"


DESCRIBERS = {
    "page_viewed": _t_page_viewed,
    "document_downloaded": _t_document,
    "form_submitted": _t_form,
    "order_placed": _t_order,
    "cart_abandoned": lambda v: f"Leaves a cart for {amount(v.get('after_hours'), 'hours')}",
    "list_joined": _t_list,
    "segment_entered": _t_segment("Enters"),
    "segment_left": _t_segment("Leaves"),
    "tag_added": _t_tag,
    "stage_changed": _t_stage,
    "score_reached": lambda v: f"Score reaches {v.get('threshold') or 0}",
    "grade_becomes": lambda v: f"Grade becomes {v.get('grade') or 'A'}",
    "inactive": _t_inactive,
    "engagement": _t_engagement,
    "date_reached": _t_date,
    "email_engaged": _t_email,
    "custom_event": _t_custom,
    "property_changed": _t_property_changed,
    "manual": lambda v: "Enrolled by hand",
    "in_list": _c_in_list,
    "has_tag": lambda v: f"Has tag “{v['tag']}”" if v.get("tag") else "Has any tag",
    "stage_is": lambda v: f"Stage is {_stage(v.get('stage'))}",
    "score_at_least": lambda v: f"Score at least {v.get('score') or 0}",
    "grade_is": lambda v: "Grade is " + (" or ".join(v.get("grades") or []) or "any"),
    "property": _c_property,
    "form_answer": _c_form_answer,
    "did_event": _c_did_event,
    "opened_email": _c_email("Opened"),
    "clicked_email": _c_email("Clicked in"),
    "has_ordered": _c_has_ordered,
    "is_subscribed": lambda v: "Subscribed to marketing email",
    "group": _c_group,
    "none_of": _c_none_of,
    "send_email": _s_send,
    "wait": _s_wait,
    "wait_until": _s_wait_until,
    "branch": _s_branch,
    "split": _s_split,
    "add_to_list": _s_list("Add", "to"),
    "remove_from_list": _s_list("Remove", "from"),
    "add_tag": lambda v: f"Add tag “{v.get('tag') or ''}”",
    "remove_tag": lambda v: f"Remove tag “{v.get('tag') or ''}”",
    "set_stage": lambda v: f"Set stage to {_stage(v.get('stage'))}",
    "change_score": _s_score,
    "notify": _s_notify,
    "webhook": lambda v: f"Call webhook {v.get('url') or '(no URL)'}",
    "exit": lambda v: "Exit" + (f": {v['reason']}" if v.get("reason") else ""),
}
