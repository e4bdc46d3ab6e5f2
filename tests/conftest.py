import pytest


@pytest.fixture(autouse=True)
def _flows_media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def contact(db):
    from tests.factories import ContactFactory

    return ContactFactory(email="ann@example.com", first_name="Ann", last_name="Lee")
