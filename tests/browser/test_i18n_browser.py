"""In a real browser, a flow editor whose Wagtail language is French: the flow editor, its
block menus and the diagram drawn live beside it speak French, and none of our sentences is
left in English, including those the page's scripts draw."""

import uuid

import pytest
from playwright.sync_api import expect
from wagtail.users.models import UserProfile

from tests.browser.conftest import log_in
from tests.browser.test_diagram_browser import welcome_series
from tests.conftest import EDITOR_PERMISSIONS, make_staff_user
from tests.test_i18n import left_in_english

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

DOCS_SHOT = "docs/img/admin-fr-flow-editor.png"


def raw(type_, value):
    return {"type": type_, "value": value, "id": str(uuid.uuid4())}


@pytest.fixture
def french_editor(transactional_db):
    user = make_staff_user("redacteur", *EDITOR_PERMISSIONS)
    profile = UserProfile.get_for_user(user)
    profile.preferred_language = "fr"
    profile.save()
    return user


def test_the_flow_editor_and_its_diagram_in_french(live_server, page, french_editor):
    flow = welcome_series("Série de bienvenue", "Bienvenue à bord", "L'offre des membres", "froid")
    errors = []
    page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    log_in(page, live_server, "redacteur", "password")
    page.goto(f"{live_server.url}/admin/flows/edit/{flow.pk}/")
    diagram = page.locator("[data-wf-diagram]")
    expect(diagram).to_contain_text("Inscrit à la main")
    expect(diagram).to_contain_text("Envoyer « Bienvenue à bord »")
    expect(diagram).to_contain_text("Attendre 2 jours")
    expect(diagram).to_contain_text("Si A cliqué dans « Bienvenue à bord »")

    # A step added from the block menu (its labels come from the page's scripts) is drawn
    # at once, marked as unfinished, in French.
    page.get_by_role("tab", name="Étapes").click()
    page.locator('[id="steps-root"] .c-sf-add-button').last.click()
    page.get_by_role("option", name="Envoyer un e-mail", exact=True).click()
    marked = diagram.locator(".wf-node--error")
    expect(marked).to_have_count(1)
    expect(marked).to_contain_text("Envoyer un e-mail (aucun choisi)")
    expect(diagram.locator("[data-node-errors]")).to_contain_text("Choisissez un e-mail.")
    assert left_in_english(page.content()) == []

    page.locator("h1").first.scroll_into_view_if_needed()
    page.screenshot(path=DOCS_SHOT)
    assert errors == []
