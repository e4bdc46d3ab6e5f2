"""``manage.py flows_enroll FLOW --list NAME | --segment NAME | --email ADDRESS …``."""

import time
from argparse import ArgumentTypeError
from datetime import datetime

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from wagtail_flows.engine import enroll as enrolling
from wagtail_flows.engine.timing import local_instant, site_timezone
from wagtail_flows.models import Contact, ContactList, EnrollmentJob, Flow, Segment
from wagtail_flows.models.jobs import JobStatus, Repeat

BAR_WIDTH = 30
TIME_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M%z", "%Y-%m-%dT%H:%M%z")
WATCH_SECONDS = 1


class Command(BaseCommand):
    help = (
        "Enroll a list, a segment or chosen contacts into a flow. By default the batches run "
        "in the django-q2 cluster (watch the job in the admin); --sync runs them here."
    )

    def add_arguments(self, parser):
        parser.add_argument("flow", help="The flow's name or id.")
        audience = parser.add_mutually_exclusive_group(required=True)
        audience.add_argument("--list", dest="list_name", help="A contact list's name.")
        audience.add_argument("--segment", dest="segment_name", help="A segment's name.")
        audience.add_argument(
            "--email",
            dest="emails",
            action="append",
            help="A contact's email address (repeat, or separate with commas).",
        )
        parser.add_argument(
            "--sync", action="store_true", help="Enroll in this process, with a progress bar."
        )
        parser.add_argument(
            "--at",
            dest="start_at",
            type=_aware_datetime,
            help="Start then instead of now: 'YYYY-MM-DD HH:MM' in the site's time zone (or "
            "with a UTC offset). The sweep starts it.",
        )
        parser.add_argument(
            "--repeat",
            choices=[value for value in Repeat.values if value],
            default="",
            help="With --at: enroll the list or segment again every week or month.",
        )
        parser.add_argument(
            "--watch",
            action="store_true",
            help="Show the cluster's progress until the job is done (Ctrl-C stops watching, "
            "not the job).",
        )

    def handle(  # noqa: PLR0913
        self,
        *args,
        flow,
        list_name=None,
        segment_name=None,
        emails=None,
        sync=False,
        watch=False,
        start_at=None,
        repeat="",
        **options,
    ):
        flow_obj = _find_flow(flow)
        audience = _audience(list_name, segment_name, emails)
        try:
            job = enrolling.enroll_audience(
                flow_obj, background=not sync, start_at=start_at, repeat=repeat, **audience
            )
        except ValidationError as error:
            raise CommandError("; ".join(_messages(error))) from error
        if job.scheduled_at:
            when = job.scheduled_at.astimezone(site_timezone()).strftime("%Y-%m-%d %H:%M %Z")
            again = f", then {job.get_repeat_display().lower()}" if job.repeat else ""
            self.stdout.write(
                f"Scheduled job {job.pk}: {job.audience_label} enters “{flow_obj}” at "
                f"{when}{again}. The sweep of the django-q2 cluster starts it."
            )
            return
        self.stdout.write(
            f"Enrolling {job.total} contact(s) from {job.audience_label} into “{flow_obj}”."
        )
        if not sync:
            self.stdout.write(
                f"Job {job.pk} runs in the django-q2 cluster; follow it in the admin (Flows)."
            )
            if not watch:
                return
            job = self._watch(job.pk)
        else:
            enrolling.run_job(job, progress=self._progress)
            job.refresh_from_db()
        self.stdout.write("")
        if job.status == JobStatus.FAILED:
            raise CommandError(f"The job failed: {job.error}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Done: {job.enrolled} enrolled, {job.skipped} skipped "
                "(already in the flow, re-entry or entry conditions)."
            )
        )

    def _watch(self, job_id):
        """The job as the cluster advances it, until it is done or failed."""
        while True:
            job = EnrollmentJob.objects.get(pk=job_id)
            self._progress(job)
            if job.status in (JobStatus.DONE, JobStatus.FAILED):
                return job
            time.sleep(WATCH_SECONDS)

    def _progress(self, job):
        filled = int(BAR_WIDTH * job.percent / 100)
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        self.stdout.write(f"\r[{bar}] {job.percent:3d}% {job.done}/{job.total}", ending="")
        self.stdout.flush()


def _find_flow(value):
    flows = Flow.objects.filter(name=value)
    if value.isdigit():
        flows = Flow.objects.filter(pk=int(value)) | flows
    found = list(flows[:2])
    if len(found) != 1:
        problem = "No flow" if not found else "More than one flow"
        raise CommandError(f"{problem} named “{value}”; give its id instead.")
    return found[0]


def _audience(list_name, segment_name, emails):
    if list_name is not None:
        contact_list = ContactList.objects.filter(name=list_name).first()
        if contact_list is None:
            raise CommandError(f"No contact list named “{list_name}”.")
        return {"contact_list": contact_list}
    if segment_name is not None:
        segment = Segment.objects.filter(name=segment_name).first()
        if segment is None:
            raise CommandError(f"No segment named “{segment_name}”.")
        return {"segment": segment}
    ids, missing = Contact.objects.ids_for_emails(a for item in emails for a in item.split(","))
    if missing:
        raise CommandError(f"No contact with the email {', '.join(missing)}; nothing enrolled.")
    return {"contact_ids": ids}


def _messages(error):
    if hasattr(error, "message_dict"):
        return [f"{field}: {' '.join(msgs)}" for field, msgs in error.message_dict.items()]
    return error.messages


def _aware_datetime(text):
    for fmt in TIME_FORMATS:
        try:
            moment = datetime.strptime(text.strip(), fmt)
        except ValueError:
            continue
        if moment.tzinfo is None:
            moment = local_instant(moment.date(), moment.time(), site_timezone())
        return moment
    raise ArgumentTypeError(f"{text!r} is not a time such as '2026-12-10 09:00'.")
