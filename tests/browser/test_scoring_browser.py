"""In a real browser: a marketer makes a scoring rule, picking its page in Wagtail's page
chooser; a known visitor views that page; the Contacts listing shows their score and grade,
and their timeline says which rule gave the points."""

import pytest
from django.contrib.auth.models import Permission
from django.test import RequestFactory
from playwright.sync_api import expect
from wagtail.models import Collection, GroupCollectionPermission

from tests.browser.conftest import log_in
from tests.conftest import make_staff_user
from tests.factories import ContactFactory, make_document, make_standard_page
from wagtail_flows import capture as tracking
from wagtail_flows.models import ScoringRule, ScoringSettings

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PERMISSIONS = (
    "add_scoringrule",
    "change_scoringrule",
    "view_scoringrule",
    "view_contact",
    "change_contact",
)
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"


def visitor_cookie(contact):
    request = RequestFactory(headers={"user-agent": BROWSER}).get("/")
    assert tracking.identify(request, contact)
    return request._flows_visitor.dumps()


def test_a_rule_made_with_the_page_chooser_scores_a_visit(live_server, page, artifacts):
    pricing = make_standard_page("Pricing")
    ann = ContactFactory(email="ann@example.com", first_name="Ann")
    make_staff_user("scorer", *PERMISSIONS)
    log_in(page, live_server, "scorer", "password")

    page.goto(f"{live_server.url}/admin/flows/scoring/create/")
    page.fill("#id_name", "Pricing page viewed")
    page.select_option("#id_event", "page_viewed")
    page.locator("#id_page-chooser").get_by_role("button").first.click()
    modal = page.locator(".modal-dialog")
    modal.locator("input[name=q]").fill("Pricing")
    modal.get_by_role("link", name="Pricing", exact=True).first.click()
    modal.wait_for(state="hidden")
    assert page.locator("#id_page-chooser").get_by_text("Pricing").first.is_visible()
    page.fill("#id_points", "60")
    page.screenshot(path=str(artifacts / "scoring-rule-form.png"), full_page=True)
    page.get_by_role("button", name="Save").first.click()
    page.wait_for_url(f"{live_server.url}/admin/flows/scoring/")
    assert ScoringRule.objects.get().page_id == pricing.pk

    visit = page.context.new_page()
    visit.context.add_cookies(
        [{"name": "flows_vid", "value": visitor_cookie(ann), "url": live_server.url}]
    )
    visit.goto(f"{live_server.url}{pricing.url}")
    visit.close()

    page.goto(f"{live_server.url}/admin/flows/contacts/?q=ann%40example.com")
    row = page.locator("tbody tr", has_text="ann@example.com")
    cells = [text.strip() for text in row.locator("td").all_inner_texts()]
    assert "60" in cells and "B" in cells, cells
    page.screenshot(path=str(artifacts / "scoring-contacts-grade.png"), full_page=True)

    page.goto(f"{live_server.url}/admin/flows/contacts/edit/{ann.pk}/")
    page.get_by_role("tab", name="Timeline").click()
    assert page.get_by_text("+60 Pricing page viewed (now 60)").is_visible()
    assert page.get_by_text("from D to B").is_visible()
    page.screenshot(path=str(artifacts / "scoring-timeline.png"), full_page=True)


def test_the_document_chooser_of_a_rule_opens_and_picks(live_server, page):
    make_document("Whitepaper", "whitepaper.pdf")
    scorer = make_staff_user("scorer", *PERMISSIONS)
    # Wagtail's document chooser lists the documents of collections the user may choose from
    GroupCollectionPermission.objects.create(
        group=scorer.groups.get(),
        collection=Collection.get_first_root_node(),
        permission=Permission.objects.get(codename="choose_document"),
    )
    log_in(page, live_server, "scorer", "password")
    page.goto(f"{live_server.url}/admin/flows/scoring/create/")
    page.locator("#id_document-chooser").get_by_role("button").first.click()
    modal = page.locator(".modal-dialog")
    modal.wait_for()
    modal.get_by_role("link", name="Whitepaper").first.click()
    modal.wait_for(state="hidden")
    assert page.locator("#id_document-chooser").get_by_text("Whitepaper").first.is_visible()


def test_lead_scoring_settings_name_the_band_that_is_wrong(live_server, page, artifacts):
    owner = make_staff_user("owner", "view_contact")
    owner.user_permissions.add(Permission.objects.get(codename="change_scoringsettings"))
    log_in(page, live_server, "owner", "password")
    page.goto(f"{live_server.url}/admin/settings/wagtail_flows/scoringsettings/")
    page.select_option("#id_decay", "points")
    page.fill("#id_grade_b", "150")
    page.get_by_role("button", name="Save").first.click()
    expect(page.get_by_text("Grade bands must fall: A above B above C")).to_be_visible()
    page.screenshot(path=str(artifacts / "scoring-settings-error.png"), full_page=True)
    assert page.locator("#id_grade_b").get_attribute("aria-invalid") == "true"
    assert ScoringSettings.load().grade_b == 50
