"""Playwright driving Debian's chromium (never a downloaded browser) against a live server.

Every ``page`` is watched: a test fails at teardown when the browser console logged an error,
the page threw, the live server answered 5xx, or Django logged an error (``django.request``,
``django.server``) while it ran. A test that expects one message says so, and only that one::

    @pytest.mark.browser_allows("status of 403")   # substrings of the expected messages
"""

import contextlib
import logging
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
USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0 Safari/537.36"
)
VIEWPORT = {"width": 1400, "height": 1000}
ARTIFACTS = pathlib.Path(__file__).resolve().parents[2] / "test-artifacts"
SERVER_LOGGERS = ("django.request", "django.server")


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "browser_allows(*texts): the page guard lets console errors, failed responses and "
        "server-log errors containing one of these texts pass (document why at the marker)",
    )


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


class PageGuard(logging.Handler):
    """Collects what went wrong while a test drove its pages, from both ends."""

    def __init__(self, allowed=()):
        super().__init__(level=logging.ERROR)
        self.allowed = tuple(allowed)
        self.problems = []

    def note(self, where, text):
        if not any(allowed in text for allowed in self.allowed):
            self.problems.append(f"{where}: {text}")

    def emit(self, record):
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            text += f" ({type(record.exc_info[1]).__name__}: {record.exc_info[1]})"
        self.note(f"server log [{record.name}]", text)

    def console(self, page, msg):
        if msg.type != "error":
            return
        source = (msg.location or {}).get("url") or page.url
        if source.endswith("/favicon.ico"):
            return  # Chromium asks every site for one; the test site has none
        where = page.url if source == page.url else f"{source} on {page.url}"
        self.note("browser console", f"{msg.text} (at {where})")

    def watch(self, page, server_url):
        page.on("console", lambda msg: self.console(page, msg))
        page.on("pageerror", lambda error: self.note("page error", f"{error} (at {page.url})"))
        page.on(
            "response",
            lambda response: (
                response.status >= 500
                and response.url.startswith(server_url)
                and self.note("server response", f"{response.status} for {response.url}")
            ),
        )

    @contextlib.contextmanager
    def allowing(self, *texts):
        """Let these texts pass inside the block only (a screen expected to answer 403)."""
        before = self.allowed
        self.allowed = before + texts
        try:
            yield
        finally:
            self.allowed = before

    def check(self):
        """Fail now with what was seen so far, and start afresh (one check per screen)."""
        problems, self.problems = self.problems, []
        assert not problems, "\n  ".join(["The page guard saw problems:", *problems])

    def report(self):
        return "The page guard saw problems (tests/browser/conftest.py):\n  " + "\n  ".join(
            self.problems
        )


@pytest.fixture
def page_guard(request):
    """The guard of this test; ``page_guard.problems.clear()`` forgets what a test provoked."""
    marker = request.node.get_closest_marker("browser_allows")
    guard = PageGuard(marker.args if marker else ())
    loggers = [logging.getLogger(name) for name in SERVER_LOGGERS]
    for logger in loggers:
        logger.addHandler(guard)
    yield guard
    for logger in loggers:
        logger.removeHandler(guard)
    if guard.problems:
        pytest.fail(guard.report(), pytrace=False)


def new_watched_context(browser, guard, server_url, **options):
    """A browser context with a desktop user agent whose every page the guard watches."""
    options.setdefault("viewport", VIEWPORT)
    options.setdefault("user_agent", USER_AGENT)
    context = browser.new_context(**options)
    context.on("page", lambda new_page: guard.watch(new_page, server_url))
    return context


@pytest.fixture
def page(chromium, page_guard, request):
    server_url = request.getfixturevalue("live_server").url
    context = new_watched_context(chromium, page_guard, server_url)
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
