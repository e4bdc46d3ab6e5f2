import os
import shutil

import pytest


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


def pytest_report_header(config):
    from django.conf import settings

    db = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    broker = "redis" if "redis" in settings.Q_CLUSTER else "orm"
    return f"wagtail-flows: database={db}, django-q2 broker={broker}"


@pytest.fixture(autouse=True)
def _flows_media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def contact(db):
    from tests.factories import ContactFactory

    return ContactFactory(email="ann@example.com", first_name="Ann", last_name="Lee")
