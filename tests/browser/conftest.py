"""Playwright driving Debian's chromium (never a downloaded browser) against a live server."""

import os
import pathlib

import pytest

# pytest-django's live_server runs the ORM from Playwright's event-loop thread.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = pathlib.Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="session")
def chromium(django_db_setup):
    from django.db import connections
    from playwright import sync_api as playwright_api

    if not os.path.exists(CHROMIUM):
        # Fail, never skip: a green run must mean the browser tests ran.
        pytest.fail(
            "Debian's chromium is missing: `apt-get install chromium`, "
            "or `make test-fast` to leave the browser tests out"
        )
    # Playwright runs an event loop in this thread, and Django then keeps its connections
    # per context: the tests from here on get new connection objects, which lack the
    # snapshot that serialized rollback restores from (and flushes without it re-create the
    # content types under new ids). Hand the snapshot on.
    snapshots = {
        alias: connections[alias]._test_serialized_contents
        for alias in connections
        if hasattr(connections[alias], "_test_serialized_contents")
    }
    with playwright_api.sync_playwright() as playwright:
        for alias, snapshot in snapshots.items():
            connections[alias]._test_serialized_contents = snapshot
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium):
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    yield context.new_page()
    context.close()


@pytest.fixture
def artifacts():
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def log_in(page, live_server, username, password):
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
