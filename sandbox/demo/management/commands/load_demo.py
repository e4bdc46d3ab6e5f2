"""``python manage.py load_demo``: the Green Spoon demo content. Safe to run again."""

from django.core.management.base import BaseCommand

from demo.loader import ADMIN_PASSWORD, ADMIN_USERNAME, DemoLoader


class Command(BaseCommand):
    help = "Load the sandbox's demo pages, e-book, forms, shop, emails and admin user."

    def handle(self, *args, **options):
        loader = DemoLoader(self.stdout)
        loader.load()
        if loader.created:
            self.stdout.write(f"Created {len(loader.created)} objects:")
            for line in loader.created:
                self.stdout.write(f"  - {line}")
        else:
            self.stdout.write("Demo content already loaded; nothing to do.")
        self.stdout.write(
            self.style.SUCCESS(
                "\nGreen Spoon is ready.\n"
                "  Site:  http://127.0.0.1:8000/\n"
                "  Admin: http://127.0.0.1:8000/admin/\n"
                f"  Login: {ADMIN_USERNAME} / {ADMIN_PASSWORD}\n"
            )
        )
