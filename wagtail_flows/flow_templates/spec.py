"""The vocabulary flow templates are written in: a template is data, built by ``builder``.

A definition's streams are plain stream JSON (``{"type": ..., "value": ...}``) in which a few
markers stand for what only exists when the template is used:

- ``P("name")``: the value of a parameter the site owner gives (a form page, a SKU, …);
- ``L("Customers")``: the contact list of that name (created if missing), ``L(P("list"))`` too;
- ``E("welcome")``: the starter email page of that key, created as a draft;
- ``HOME``: the default site's home page (for email buttons).

``Or((P("page"), HOME))`` is the first that resolves to something.
A block wrapped in ``when("param", block)`` is left out when that parameter is empty;
``each("param", make)`` in a stream stands for one block per item of a list parameter
(``make(item)`` gives the block), none when it is empty.
"""

from dataclasses import dataclass, field

from django.utils.translation import gettext_lazy as _

GROUPS = [
    ("acquisition", _("Acquisition and welcome")),
    ("engagement", _("Interest and engagement")),
    ("commerce", _("Commerce")),
    ("retention", _("Retention and feedback")),
]


@dataclass(frozen=True)
class P:
    name: str


@dataclass(frozen=True)
class L:
    name: object  # a list name, or a P naming a parameter that holds one


@dataclass(frozen=True)
class E:
    key: str


class _Home:
    def __repr__(self):
        return "HOME"


HOME = _Home()


@dataclass(frozen=True)
class Or:
    """The first of ``options`` that resolves to something (e.g. a page, else HOME)."""

    options: tuple


@dataclass(frozen=True)
class When:
    param: str
    block: dict


def when(param, block):
    return When(param, block)


@dataclass(frozen=True)
class Each:
    param: str
    make: object  # item -> block


def each(param, make):
    return Each(param, make)


@dataclass(frozen=True)
class Param:
    """Something the template asks for. ``kind``: page, form_page, document, text, int,
    percent (1–100), emails (comma-separated addresses), skus (comma-separated product
    SKUs, a list)."""

    name: str
    label: str
    kind: str = "text"
    default: object = None
    required: bool = False
    help_text: str = ""


@dataclass(frozen=True)
class EmailSpec:
    key: str
    title: str
    subject: str
    preheader: str
    body: tuple


@dataclass(frozen=True)
class FlowTemplate:
    slug: str
    title: str
    group: str
    description: str
    triggers: tuple
    steps: tuple
    params: tuple = ()
    emails: tuple = ()
    entry_conditions: tuple = ()
    never_enter_if: tuple = ()  # any one keeps a contact out, at entry only
    goal: tuple = ()
    exit_conditions: tuple = ()
    fields: dict = field(default_factory=dict)  # other Flow fields: reentry, kind, …
    runs_for_days_param: str = ""  # a parameter giving the flow an end date

    def param(self, name):
        return next(p for p in self.params if p.name == name)

    def email(self, key):
        return next(e for e in self.emails if e.key == key)


# --- stream blocks -------------------------------------------------------------------------


def block(type_, **value):
    return {"type": type_, "value": value}


def send(key):
    return block("send_email", page=E(key), subject_override="")


def wait(amount, unit="days"):
    return block("wait", amount=amount, unit=unit)


def wait_until(date_source="", date_key="", offset_days=0, time="09:00:00"):
    return block(
        "wait_until",
        time=time,
        weekdays=[],
        timezone="contact",
        date_source=date_source,
        date_key=date_key,
        offset_days=offset_days,
    )


def add_to_list(name):
    return block("add_to_list", list=L(name))


def remove_from_list(name):
    return block("remove_from_list", list=L(name))


def add_tag(name):
    return block("add_tag", tag=name)


def set_stage(stage):
    return block("set_stage", stage=stage)


def change_score(delta):
    return block("change_score", delta=delta)


def notify(subject, message, recipients=P("sales_team")):
    return block("notify", recipients=recipients, subject=subject, message=message)


def exit_flow(reason):
    return block("exit", reason=reason)


def branch(conditions, yes=(), no=(), match="all", wait_up_to=None):
    amount, unit = wait_up_to or (None, "days")
    return block(
        "branch",
        conditions=list(conditions),
        match=match,
        wait_up_to_amount=amount,
        wait_up_to_unit=unit,
        yes=list(yes),
        no=list(no),
    )


# --- conditions ----------------------------------------------------------------------------


def did_event(kind, min_count=1, within_days=None, name="", page=None, sku=""):
    return block(
        "did_event",
        kind=kind,
        name=name,
        min_count=min_count,
        within_days=within_days,
        page=page,
        include_descendants=False,
        sku=sku,
    )


def has_ordered(within_days=None, sku=""):
    return block("has_ordered", within_days=within_days, min_total=None, sku=sku)


def clicked_email(within_days=None):
    return block("clicked_email", email=None, within_days=within_days)


def has_tag(name):
    return block("has_tag", tag=name)


def score_at_least(score):
    return block("score_at_least", score=score)


def stage_is(stage):
    return block("stage_is", stage=stage)


def in_list(name):
    return block("in_list", list=L(name))


def group(*conditions, match="all"):
    """Conditions with their own all / any, inside a list of conditions (nests 3 deep)."""
    return block("group", match=match, conditions=list(conditions))


def none_of(*conditions):
    """Holds when none of ``conditions`` holds ("not")."""
    return block("none_of", conditions=list(conditions))


def prop(name, operator, value=""):
    return block("property", name=name, operator=operator, value=value)


def form_answer(field, operator, value=""):
    """An answer of the form submission that started the run (``field``: its name)."""
    return block("form_answer", field=field, operator=operator, value=value)


# --- email body blocks ---------------------------------------------------------------------


def email(key, title, subject, preheader, *body):
    return EmailSpec(key, title, subject, preheader, tuple(body))


def heading(words):
    return {"type": "heading", "value": words}


def text(*paragraphs):
    return {"type": "text", "value": "".join(f"<p>{p}</p>" for p in paragraphs)}


def bullets(*items):
    return {"type": "text", "value": "<ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>"}


def button(label, page=HOME, url=""):
    return block("button", text=label, url=url, page=None if url else page, align="center")


def coupon(code, description):
    return block("coupon", code=code, description=description, expires=None)


def quote(words, author, role=""):
    return block("quote", quote=words, author=author, role=role)


def products(source, heading_text):
    return block(
        "product_cards", source=source, heading=heading_text, max_items=3, button_text="View"
    )


def divider():
    return {"type": "divider", "value": None}
