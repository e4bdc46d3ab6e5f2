"""After an erase, nothing in the whole database names the person but the suppression hash.

Zebulonia fills in a Wagtail form, a live flow sends her an email, she clicks its link; an
admin edits and exports her, then a user who may only delete contacts erases her. Then every
text, JSON and binary column of every table is read, decoded as far as it goes (base64,
zlib, Django's signing, pickle), and searched for her address and names.
"""

import base64
import pickle
import re
import zlib
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django_q.models import Task
from wagtail.models import ModelLogEntry, PageLogEntry

from tests.conftest import make_staff_user
from tests.factories import make_email_page, make_form_page
from tests.test_engine_tree import make_flow, step
from wagtail_flows import gdpr
from wagtail_flows.models import Contact, Event, Message, Suppression

pytestmark = pytest.mark.django_db

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0"
ADDRESS = "zebulonia.q@example.com"
FIRST, LAST = "Zebulonia", "Quillfeather"
NEEDLES = (ADDRESS, FIRST, LAST)
CONTACTS_URL = "/admin/flows/contacts/"

NOT_TEXT = {
    "AutoField",
    "BigAutoField",
    "SmallAutoField",
    "IntegerField",
    "BigIntegerField",
    "SmallIntegerField",
    "PositiveIntegerField",
    "PositiveBigIntegerField",
    "PositiveSmallIntegerField",
    "BooleanField",
    "DateField",
    "DateTimeField",
    "TimeField",
    "DurationField",
    "DecimalField",
    "FloatField",
}


# --- the scan -----------------------------------------------------------------------------


def text_columns(cursor, table):
    """Every column of ``table`` but the numbers, dates and flags (unknown types included)."""
    columns = []
    for info in connection.introspection.get_table_description(cursor, table):
        try:
            kind = connection.introspection.get_field_type(info.type_code, info)
        except KeyError:
            kind = None
        if kind not in NOT_TEXT:
            columns.append(info.name)
    return columns


def readings(value, depth=0):
    """The value as stored, and each thing it decodes to: base64, zlib, signed, pickled."""
    if isinstance(value, memoryview):
        value = value.tobytes()
    if isinstance(value, str):
        yield value
        raw = value.encode("utf-8", "replace")
    elif isinstance(value, bytes):
        yield value.decode("utf-8", "replace")
        raw = value
    else:
        yield str(value)
        return
    if depth > 3:
        return
    for decoded in _decodings(raw):
        yield from readings(decoded, depth + 1)


def _decodings(raw):
    candidates = [_attempt(zlib.decompress, raw), _attempt(_unpickled_repr, raw)]
    # Django's signing: "[.]base64:timestamp:signature" (a leading dot: zlib-compressed).
    for part in {raw, raw.split(b":", 1)[0], raw.lstrip(b".").split(b":", 1)[0]}:
        chunk = re.sub(rb"\s", b"", part)
        if len(chunk) >= 8 and re.fullmatch(rb"[A-Za-z0-9+/=_-]+", chunk):
            padded = chunk + b"=" * (-len(chunk) % 4)
            candidates += [_attempt(base64.b64decode, padded)]
            candidates += [_attempt(base64.urlsafe_b64decode, padded)]
    return [c for c in candidates if c]


def _attempt(decode, raw):
    try:
        return decode(raw)
    except Exception:  # most values are not in that form
        return None


def _unpickled_repr(raw):
    return repr(pickle.loads(raw))  # noqa: S301  (the test's own database)


def remains_of(*needles):
    """(table, column, excerpt) for each stored value that holds one of the needles."""
    found = []
    wanted = [n.casefold() for n in needles]
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            columns = text_columns(cursor, table)
            if not columns:
                continue
            quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
            cursor.execute(f"SELECT {quoted} FROM {connection.ops.quote_name(table)}")  # noqa: S608
            for row in cursor.fetchall():
                for column, value in zip(columns, row, strict=True):
                    if value is None:
                        continue
                    for text in readings(value):
                        folded = text.casefold()
                        if any(n in folded for n in wanted):
                            found.append((table, column, text[:200]))
                            break
    return found


def test_the_scan_finds_what_it_looks_for():
    """The scan itself: a pickled, a signed and a plain value are all read."""
    from django.core import signing

    pickled = base64.b64encode(pickle.dumps({"who": ADDRESS})).decode()
    signed = signing.dumps({"who": FIRST}, compress=True)
    assert any(ADDRESS in t for t in readings(pickled))
    assert any(FIRST in t for t in readings(signed))
    Suppression.objects.create(email_hash=LAST, reason="test")
    assert [(t, c) for t, c, _ in remains_of(LAST)] == [
        ("wagtail_flows_suppression", "email_hash")
    ]


# --- the story ----------------------------------------------------------------------------


@pytest.fixture
def zebulonia(django_capture_on_commit_callbacks):
    """Zebulonia signs up through a form, gets the flow's email and clicks its link."""
    form = make_form_page(
        "Seed catalogue",
        fields=[
            ("Email", "email", True),
            ("First name", "singleline", False),
            ("Last name", "singleline", False),
            ("Subscribe to our newsletter", "checkbox", False),
        ],
    )
    email_page = make_email_page(
        subject="Your catalogue, {{ contact.first_name }} {{ contact.last_name }}",
        body=[
            (
                "text",
                '<p>Dear {{ contact.first_name }}, <a href="https://example.com/seeds">'
                "see the seeds</a></p>",
            )
        ],
    )
    # Transactional ("the catalogue you asked for"): it emails her at once, whether or not
    # the site asks new addresses to confirm their consent first (double opt-in).
    make_flow(
        [step("send_email", "s1", page=email_page.pk)],
        triggers=[{"type": "form_submitted", "value": {"form_page": form.pk}, "id": "t1"}],
        kind="transactional",
    )
    browser = Client(headers={"user-agent": BROWSER})
    with django_capture_on_commit_callbacks(execute=True):
        response = browser.post(
            form.url,
            {
                "email": ADDRESS,
                "first_name": FIRST,
                "last_name": LAST,
                "subscribe_to_our_newsletter": "on",
            },
        )
    assert response.status_code == 200
    (sent,) = [m for m in mail.outbox if m.subject.startswith("Your catalogue")]
    assert sent.to == [ADDRESS] and sent.subject == f"Your catalogue, {FIRST} {LAST}"
    html = sent.alternatives[0][0]
    click = next(u for u in re.findall(r'href="([^"]+)"', html) if "/e/c/" in u)
    with django_capture_on_commit_callbacks(execute=True):
        assert browser.get(urlsplit(click).path).status_code == 302
    contact = Contact.objects.get(email=ADDRESS)
    assert contact.events.filter(kind="link_clicked").exists()
    assert Message.objects.get(contact=contact, enrollment__isnull=False).clicks == 1
    return contact


def edit_and_export(admin_client, contact):
    """A colleague edits her and downloads her export: both are in the audit log."""
    fields = {"email": ADDRESS, "first_name": FIRST, "last_name": LAST, "stage": "lead"}
    admin_client.post(
        f"{CONTACTS_URL}edit/{contact.pk}/", {**fields, "score": "0", "properties": "{}"}
    )
    assert admin_client.get(f"{CONTACTS_URL}{contact.pk}/export/").status_code == 200


@pytest.fixture
def eraser(client):
    """A user who may erase contacts and nothing else."""
    client.force_login(make_staff_user("eraser", "delete_contact"))
    return client


def test_the_erase_page_says_what_will_be_deleted_before_anything_is(zebulonia, eraser):
    events = Event.objects.filter(contact=zebulonia).count()
    emails = Message.objects.filter(contact=zebulonia).count()
    finished = Task.objects.count()  # every task so far was about her
    assert events >= 2 and emails >= 1 and finished >= 3

    page = eraser.get(f"{CONTACTS_URL}{zebulonia.pk}/erase/").content.decode()

    rows = dict(re.findall(r'<th scope="row">([^<]+)</th><td>(\d+)</td>', page))
    assert rows == {
        "Events on their timeline": str(events),
        "Runs through flows, with their step log": "1",
        "Emails sent or queued": str(emails),
        "List memberships": "0",
        "Form submissions (Wagtail forms)": "1",
        f"Background-queue records (django-q2): 0 queued, {finished} finished": str(finished),
    }
    assert "a one-way hash of the address" in page and "never emailed again" in page
    assert "cannot be undone" in page
    assert Contact.objects.filter(pk=zebulonia.pk).exists()  # a GET erases nothing


def test_erase_leaves_nothing_but_the_suppression_hash(zebulonia, admin_client, eraser):
    edit_and_export(admin_client, zebulonia)
    before = {table for table, _column, _text in remains_of(*NEEDLES)}
    assert before >= {
        "wagtail_flows_contact",
        "wagtail_flows_event",
        "wagtail_flows_message",
        "wagtail_flows_enrollment",
        "wagtailforms_formsubmission",
        "wagtailcore_modellogentry",
    }
    assert Task.objects.count() >= 3 and "django_q_task" not in before  # ids and counts only
    expected = gdpr.holdings(zebulonia).counts()

    response = eraser.post(f"{CONTACTS_URL}{zebulonia.pk}/erase/")

    assert response.status_code == 302 and response["Location"] == CONTACTS_URL
    assert remains_of(*NEEDLES) == []
    assert Suppression.is_suppressed(ADDRESS)
    assert not Task.objects.exists()  # every record of hers went with her
    erased = ModelLogEntry.objects.get(action="wagtail_flows.erase")
    assert erased.label == f"Contact #{zebulonia.pk} (erased)" and erased.user.username == "eraser"
    assert erased.data == {"erased": expected}
    labels = [*ModelLogEntry.objects.values_list("label", flat=True)]
    labels += PageLogEntry.objects.values_list("label", flat=True)
    assert labels and not [label for label in labels if FIRST in label or ADDRESS in label]
