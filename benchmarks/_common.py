"""Shared set-up for the benchmark scripts: settings, a throw-away database, medians.

Every script uses the test settings (``tests/settings.py``): a temporary SQLite file and
django-q2's ORM broker by default; PostgreSQL and the Redis broker on 127.0.0.1 with
``--postgres`` (the scale path of docs/scaling.md). The database is created at start and
dropped at the end; nothing outside it is touched. Our tables are made from the current
models (migrations generated into a throw-away package, as the test suite's dev mode does),
so a script runs from a clean checkout without any environment variable.
"""

import os
import statistics
import sys
import warnings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def setup_django(argv=None, *, cluster=False):
    """Configure Django for a benchmark run; ``--postgres`` in argv selects PostgreSQL and
    the Redis broker. ``cluster``: tasks go to real qcluster processes (django-q2 reads its
    ``sync`` flag at import, so it is set here, before Django starts)."""
    argv = sys.argv if argv is None else argv
    if "--postgres" in argv:
        os.environ["FLOWS_TEST_DB"] = "postgres"
        os.environ["FLOWS_TEST_BROKER"] = "redis"
    if cluster:
        os.environ["FLOWS_Q_SYNC"] = "0"
    os.environ.setdefault("FLOWS_TEST_SYNCDB", "1")
    os.environ.setdefault("FLOWS_RUN_ID", f"bench{os.getpid()}")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    if ROOT not in sys.path:
        sys.path.insert(0, ROOT)
    import logging

    import django

    django.setup()
    logging.getLogger("django-q").setLevel(logging.WARNING)  # not one line per enqueue


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
        with warnings.catch_warnings():  # the non-test database need not exist
            warnings.simplefilter("ignore", RuntimeWarning)
            call_command("makemigrations", "wagtail_flows", "testapp", verbosity=0)
    setup_test_environment()
    return connection.creation.create_test_db(verbosity=0, autoclobber=True)


def destroy_database(name):
    from django.db import connection

    connection.creation.destroy_test_db(name, verbosity=0)


def database_label():
    from django.conf import settings

    return settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]


def broker_label():
    from django.conf import settings

    return "redis" if "redis" in settings.Q_CLUSTER else "orm"


def verdict(met):
    return "MET" if met else "MISSED"


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


# --- fast set-up: many rows in one INSERT … SELECT ----------------------------------------


def insert_rows(model, count=0, *, start=0, columns=None, source=None, params=(), **values):
    """Insert rows of ``model`` in one ``INSERT … SELECT`` (1M contacts in seconds).

    Rows come from a series ``g`` = start … start+count-1 (``generate_series`` on PostgreSQL,
    a recursive CTE on SQLite), or from ``source`` (a ``FROM …`` clause with ``params``).
    ``columns`` maps a column to an SQL expression over the source (``"'c' || g"``; write
    ``%%`` for the modulo operator, as in any SQL run with parameters); every
    other column takes the field's default, or the value given in ``values`` by field name.
    Set-up only: what is measured always goes through the product's code.
    """
    from django.db import connection

    if source is None and count <= 0:
        return 0
    columns = columns or {}
    instance = model(**values)
    names, selects, select_params = [], [], []
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        names.append(connection.ops.quote_name(field.column))
        if field.column in columns:
            selects.append(columns[field.column])
        else:
            value = field.pre_save(instance, add=True)
            selects.append("%s")
            select_params.append(field.get_db_prep_save(value, connection))
    table = connection.ops.quote_name(model._meta.db_table)
    prefix, source, params = _series(connection, start, count, source, params)
    sql = f"{prefix}INSERT INTO {table} ({', '.join(names)}) SELECT {', '.join(selects)} {source}"
    with connection.cursor() as cursor:
        cursor.execute(sql, [*_prefix_params(prefix, start, count), *select_params, *params])
        return cursor.rowcount


def _series(connection, start, count, source, params):
    if source:
        return "", source, list(params)
    if connection.vendor == "postgresql":
        return "", f"FROM generate_series({start}, {start + count - 1}) AS s(g)", []
    prefix = "WITH RECURSIVE s(g) AS (SELECT %s UNION ALL SELECT g + 1 FROM s WHERE g < %s) "
    return prefix, "FROM s", []


def _prefix_params(prefix, start, count):
    return [start, start + count - 1] if prefix else []


def analyze():
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
