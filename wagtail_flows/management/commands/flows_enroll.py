"""``manage.py flows_enroll FLOW --list NAME | --segment NAME | --email ADDRESS …``."""

import time

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from wagtail_flows.engine import enroll as enrolling
from wagtail_flows.models import Contact, ContactList, EnrollmentJob, Flow, Segment
from wagtail_flows.models.jobs import JobStatus

BAR_WIDTH = 30
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
        **options,
    ):
        flow_obj = _find_flow(flow)
        audience = _audience(list_name, segment_name, emails)
        try:
            job = enrolling.enroll_audience(flow_obj, background=not sync, **audience)
        except ValidationError as error:
            raise CommandError("; ".join(_messages(error))) from error
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
