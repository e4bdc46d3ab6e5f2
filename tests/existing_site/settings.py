"""Riverside Gardens with wagtail-flows added by the README's own settings snippet (read from
README.md at start-up: ``readme.py``), then what a test run needs and nothing more."""

from tests.existing_site import readme
from tests.existing_site.site_settings import *  # noqa: F403

exec(readme.settings_snippet())  # noqa: S102  (the README's block, as a developer pastes it)

# --- tests only -------------------------------------------------------------------------------
# django-q2 reads its Conf at import: tasks run in-process here, as in the main test settings.
Q_CLUSTER["sync"] = True  # noqa: F405
Q_CLUSTER["save_limit"] = 0  # noqa: F405
