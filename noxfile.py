"""The Wagtail matrix (docs/compatibility.md): the suite on Wagtail 7.4 LTS and on 8.x.

    nox                      # both sessions, each the whole suite
    nox -s wagtail74         # one of them
    nox -s wagtail74 -- -m "not browser and not cluster"    # arguments after -- go to pytest

Each session installs the package into a venv of its own with that Wagtail pinned, then runs
the test command of `make test` (pytest gets the arguments after --). Lint is left to
`make lint`: ruff and import-linter say the same on every Wagtail. The database and broker
follow FLOWS_TEST_DB / FLOWS_TEST_BROKER as usual.
"""

import nox

nox.options.sessions = ["wagtail74", "wagtail8"]

DJANGO = "django>=5.2,<5.3"
VERSIONS = (
    "import django, wagtail; print('Wagtail', wagtail.__version__, 'Django', django.__version__)"
)


def run_suite(session: nox.Session, wagtail: str) -> None:
    session.install("-e", ".[test]", wagtail, DJANGO)
    session.run("python", "-c", VERSIONS)
    # The Makefile's `test` recipe without its `lint` prerequisite.
    session.run("python", "-W", "error::DeprecationWarning", "-m", "pytest", *session.posargs)


@nox.session
def wagtail74(session: nox.Session) -> None:
    """Wagtail 7.4 LTS (what most production sites run)."""
    run_suite(session, "wagtail>=7.4,<7.5")


@nox.session
def wagtail8(session: nox.Session) -> None:
    """Wagtail 8.x."""
    run_suite(session, "wagtail>=8.0,<9")
