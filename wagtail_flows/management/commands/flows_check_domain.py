"""``manage.py flows_check_domain``: is the From domain ready for the bulk-sender rules?"""

from django.core.management.base import BaseCommand, CommandError

from wagtail_flows.emails.domain import OK, check_domain

MARKS = {"ok": "ok     ", "warning": "warning", "problem": "MISSING", "unknown": "unknown"}


class Command(BaseCommand):
    help = (
        "Look up the sending domain's SPF, DMARC and DKIM records (needs DNS) and say what "
        "Gmail's and Yahoo's bulk-sender rules still miss. Exits 1 when something is missing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--domain", help="The domain to check (default: that of WAGTAIL_FLOWS FROM_EMAIL)."
        )
        parser.add_argument(
            "--dkim-selector",
            action="append",
            default=[],
            dest="selectors",
            help="The DKIM selector your provider signs with (repeatable). "
            "Without it, the usual selectors are tried.",
        )

    def handle(self, *args, domain=None, selectors=(), **options):
        report = check_domain(domain, selectors)
        if not report.domain:
            raise CommandError("No domain: set WAGTAIL_FLOWS['FROM_EMAIL'] or pass --domain.")
        self.stdout.write(f"Sending domain: {report.domain}")
        for finding in report.findings:
            style = self.style.SUCCESS if finding.level == OK else self.style.WARNING
            self.stdout.write(
                style(f"[{MARKS[finding.level]}] {finding.topic}: {finding.message}")
            )
            if finding.record:
                self.stdout.write(f"          record: {finding.record}")
            if finding.fix:
                self.stdout.write(f"          fix: {finding.fix}")
        if not report.ready:
            raise CommandError(
                f"{report.domain} is not ready for bulk sending: see docs/deliverability.md."
            )
        self.stdout.write(self.style.SUCCESS(f"{report.domain} meets the DNS rules we can check."))
