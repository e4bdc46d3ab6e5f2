import os

SETTINGS = "tests.existing_site.settings"
if os.environ.get("DJANGO_SETTINGS_MODULE") != SETTINGS:
    # Its own settings and apps: `make test-existing-site` runs this directory alone.
    collect_ignore_glob = ["*"]
