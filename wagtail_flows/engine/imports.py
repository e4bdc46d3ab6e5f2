"""Contact imports: an uploaded CSV or XLSX file becomes contacts, in the background.

1. ``create_import`` reads the header and a preview (``engine.import_files``) and keeps the
   file's bytes on the ``ContactImport`` row (never in MEDIA); nothing else is written.
2. ``start_import`` records the marketer's choices and hands the job to django-q2.
3. **Check**: every row is checked (address, duplicates in the file, lengths, time zones,
   each property's type); each bad value is one ``ImportProblem``. With problems and not
   "import the valid rows" the job stops as *has errors*: no contact was touched.
4. **Import**, in batches of ``IMPORT_BATCH_SIZE`` rows, each one transaction with a
   constant number of queries: new contacts in one ``bulk_create``, existing ones (matched
   like the unique index, lower-case) in one ``bulk_update``, property values, tags, list
   memberships, consent records, confirmation emails and timeline events in bulk.

Each batch moves the job's cursor (the last row handled) with a compare-and-set at the
start of its transaction, so a batch delivered twice waits for the first and then does
nothing, and a job resumed by the sweep after a lost task starts after the last committed
row: no row is skipped or done twice.

Consent (each rule has a test in tests/test_imports.py):
- *stated*: new contacts are subscribed, with a ConsentRecord holding the stated basis;
- *confirm*: new contacts are pending and each is sent the double opt-in email;
- *none*: new contacts are pending, nothing is sent;
- an existing contact's consent status is never changed by an import (so an unsubscribed,
  bounced or complained address stays so), and a suppressed (erased, complained) address is
  neither created nor updated: it is reported as skipped.

Importing never starts the flows triggered by joining the list (or by a tag): the events
are on each contact's timeline but not dispatched. To put imported people in such a flow,
enroll the list from the flow ("Enroll contacts"), which applies its entry conditions.
"""

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from wagtail_flows.conf import flows_settings
from wagtail_flows.engine import import_files as files
from wagtail_flows.engine.import_writer import BatchWriter, consent_settings
from wagtail_flows.engine.queue import IMPORT_JOB_FUNC, enqueue, resume_stalled
from wagtail_flows.models import ContactImport, ContactProperty, ImportProblem
from wagtail_flows.vocabulary import ImportConsent, ImportStatus

RUNNING = (ImportStatus.CHECKING, ImportStatus.IMPORTING)
FINISHED = (ImportStatus.DONE, ImportStatus.FAILED, ImportStatus.CANCELLED)


def batch_size():
    return max(1, int(flows_settings.IMPORT_BATCH_SIZE))


# --- upload and start ------------------------------------------------------------------------


def create_import(name, content, *, user=None):
    """A new import of the file ``name`` (bytes ``content``), waiting for its mapping.

    Raises ValidationError on the ``file`` field (too big, not CSV/XLSX, empty, no contact
    row) before anything is written. Returns ``(import, preview rows)``."""
    limit = int(flows_settings.IMPORT_MAX_BYTES)
    if len(content) > limit:
        raise ValidationError(
            {"file": _("The file is larger than %(mb)s MB.") % {"mb": _megabytes(limit)}}
        )
    try:
        _kind, columns, preview, count = files.read_table(content, name)
    except files.FileProblem as problem:
        raise ValidationError({"file": str(problem)}) from None
    properties = list(ContactProperty.objects.all())
    contact_import = ContactImport.objects.create(
        original_name=(name or "contacts")[:255],
        content=content,
        size=len(content),
        columns=columns,
        mapping=files.guess_mapping(columns, properties),
        total_rows=count,
        created_by=user if user is not None and user.is_authenticated else None,
    )
    return contact_import, preview


def _megabytes(limit):
    return f"{limit / 1_000_000:.3g}"


def preview_rows(contact_import):
    """The first rows of the file, for the mapping page (the file is read again)."""
    if not contact_import.content:
        return []
    content = bytes(contact_import.content)
    kind = files.kind_of(contact_import.original_name, content)
    width = len(contact_import.columns)
    found = []
    for _line, cells in files.data_rows(content, kind, width):
        found.append(cells)
        if len(found) >= files.PREVIEW_ROWS:
            break
    return found


def validate_mapping(columns, mapping):
    """The mapping names one email column, known targets, each field once."""
    properties = set(ContactProperty.objects.values_list("key", flat=True))
    targets = [mapping.get(column, files.IGNORE) for column in columns]
    for column, target in zip(columns, targets, strict=True):
        if target in (files.IGNORE, *files.FIELD_TARGETS):
            continue
        key = target[len(files.PROPERTY_PREFIX) :]
        if not target.startswith(files.PROPERTY_PREFIX) or key not in properties:
            raise ValidationError({"mapping": _("Column “%s”: unknown target.") % column})
    if targets.count("email") != 1:
        raise ValidationError(
            {"mapping": _("Choose the one column that holds the email addresses.")}
        )
    once = [t for t in targets if t not in (files.IGNORE, "tags")]
    if len(once) != len(set(once)):
        raise ValidationError({"mapping": _("Each field can be filled from one column only.")})


def start_import(contact_import, *, background=True):
    """Check, then import, the file with the choices saved on ``contact_import``.

    The caller has set mapping, consent, consent_basis, existing, contact_list and
    import_valid_rows. With ``background`` the work runs in the cluster after commit;
    without, the caller runs ``run_import`` itself."""
    validate_mapping(contact_import.columns, contact_import.mapping)
    if contact_import.consent == ImportConsent.STATED and not contact_import.consent_basis.strip():
        raise ValidationError({"consent_basis": _("Say where and when these people agreed.")})
    if contact_import.status != ImportStatus.UPLOADED or not contact_import.content:
        raise ValidationError({"status": _("This import has been started already.")})
    contact_import.status = ImportStatus.CHECKING
    contact_import.cursor = 1
    contact_import.updated_at = timezone.now()
    contact_import.save()
    if background:
        _enqueue_after_commit(contact_import.pk, 1)
    return contact_import


def import_valid_rows(contact_import, *, background=True):
    """After a check found problems: import the rows without any, from the file kept."""
    moved = ContactImport.objects.filter(
        pk=contact_import.pk, status=ImportStatus.HAS_ERRORS, content__isnull=False
    ).update(
        status=ImportStatus.IMPORTING,
        import_valid_rows=True,
        cursor=1,
        updated_at=timezone.now(),
    )
    if not moved:
        raise ValidationError({"status": _("Only an import stopped by errors can go on.")})
    contact_import.refresh_from_db()
    if background:
        _enqueue_after_commit(contact_import.pk, 1)
    return contact_import


def cancel_import(contact_import):
    """Give up an import not started or stopped by errors; its file is wiped."""
    moved = ContactImport.objects.filter(
        pk=contact_import.pk, status__in=(ImportStatus.UPLOADED, ImportStatus.HAS_ERRORS)
    ).update(status=ImportStatus.CANCELLED, content=None, finished_at=timezone.now())
    contact_import.refresh_from_db()
    return bool(moved)


def _enqueue_after_commit(import_id, cursor):
    transaction.on_commit(lambda: enqueue(IMPORT_JOB_FUNC, import_id, cursor))


def progress(contact_import):
    """Percent done: checking is the first fifth of the bar, importing the rest."""
    total = max(1, contact_import.total_rows)
    if contact_import.status in (ImportStatus.DONE, ImportStatus.HAS_ERRORS):
        return 100
    done = min(total, max(0, contact_import.cursor - 1))
    if contact_import.status == ImportStatus.CHECKING:
        return min(20, int(20 * contact_import.checked_rows / total))
    if contact_import.status == ImportStatus.IMPORTING:
        return 20 + min(80, int(80 * done / total))
    return 0


# --- the job -----------------------------------------------------------------------------------


class Job:
    """One task's pass over the file: it is read once, and batches go by in order."""

    def __init__(self, contact_import):
        self.imp = contact_import
        self.content = bytes(contact_import.content)
        self.kind = files.kind_of(contact_import.original_name, self.content)
        self.width = len(contact_import.columns)
        self.properties = {p.key: p for p in ContactProperty.objects.all()}
        # Read once per task, not per batch (the batch's query count stays constant).
        self.contact_list = contact_import.contact_list
        self.consent_settings = consent_settings() if contact_import.consent else None
        self.confirmation_page = _live_page(self.consent_settings)
        self.checker = files.RowChecker(
            contact_import.columns, contact_import.mapping, self.properties
        )

    def rows_after(self, cursor):
        return files.data_rows(self.content, self.kind, self.width, after=cursor)

    def batches(self, cursor):
        batch = []
        for line, cells in self.rows_after(cursor):
            batch.append((line, cells))
            if len(batch) >= batch_size():
                yield batch
                batch = []
        if batch:
            yield batch


def _live_page(settings):
    page = settings.confirmation_email if settings is not None else None
    return page if page is not None and page.live else None


def run_import(import_id, cursor=None, *, budget=None, progress_callback=None):
    """Run the job from ``cursor`` (default: the saved one) until it is finished, another
    delivery moved it on, or ``budget`` (a timedelta) is spent; returns the cursor to go on
    from (hand it to a fresh task), or None."""
    contact_import = ContactImport.objects.filter(pk=import_id).first()
    if contact_import is None or contact_import.status not in RUNNING:
        return None
    cursor = contact_import.cursor if cursor is None else cursor
    if cursor != contact_import.cursor or not contact_import.content:
        return None
    started = timezone.now()
    try:
        job = Job(contact_import)
        if contact_import.status == ImportStatus.CHECKING:
            cursor = _check_phase(job, cursor, started, budget, progress_callback)
            if cursor is None or job.imp.status != ImportStatus.IMPORTING:
                return cursor
        return _import_phase(job, cursor, started, budget, progress_callback)
    except Exception as error:
        ContactImport.objects.filter(pk=import_id, status__in=RUNNING).update(
            status=ImportStatus.FAILED,
            error=str(error)[:2000],
            content=None,
            updated_at=timezone.now(),
            finished_at=timezone.now(),
        )
        raise


def _spent(started, budget):
    return budget is not None and timezone.now() - started > budget


# --- check -------------------------------------------------------------------------------------


def _run_batches(job, cursor, started, budget, progress_callback, run_batch):
    """``run_batch`` on each batch after ``cursor``: ``(False, cursor)`` when all ran,
    ``(True, cursor)`` when the time budget ran out first, ``(True, None)`` when another
    delivery of the task moved the cursor on (this one stops)."""
    for batch in job.batches(cursor):
        last = batch[-1][0]
        if not run_batch(job, batch, cursor, last):
            return True, None
        cursor = last
        if progress_callback:
            progress_callback(job.imp)
        if _spent(started, budget):
            return True, cursor
    return False, cursor


def _check_phase(job, cursor, started, budget, progress_callback):
    if cursor > 1:  # resumed: the addresses of the rows checked already
        for line, cells in job.rows_after(1):
            if line > cursor:
                break
            job.checker.remember(line, cells)
    stopped, cursor = _run_batches(job, cursor, started, budget, progress_callback, _check_batch)
    return cursor if stopped else _end_check(job, cursor)


def _check_batch(job, batch, cursor, last):
    checked = [job.checker.check(line, cells) for line, cells in batch]
    bad = [row for row in checked if row.problems]
    with transaction.atomic():
        if not _move(job.imp, ImportStatus.CHECKING, cursor, last, checked_rows=len(batch)):
            return False
        ImportProblem.objects.bulk_create(
            ImportProblem(contact_import_id=job.imp.pk, line=row.line, column=col, reason=why)
            for row in bad
            for col, why in row.problems
        )
        if bad:
            ContactImport.objects.filter(pk=job.imp.pk).update(
                problem_count=F("problem_count") + len(bad)
            )
    job.imp.refresh_from_db()
    return True


def _move(contact_import, status, cursor, last, **counts):
    """Compare-and-set of the cursor: False if another delivery moved it already."""
    updates = {name: F(name) + value for name, value in counts.items()}
    return bool(
        ContactImport.objects.filter(pk=contact_import.pk, status=status, cursor=cursor).update(
            cursor=last, updated_at=timezone.now(), **updates
        )
    )


def _end_check(job, cursor):
    """All rows checked: stop on problems (nothing changed) or go on to import."""
    imp = job.imp
    stop = imp.problem_count and not imp.import_valid_rows
    now = timezone.now()
    values = {"status": ImportStatus.HAS_ERRORS, "finished_at": now} if stop else {}
    moved = ContactImport.objects.filter(
        pk=imp.pk, status=ImportStatus.CHECKING, cursor=cursor
    ).update(**{"status": ImportStatus.IMPORTING, "cursor": 1, "updated_at": now, **values})
    imp.refresh_from_db()
    return 1 if moved and not stop else None


# --- import ------------------------------------------------------------------------------------


def _import_phase(job, cursor, started, budget, progress_callback):
    stopped, cursor = _run_batches(
        job, cursor, started, budget, progress_callback, _import_batch_retrying
    )
    if stopped:
        return cursor
    _finish(job.imp, cursor)
    return None


def _import_batch_retrying(job, batch, cursor, last):
    """A contact created elsewhere between our lookup and our insert (a form sign-up) breaks
    the unique index: the batch is rolled back and done again once, finding it."""
    try:
        return import_batch(job, batch, cursor, last)
    except IntegrityError:
        return import_batch(job, batch, cursor, last)


def _finish(contact_import, cursor):
    now = timezone.now()
    ContactImport.objects.filter(
        pk=contact_import.pk, status=ImportStatus.IMPORTING, cursor=cursor
    ).update(status=ImportStatus.DONE, content=None, finished_at=now, updated_at=now)
    contact_import.refresh_from_db()


def import_batch(job, batch, cursor, last):
    """One batch of rows in one transaction; False if another delivery did it already."""
    imp = job.imp
    now = timezone.now()
    with transaction.atomic():
        if not _move(imp, ImportStatus.IMPORTING, cursor, last):
            return False
        bad_lines = set(
            ImportProblem.objects.filter(
                contact_import_id=imp.pk, line__gt=cursor, line__lte=last
            ).values_list("line", flat=True)
        )
        rows = [job.checker.check(line, cells) for line, cells in batch if line not in bad_lines]
        rows = [row for row in rows if row.email and not row.problems]
        writer = BatchWriter(job, now)
        writer.write(rows)
        ContactImport.objects.filter(pk=imp.pk).update(
            created_count=F("created_count") + writer.created,
            updated_count=F("updated_count") + writer.updated,
            skipped_count=F("skipped_count") + writer.skipped,
        )
    imp.refresh_from_db()
    return True


# --- the sweep ---------------------------------------------------------------------------------


def resume_stalled_imports(now, stalled_after=None):
    """Re-enqueue imports whose task was lost (a crash, the Redis broker); the cursor
    makes the resumed task start after the last committed row."""
    stalled_after = stalled_after or timedelta(
        minutes=int(flows_settings.ENROLLMENT_JOB_STALLED_MINUTES)
    )
    stalled = ContactImport.objects.filter(status__in=RUNNING, updated_at__lt=now - stalled_after)
    return resume_stalled(stalled, IMPORT_JOB_FUNC, now)
