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
def browser_db(django_db_setup, django_db_blocker):
    """pytest-django creates the test database only when a collected test asks it for one;
    a run of the walks that share their data (``shared_db``) alone asks for none, so then
    it is made here, serialized as for ``live_server`` tests."""
    from django.db import connection
    from django.test.utils import setup_databases, teardown_databases

    with django_db_blocker.unblock():
        made = "django_migrations" not in connection.introspection.table_names()
        if made:
            config = setup_databases(
                verbosity=0, interactive=False, aliases={"default"}, serialized_aliases={"default"}
            )
    yield
    if made:
        with django_db_blocker.unblock():
            teardown_databases(config, verbosity=0)


@pytest.fixture(scope="session")
def chromium(browser_db):
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


def show_plain_text(page, subject):
    """Choose the email editor's plain-text preview and wait for ``subject`` in it. A preview
    refresh still in flight from the last edit can reload the iframe in the old mode
    (Wagtail's preview panel), so choose it again once if the text does not come."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    shown = page.frame_locator("#w-preview-iframe").get_by_text(subject).first
    page.select_option("#id_preview_mode", "text")
    try:
        shown.wait_for(timeout=10_000)
    except PlaywrightTimeout:
        page.select_option("#id_preview_mode", "email")
        page.select_option("#id_preview_mode", "text")
        shown.wait_for()


def log_in(page, live_server, username, password):
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")


# --- one data set, one server and one login per module (the walks) ---------------------------
#
# A ``live_server`` test flushes the database after it and restores the migrations' rows
# (serialized rollback) before the next: seconds each, and a walk module has dozens. The
# walks instead share, per module, one transactional data set (made once, flushed once, the
# same serialized rollback as a ``live_server`` test, so both kinds mix in any order), a live
# server of their own, and one browser context per user, logged in once (its session cookie
# and its cache of the admin's static files reused by every test):
#
#     @pytest.fixture(scope="module")
#     def content(shared_db): ...                    # the module's data, built once
#
#     def test_x(shared_server, user_page, content):
#         page = user_page("flow-editor")            # logged in, watched by the page guard
#
# Their tests carry no ``django_db`` marker (pytest-django runs them after the transactional
# tests, the module's tests together) and must not request ``live_server`` or ``db``.


@pytest.fixture(scope="module")
def shared_db(chromium, django_db_blocker, tmp_path_factory):
    """The database, open to the whole module: the migrations' rows restored at the start,
    everything flushed at the end (serialized rollback, as a ``live_server`` test). The
    module's media files live as long as its data."""
    from django.test import TransactionTestCase, override_settings

    class SharedData(TransactionTestCase):
        serialized_rollback = True

        def runTest(self):  # pragma: no cover - never run, only set up and torn down
            pass

    media = override_settings(MEDIA_ROOT=str(tmp_path_factory.mktemp("shared-media")))
    with django_db_blocker.unblock():
        SharedData.setUpClass()
        case = SharedData()
        case._pre_setup()
        media.enable()
        _put_back_the_wagtail_site()
        try:
            yield
        finally:
            media.disable()
            case._post_teardown()
            SharedData.tearDownClass()
            SharedData.doClassCleanups()


def _put_back_the_wagtail_site():
    """The root page and default Site (tests/conftest.py ``_wagtail_root_and_site``)."""
    from django.contrib.contenttypes.models import ContentType
    from wagtail.models import Locale, Page, Site

    ContentType.objects.clear_cache()
    if Site.objects.exists():
        return
    locale, _ = Locale.objects.get_or_create(language_code="en")
    root = Page.get_first_root_node() or Page.add_root(title="Root", locale=locale)
    home = root.add_child(instance=Page(title="Welcome", slug="home", locale=locale))
    Site.objects.create(hostname="localhost", root_page=home, is_default_site=True)


@pytest.fixture(scope="module")
def shared_server(shared_db):
    """A live server of the module's own (pytest-django's ``live_server`` would make every
    test that asks for it transactional); ``.url`` as ``live_server.url``."""
    from pytest_django.live_server_helper import LiveServer

    server = LiveServer("localhost")
    server._live_server_modified_settings.enable()
    yield server
    server._live_server_modified_settings.disable()
    server.stop()


@pytest.fixture(scope="module")
def browsers(chromium, shared_server):
    """``browsers(username)``: the module's browser context of that user (password
    "password", as ``make_staff_user`` gives), who logs in through the admin's login form
    once, under a page guard of its own (``None``: an anonymous visitor). Its HTTP cache
    keeps the admin's scripts and styles between tests."""
    contexts = {}

    def context_of(username):
        if username not in contexts:
            context = chromium.new_context(viewport=VIEWPORT, user_agent=USER_AGENT)
            if username:
                guard = PageGuard()
                page = context.new_page()
                guard.watch(page, shared_server.url)
                log_in(page, shared_server, username, "password")
                page.close()
                assert not guard.problems, guard.report()
            contexts[username] = context
        return contexts[username]

    yield context_of
    for context in contexts.values():
        context.close()


@pytest.fixture
def user_page(browsers, page_guard, shared_server):
    """``user_page(username)``: a new page of that user's logged-in browser; this test's
    page guard watches it and every page it opens, and they are closed after the test."""
    pages, watched = [], []

    def watch(new_page):
        page_guard.watch(new_page, shared_server.url)
        pages.append(new_page)

    def open_page(username):
        context = browsers(username)
        if context not in watched:
            context.on("page", watch)
            watched.append(context)
        return context.new_page()

    yield open_page
    for opened in pages:
        opened.close()
    for context in watched:
        context.remove_listener("page", watch)


@pytest.fixture(autouse=True)
def _flows_media(request, settings, tmp_path):
    """tests/conftest.py's: each test's media in its own directory, but a module sharing its
    data (``shared_db``) keeps the media of that data."""
    if "shared_db" not in request.fixturenames:
        settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture(autouse=True)
def _fresh_listening_index(request):
    """tests/conftest.py's: the engine's index starts each test empty, as no flow exists
    then; with a module's shared data flows do exist, so it is rebuilt from them."""
    from wagtail_flows.engine import dispatch

    reset = _rebuild_index if "shared_db" in request.fixturenames else dispatch.reset_index
    reset()
    yield
    reset()


def _rebuild_index():
    from wagtail_flows.flows import tree
    from wagtail_flows.models import listening

    tree._cache.clear()
    listening.invalidate()
