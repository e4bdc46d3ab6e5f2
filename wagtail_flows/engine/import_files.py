"""Reading a contact file (CSV or XLSX) and checking its rows, for ``engine.imports``.

Nothing here touches the database: the file's bytes come in, rows and problems go out.

- CSV: UTF-8 with or without a byte-order mark, else Windows-1252, else Latin-1; the
  delimiter (comma, semicolon or tab) is sniffed from the first lines.
- XLSX: the first sheet, read with openpyxl in read-only mode (a large file streams).

Row numbers are the spreadsheet's: the header is row 1, the first contact row 2.
"""

import csv
import io
import re
import zipfile
import zoneinfo
from datetime import date, datetime
from functools import lru_cache

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from wagtail_flows.models.contacts import normalize_email
from wagtail_flows.models.properties import parse
from wagtail_flows.vocabulary import PropertyType

CSV, XLSX = "csv", "xlsx"
DELIMITERS = ",;\t"
PREVIEW_ROWS = 5
MAX_COLUMNS = 200
NAME_MAX = 150  # Contact.first_name / last_name
SOURCE_MAX = 255
TAG_MAX = 100
TAG_SPLIT = re.compile(r"[,;|]")
FIELD_TARGETS = ("email", "first_name", "last_name", "full_name", "source", "timezone", "tags")
PROPERTY_PREFIX = "property:"
IGNORE = "ignore"


class FileProblem(ValueError):
    """The file cannot be read as a table of contacts (shown on the upload form)."""


# --- reading -------------------------------------------------------------------------------


def kind_of(name, content):
    """``"csv"`` or ``"xlsx"`` from the name and the bytes; FileProblem for anything else."""
    lowered = (name or "").lower()
    if lowered.endswith(".xlsx"):
        if not zipfile.is_zipfile(io.BytesIO(content)):
            raise FileProblem(_("This .xlsx file is not an Excel workbook."))
        return XLSX
    if lowered.endswith((".csv", ".txt", ".tsv")):
        if content[:4] == b"PK\x03\x04" or b"\x00" in content[:4096]:
            raise FileProblem(_("This file is not a CSV text file."))
        return CSV
    raise FileProblem(_("Upload a CSV file (.csv) or an Excel workbook (.xlsx)."))


def decode(content):
    """The text of a CSV file: UTF-8 (a BOM is dropped), else Windows-1252, else Latin-1."""
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    return content.decode("latin-1")


def _csv_rows(content):
    text = decode(content)
    sample = text[:16384]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=DELIMITERS)
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = max(DELIMITERS, key=lambda d: sample.split("\n", 1)[0].count(d))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for row in reader:
            yield [cell.strip() for cell in row]
    except csv.Error as error:
        raise FileProblem(_("The CSV file cannot be read: %s") % error) from None


def _xlsx_rows(content):
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds for a damaged file
        raise FileProblem(_("The Excel workbook cannot be read: %s") % error) from None
    try:
        sheet = workbook.worksheets[0]
        for row in sheet.iter_rows(values_only=True):
            yield [_cell_text(value) for value in row]
    finally:
        workbook.close()


def _cell_text(value):
    if value is None:
        return ""
    if isinstance(value, datetime):
        return (
            value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
        )
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value).strip()


def rows(content, kind):
    """Every row of the file, the header first, as lists of text."""
    return _xlsx_rows(content) if kind == XLSX else _csv_rows(content)


def column_names(header):
    """The header row as unique, non-empty column names ("Column 3", "Email (2)")."""
    names, seen = [], set()
    for index, cell in enumerate(header, start=1):
        name = (cell or "").strip()[:200] or _("Column %d") % index
        unique, n = name, 2
        while unique in seen:
            unique, n = f"{name} ({n})", n + 1
        seen.add(unique)
        names.append(unique)
    while names and names[-1].startswith(_("Column ")) and not header[len(names) - 1].strip():
        names.pop()  # trailing empty header cells: no column
    return names


def data_rows(content, kind, width, after=1):
    """``(row number, cells)`` of the contact rows after row ``after`` (1 = the header);
    blank rows are skipped (their numbers too), every row padded or cut to ``width``."""
    for number, row in enumerate(rows(content, kind), start=1):
        if number <= after:
            continue
        if not any(row):
            continue
        cells = (row + [""] * width)[:width]
        yield number, cells


def read_table(content, name):
    """``(kind, columns, preview rows, number of contact rows)`` of an uploaded file, or
    FileProblem naming what is wrong (empty, no header, no contact row)."""
    if not content:
        raise FileProblem(_("The file is empty."))
    kind = kind_of(name, content)
    all_rows = rows(content, kind)
    header = next((row for row in all_rows if any(row)), None)
    if header is None:
        raise FileProblem(_("The file is empty."))
    columns = column_names(header)
    if len(columns) > MAX_COLUMNS:
        raise FileProblem(_("The file has more than %d columns.") % MAX_COLUMNS)
    preview, count = [], 0
    for row in all_rows:
        if not any(row):
            continue
        count += 1
        if len(preview) < PREVIEW_ROWS:
            preview.append((row + [""] * len(columns))[: len(columns)])
    if not count:
        raise FileProblem(_("The file has a header row but no contacts below it."))
    return kind, columns, preview, count


# --- guessing the mapping --------------------------------------------------------------------

ALIASES = {
    "email": {"email", "emailaddress", "mail", "emailadres", "courriel", "e"},
    "first_name": {"firstname", "first", "givenname", "forename", "prenom", "vorname"},
    "last_name": {"lastname", "last", "surname", "familyname", "nom", "nachname"},
    "full_name": {"name", "fullname", "contactname", "contact"},
    "source": {"source", "origin", "leadsource"},
    "timezone": {"timezone", "tz", "zone"},
    "tags": {"tags", "tag", "labels", "label"},
}


def _squash(text):
    return re.sub(r"[^a-z0-9]", "", (text or "").lower())


def guess_target(column, properties):
    """The likely target of a column from its name ("E-mail" → email, "Company size" →
    the property with that key or label), or "ignore"."""
    squashed = _squash(column)
    for target, names in ALIASES.items():
        if squashed in names:
            return target
    for prop in properties:
        if squashed in {_squash(prop.key), _squash(prop.label)}:
            return PROPERTY_PREFIX + prop.key
    if "email" in squashed or "mail" in squashed:
        return "email"
    return IGNORE


def guess_mapping(columns, properties):
    mapping, used = {}, set()
    for column in columns:
        target = guess_target(column, properties)
        if target != IGNORE and target != "tags" and target in used:
            target = IGNORE  # a field is filled from one column
        used.add(target)
        mapping[column] = target
    return mapping


# --- checking one row --------------------------------------------------------------------------


class Row:
    """One contact row: its values by target, and the problems found in them."""

    __slots__ = ("line", "email", "fields", "tags", "properties", "problems")

    def __init__(self, line):
        self.line = line
        self.email = ""
        self.fields = {}
        self.tags = []
        self.properties = {}
        self.problems = []  # (column, reason)

    def problem(self, column, reason):
        self.problems.append((column, str(reason)[:255]))


@lru_cache(maxsize=1)
def _zones():
    return frozenset(zoneinfo.available_timezones())


def _shown(value, limit=40):
    value = value if len(value) <= limit else value[: limit - 1] + "…"
    return f"“{value}”"


class RowChecker:
    """Checks rows against a mapping: ``check(line, cells)`` → Row (with its problems).

    ``properties``: the ContactProperty definitions by key. Duplicates of an address in
    the file are found with ``seen`` (address → first row), which the caller may pre-fill
    when it resumes in the middle of a file."""

    def __init__(self, columns, mapping, properties):
        self.targets = [(i, c, mapping.get(c, IGNORE)) for i, c in enumerate(columns)]
        self.targets = [t for t in self.targets if t[2] != IGNORE]
        self.email_index = next((i for i, _c, t in self.targets if t == "email"), None)
        self.properties = properties
        self.seen = {}

    def address(self, cells):
        if self.email_index is None:
            return ""
        return normalize_email(cells[self.email_index])

    def remember(self, line, cells):
        """Note a row's address as seen (resuming: the rows already checked)."""
        address = self.address(cells)
        if address:
            self.seen.setdefault(address, line)

    def check(self, line, cells):
        row = Row(line)
        for index, column, target in self.targets:
            value = cells[index]
            if target == "email":
                self._email(row, column, value)
            elif target.startswith(PROPERTY_PREFIX):
                self._property(row, column, target[len(PROPERTY_PREFIX) :], value)
            elif value:
                getattr(self, f"_{target}")(row, column, value)
        return row

    def _email(self, row, column, value):
        address = normalize_email(value)
        if not address:
            row.problem(column, _("No email address."))
            return
        try:
            if len(address) > 254:
                raise ValidationError("too long")
            validate_email(address)
        except ValidationError:
            row.problem(column, _("%s is not a valid email address.") % _shown(value))
            return
        first = self.seen.setdefault(address, row.line)
        if first != row.line:
            row.problem(
                column, _("The same address as row %d: only that row is imported.") % first
            )
            return
        row.email = address

    def _name(self, row, column, field, value):
        if len(value) > NAME_MAX:
            row.problem(column, _("Longer than %d characters.") % NAME_MAX)
        else:
            row.fields[field] = value

    def _first_name(self, row, column, value):
        self._name(row, column, "first_name", value)

    def _last_name(self, row, column, value):
        self._name(row, column, "last_name", value)

    def _full_name(self, row, column, value):
        first, _sep, last = " ".join(value.split()).partition(" ")
        if len(first) > NAME_MAX or len(last) > NAME_MAX:
            row.problem(column, _("A first or last name longer than %d characters.") % NAME_MAX)
            return
        row.fields.setdefault("first_name", first)
        if last:
            row.fields.setdefault("last_name", last)

    def _source(self, row, column, value):
        if len(value) > SOURCE_MAX:
            row.problem(column, _("Longer than %d characters.") % SOURCE_MAX)
        else:
            row.fields["source"] = value

    def _timezone(self, row, column, value):
        if value not in _zones():
            row.problem(column, _("%s is not a time zone (e.g. Europe/Paris).") % _shown(value))
        else:
            row.fields["timezone"] = value

    def _tags(self, row, column, value):
        for name in (part.strip() for part in TAG_SPLIT.split(value)):
            if not name:
                continue
            if len(name) > TAG_MAX:
                row.problem(column, _("A tag is at most %d characters.") % TAG_MAX)
                return
            row.tags.append(name)

    def _property(self, row, column, key, value):
        prop = self.properties.get(key)
        if prop is None:
            row.problem(column, _("No contact property “%s” any more.") % key)
            return
        if value == "":
            return
        try:
            row.properties[key] = parse_cell(prop, value)
        except ValidationError as error:
            row.problem(column, f"{_shown(value)}: {' '.join(error.messages)}")


# --- typed values: ``models.properties.parse``, with the dates spreadsheets write ---------------

DATE_FORMATS = ("%d/%m/%Y", "%d.%m.%Y", "%d-%m-%Y", "%Y/%m/%d")


def parse_cell(prop, value):
    """A cell as a value of ``prop``'s type (``models.properties.parse``, the one parser of
    property values). A date may also be written 31/12/2026, 31.12.2026 or 2026/12/31, as
    spreadsheets export them (day first, as outside the US)."""
    if prop.type == PropertyType.DATE:
        value = _iso_date(value)
    return parse(prop, value)


def _iso_date(value):
    text = value.strip()[:10]
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date().isoformat()
        except ValueError:
            continue
    return value
