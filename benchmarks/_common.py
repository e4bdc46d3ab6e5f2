"""Shared set-up for the benchmark scripts: settings, a throw-away database, medians.

Every script uses the test settings (``tests/settings.py``): a temporary SQLite file by
default, PostgreSQL on 127.0.0.1 with ``--postgres``. The database is created at start and
dropped at the end; nothing outside it is touched.
"""

import os
import statistics
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def setup_django(argv=None):
    """Configure Django for a benchmark run; ``--postgres`` in argv selects PostgreSQL."""
    argv = sys.argv if argv is None else argv
    if "--postgres" in argv:
        os.environ["FLOWS_TEST_DB"] = "postgres"
    os.environ.setdefault("FLOWS_TEST_SYNCDB", "1")
    os.environ.setdefault("FLOWS_RUN_ID", f"bench{os.getpid()}")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    if ROOT not in sys.path:
        sys.path.insert(0, ROOT)
    import django

    django.setup()


def create_database():
    """A fresh test database with our tables (migrations generated into a temp package when
    FLOWS_TEST_SYNCDB is set, as the test suite does). Returns its name."""
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import setup_test_environment

    if os.environ.get("FLOWS_TEST_SYNCDB"):
        package = __import__("flows_devmig.wagtail_flows", fromlist=["x"])
        folder = os.path.dirname(os.path.dirname(package.__file__))
        for app in ("wagtail_flows", "testapp"):
            for name in os.listdir(os.path.join(folder, app)):
                if name.startswith("0"):
                    os.remove(os.path.join(folder, app, name))
        call_command("makemigrations", "wagtail_flows", "testapp", verbosity=0)
    setup_test_environment()
    return connection.creation.create_test_db(verbosity=0, autoclobber=True)


def destroy_database(name):
    from django.db import connection

    connection.creation.destroy_test_db(name, verbosity=0)


def database_label():
    from django.conf import settings

    return settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]


def median(values):
    return statistics.median(values) if values else float("nan")


def load_line():
    one, five, _ = os.getloadavg()
    return f"load average 1/5 min: {one:.1f}/{five:.1f} on {os.cpu_count()} cores (shared)"


def realistic_body(sections=12):
    """An email body of about 25 KB of HTML: headings, text with links, buttons, quotes."""
    body = [("heading", "Our spring collection is here")]
    paragraph = (
        "<p>Hello again! We picked these for you, {{ contact.first_name }}. "
        '<a href="https://shop.example.com/new">New arrivals</a>, '
        '<a href="https://shop.example.com/sale">the sale</a> and '
        "<b>free delivery</b> over 50 euros. " + "Lorem ipsum dolor sit amet. " * 12 + "</p>"
    )
    for index in range(sections):
        body.append(("heading", f"Section {index + 1}"))
        body.append(("text", paragraph))
        body.append(
            (
                "button",
                {
                    "text": f"Shop section {index + 1}",
                    "url": f"https://shop.example.com/s/{index}",
                    "align": "center",
                },
            )
        )
        body.append(
            ("quote", {"quote": "Great service, fast delivery.", "author": "Ann", "role": ""})
        )
    return body
