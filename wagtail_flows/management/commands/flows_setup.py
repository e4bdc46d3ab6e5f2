"""``manage.py flows_setup``: create (or repair) the one django-q2 schedule of the sweep."""

from django.core.management.base import BaseCommand

from wagtail_flows.engine.tasks import ensure_schedule


class Command(BaseCommand):
    help = "Create the sweep schedule for the django-q2 cluster (safe to run again)."

    def handle(self, *args, **options):
        from django_q.conf import Conf

        schedule, created = ensure_schedule()
        verb = "Created" if created else "Checked"
        self.stdout.write(
            self.style.SUCCESS(
                f"{verb} the schedule “{schedule.name}”: every {schedule.minutes} minute(s), "
                f"next run {schedule.next_run:%Y-%m-%d %H:%M:%S %Z}."
            )
        )
        if Conf.CATCH_UP:
            self.stdout.write(
                self.style.WARNING(
                    "Q_CLUSTER['catch_up'] is on: after downtime django-q2 replays missed "
                    "runs; the sweep skips them, but set 'catch_up': False to avoid the noise."
                )
            )
