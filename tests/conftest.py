import os
import shutil

import pytest

OSCAR_SETTINGS = "tests.oscar_site.settings"
if os.environ.get("DJANGO_SETTINGS_MODULE") != OSCAR_SETTINGS:
    # django-oscar lives in its own venv: `make test-oscar` runs tests/oscar_site/ alone.
    collect_ignore = ["oscar_site"]


def pytest_sessionstart(session):
    if os.environ.get("FLOWS_TEST_SYNCDB"):
        from django.conf import settings
        from django.core.management import call_command

        module_dir = os.path.dirname(
            __import__("flows_devmig.wagtail_flows", fromlist=["x"]).__file__
        )
        root = os.path.dirname(module_dir)
        for app in ("wagtail_flows", "testapp"):
            for name in os.listdir(os.path.join(root, app)):
                if name.startswith("0"):
                    os.remove(os.path.join(root, app, name))
            shutil.rmtree(os.path.join(root, app, "__pycache__"), ignore_errors=True)
        from pytest_django.plugin import blocking_manager_key

        assert settings.MIGRATION_MODULES
        with session.config.stash[blocking_manager_key].unblock():
            call_command("makemigrations", "wagtail_flows", "testapp", verbosity=0)


def pytest_collection_modifyitems(items):
    """Every test that commits (``transaction=True``, ``transactional_db``, ``live_server``)
    runs with ``serialized_rollback``: the flush after it then leaves the content types to
    the next restore. A flush without it recreates them under new ids, and a later
    ``serialized_rollback`` test meets its saved ones as duplicates: the suite would
    depend on its order."""
    for item in items:
        marker = item.get_closest_marker("django_db")
        commits = {"transactional_db", "live_server"} & set(item.fixturenames)
        if marker and marker.kwargs.get("transaction"):
            commits = True
        if commits and not (marker and marker.kwargs.get("serialized_rollback")):
            kwargs = dict(marker.kwargs) if marker else {}
            kwargs.update(transaction=True, serialized_rollback=True)
            item.add_marker(pytest.mark.django_db(**kwargs), append=False)  # the closest


def _commits(item):
    marker = item.get_closest_marker("django_db")
    return bool(marker and marker.kwargs.get("transaction")) or "shared_db" in item.fixturenames


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """A committing test (or a browser module's shared data) ends with a flush that leaves
    the tables empty, content types and permissions included; pytest-django therefore runs
    such tests last. pytest-xdist (``make test``) sends each worker whole modules, so a
    worker may go on to a test that expects the migrations' rows: put them back first."""
    yield
    if not _commits(item) or nextitem is None or _commits(nextitem):
        return
    if nextitem.get_closest_marker("django_db") is None and "db" not in nextitem.fixturenames:
        return
    from django.contrib.contenttypes.models import ContentType
    from django.db import connections
    from pytest_django.plugin import blocking_manager_key

    with item.config.stash[blocking_manager_key].unblock():
        for connection in connections.all():
            saved = getattr(connection, "_test_serialized_contents", None)
            if saved and not ContentType.objects.using(connection.alias).exists():
                connection.creation.deserialize_db_from_string(saved)
        ContentType.objects.clear_cache()


def pytest_report_header(config):
    from django.conf import settings

    db = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    broker = "redis" if "redis" in settings.Q_CLUSTER else "orm"
    return f"wagtail-flows: database={db}, django-q2 broker={broker}"


@pytest.fixture(autouse=True)
def _flows_media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture(autouse=True)
def _wagtail_root_and_site(request):
    """Transactional tests flush the tables, taking the root page and default Site that
    Wagtail's migrations create; put them back for the tests that follow."""
    if not ({"db", "transactional_db"} & set(request.fixturenames)) and not (
        request.node.get_closest_marker("django_db")
    ):
        return
    request.getfixturevalue(
        "transactional_db" if "transactional_db" in request.fixturenames else "db"
    )
    from django.contrib.contenttypes.models import ContentType
    from wagtail.models import Locale, Page, Site

    # A test that changed a Site with a queryset update (no signal) leaves Wagtail's cached
    # site root paths (the process-wide cache) pointing at its host: forget them.
    Site.clear_site_root_paths_cache()
    if Site.objects.exists():
        return
    ContentType.objects.clear_cache()  # the flush took the rows the cache still names
    locale, _ = Locale.objects.get_or_create(language_code="en")
    root = Page.get_first_root_node() or Page.add_root(title="Root", locale=locale)
    home = root.add_child(instance=Page(title="Welcome", slug="home", locale=locale))
    Site.objects.create(hostname="localhost", root_page=home, is_default_site=True)


@pytest.fixture
def contact(db):
    from tests.factories import ContactFactory

    return ContactFactory(email="ann@example.com", first_name="Ann", last_name="Lee")


# --- admin (tests/test_admin*.py, tests/test_panels*.py) --------------------------------------


def make_staff_user(username, *codenames):
    """An admin user (wagtailadmin.access_admin) in a group holding these permissions."""
    from django.contrib.auth.models import Group, Permission, User

    group = Group.objects.create(name=f"{username} group")
    group.permissions.add(Permission.objects.get(codename="access_admin"))
    group.permissions.add(*Permission.objects.filter(codename__in=codenames))
    user = User.objects.create_user(username, f"{username}@example.com", "password")
    user.groups.add(group)
    return user


EDITOR_PERMISSIONS = ("add_flow", "change_flow", "view_flow")


@pytest.fixture
def flows_editor(db):
    """May draft and edit flows, but not put them live (no activate_flow)."""
    return make_staff_user("editor", *EDITOR_PERMISSIONS)


@pytest.fixture
def flows_publisher(db):
    return make_staff_user("publisher", *EDITOR_PERMISSIONS, "activate_flow")


# --- end admin ---------------------------------------------------------------------------------


# --- engine-core -------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _fresh_listening_index():
    """Each test's flows are rolled back with its database: the engine's in-process index
    starts every test empty (and warm: no flow exists before a test creates one)."""
    from wagtail_flows.engine import dispatch

    dispatch.reset_index()
    yield
    dispatch.reset_index()


# --- end engine-core ---------------------------------------------------------------------------


@pytest.fixture
def premailer_runs(monkeypatch):
    """A list that grows by one each time premailer inlines a page."""

    runs = []

    from wagtail_flows.emails import rendering

    class CountingPremailer(rendering.Premailer):
        def transform(self, *args, **kwargs):
            runs.append(1)
            return super().transform(*args, **kwargs)

    monkeypatch.setattr(rendering, "Premailer", CountingPremailer)
    return runs
