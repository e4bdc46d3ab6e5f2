"""``manage.py flows_import FILE [--map COLUMN=TARGET …] [--consent …] [--list NAME] …``."""

import os
import time

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from wagtail_flows.engine import import_files as files
from wagtail_flows.engine import imports as importing
from wagtail_flows.models import ContactImport, ContactList
from wagtail_flows.vocabulary import ImportConsent, ImportExisting, ImportStatus

BAR_WIDTH = 30
WATCH_SECONDS = 1
PROBLEMS_SHOWN = 20


class Command(BaseCommand):
    help = (
        "Import contacts from a CSV or XLSX file, as Contacts › Import contacts does: every "
        "row is checked first, and a file with errors changes nothing unless --valid-rows. "
        "By default the job runs in the django-q2 cluster (watch it in the admin); --sync "
        "runs it here with a progress bar."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="The CSV or XLSX file.")
        parser.add_argument(
            "--map",
            dest="maps",
            action="append",
            default=[],
            metavar="COLUMN=TARGET",
            help="What a column holds: email, first_name, last_name, full_name, source, "
            "timezone, tags, property:<key> or ignore (repeat). Columns not named are "
            "guessed from their names, as the admin does.",
        )
        parser.add_argument(
            "--consent",
            choices=ImportConsent.values,
            default=ImportConsent.CONFIRM,
            help="stated: subscribed, on the --basis; confirm (default): pending, each "
            "asked to confirm by email; none: pending, nothing sent.",
        )
        parser.add_argument("--basis", default="", help="The basis of a stated consent.")
        parser.add_argument(
            "--existing",
            choices=ImportExisting.values,
            default=ImportExisting.UPDATE,
            help="Addresses already in your contacts: update their values or skip them.",
        )
        parser.add_argument("--list", dest="list_name", help="Add them to this contact list.")
        parser.add_argument(
            "--valid-rows",
            action="store_true",
            help="Import the rows without errors even if some rows have errors.",
        )
        parser.add_argument("--sync", action="store_true", help="Run the import here.")
        parser.add_argument(
            "--watch",
            action="store_true",
            help="Show the cluster's progress until the import ends (Ctrl-C stops watching).",
        )

    def handle(self, *args, file, **options):
        contact_import = self._create(file)
        self._choose(contact_import, options)
        try:
            importing.start_import(contact_import, background=not options["sync"])
        except ValidationError as error:
            contact_import.delete()
            raise CommandError("; ".join(_messages(error))) from error
        self._show_mapping(contact_import)
        if options["sync"]:
            importing.run_import(contact_import.pk, progress_callback=self._progress)
        else:
            self.stdout.write(
                f"Import {contact_import.pk} runs in the django-q2 cluster; follow it in the "
                "admin (Contacts › Import contacts)."
            )
            if not options["watch"]:
                return
            self._watch(contact_import.pk)
        contact_import.refresh_from_db()
        self.stdout.write("")
        self._report(contact_import)

    def _create(self, path):
        try:
            with open(path, "rb") as handle:
                content = handle.read()
        except OSError as error:
            raise CommandError(f"Cannot read {path}: {error.strerror}.") from error
        try:
            contact_import, _preview = importing.create_import(os.path.basename(path), content)
        except ValidationError as error:
            raise CommandError("; ".join(_messages(error))) from error
        return contact_import

    def _choose(self, contact_import, options):
        mapping = dict(contact_import.mapping)
        for item in options["maps"]:
            column, sep, target = item.partition("=")
            if not sep or column not in mapping:
                contact_import.delete()
                known = ", ".join(contact_import.columns)
                raise CommandError(f"--map {item}: no column “{column}” (columns: {known}).")
            mapping[column] = target.strip() or files.IGNORE
        contact_import.mapping = mapping
        contact_import.consent = options["consent"]
        contact_import.consent_basis = options["basis"].strip()
        contact_import.existing = options["existing"]
        contact_import.import_valid_rows = options["valid_rows"]
        if options["list_name"]:
            contact_list = ContactList.objects.filter(name=options["list_name"]).first()
            if contact_list is None:
                contact_import.delete()
                raise CommandError(f"No contact list named “{options['list_name']}”.")
            contact_import.contact_list = contact_list

    def _show_mapping(self, contact_import):
        self.stdout.write(f"Importing {contact_import.total_rows} row(s) of {contact_import}:")
        for column in contact_import.columns:
            self.stdout.write(f"  {column} → {contact_import.mapping.get(column, 'ignore')}")

    def _watch(self, import_id):
        while True:
            contact_import = ContactImport.objects.get(pk=import_id)
            self._progress(contact_import)
            if contact_import.status not in importing.RUNNING:
                return
            time.sleep(WATCH_SECONDS)

    def _progress(self, contact_import):
        percent = importing.progress(contact_import)
        filled = int(BAR_WIDTH * percent / 100)
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        label = contact_import.get_status_display()
        self.stdout.write(f"\r[{bar}] {percent:3d}% {label}", ending="")
        self.stdout.flush()

    def _report(self, contact_import):
        problems = list(contact_import.problems.all()[:PROBLEMS_SHOWN])
        for problem in problems:
            self.stdout.write(f"row {problem.line}, {problem.column}: {problem.reason}")
        more = contact_import.problems.count() - len(problems)
        if more > 0:
            self.stdout.write(f"… and {more} more (the admin's job page has them all, as CSV).")
        if contact_import.status == ImportStatus.FAILED:
            raise CommandError(f"The import failed: {contact_import.error}")
        if contact_import.status == ImportStatus.HAS_ERRORS:
            raise CommandError(
                f"{contact_import.problem_count} row(s) have errors: nothing was imported. "
                "Fix the file, or run again with --valid-rows."
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Done: {contact_import.created_count} new, {contact_import.updated_count} "
                f"updated, {contact_import.skipped_count} skipped, "
                f"{contact_import.problem_count} with errors."
            )
        )


def _messages(error):
    if hasattr(error, "message_dict"):
        return [f"{field}: {' '.join(msgs)}" for field, msgs in error.message_dict.items()]
    return error.messages
