"""Every admin screen of wagtail-flows, and its public pages, open in Chromium without a 5xx,
a console error or an error in the server log — for a superuser, and for a marketer who has
only the marketer's permissions and meets a clean 403 (or a redirect) where they may not go.

The module builds the data once (tests/browser/conftest.py ``shared_db``); one test per role
walks every screen, logged in once; each screen is a sub-test named after it, so a failure
reads "[marketer] contact erase: ...". The listings come from the "Flows" admin menu, and
their filters from each listing's own filter links."""

import contextlib
import dataclasses
import re

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone
from wagtail.models import Site

from tests.browser.screens import doc_screenshot
from tests.conftest import EDITOR_PERMISSIONS, make_staff_user
from tests.factories import ContactListFactory, make_document, make_form_page
from tests.test_admin_versions import live_flow
from tests.test_reports import build_history
from wagtail_flows.emails import tokens
from wagtail_flows.emails.confirmation import confirm_path
from wagtail_flows.models import ConsentRecord, Contact, EmailPage, Flow, Segment

pytestmark = pytest.mark.browser

# What a marketer's group holds: draft and edit flows, read the audience and the messages,
# make lists for templates; never activate, delete, change contacts or erase them.
MARKETER_PERMISSIONS = (
    *EDITOR_PERMISSIONS,
    "view_contact",
    "view_contactlist",
    "add_contactlist",
    "view_segment",
    "view_message",
)
FORBIDDEN = "forbidden"  # a clean 403, or a redirect away from the screen
FORBIDDEN_CONSOLE = "status of 403"  # Chromium's console line for a refused document


# Screens whose picture docs/ shows: name -> (file in docs/img, viewport height, tab to open).
DOC_SHOTS = {
    "menu: Flows": ("admin-flows-listing.png", 900, None),
    "menu: Contacts": ("admin-contacts-listing.png", 900, None),
    "contact edit (timeline)": ("admin-contact-timeline.png", 1400, "Timeline"),
    "flow changes": ("admin-flow-changes.png", 1100, None),
    "flow pause": ("admin-flow-pause.png", 800, None),
    "flow report": ("reports.png", 2600, None),
    "template gallery": ("admin-template-gallery.png", 1800, None),
    "flow tester run": ("admin-flow-tester.png", 1400, None),
}


@dataclasses.dataclass
class Screen:
    name: str
    url: str
    marketer: str = "ok"  # or FORBIDDEN
    shows: str = ""  # a text a person sees on it (superuser)
    download: bool = False


# --- the data: one of everything a screen shows ------------------------------------------


def build_walk_data(live_server):
    # The site's root URL is the live server's, as on a real site: emails link back to it.
    Site.objects.filter(is_default_site=True).update(port=int(live_server.url.rsplit(":", 1)[1]))
    make_staff_user("marketer", *MARKETER_PERMISSIONS)
    owner = User.objects.create_superuser("owner", "owner@example.com", "password")
    history = build_history()
    for person in Contact.objects.all():  # addresses as people have them, for the pictures
        name = re.sub(r"[^a-z.]", "", f"{person.first_name}.{person.last_name}".lower())
        person.email = f"{name}{person.pk}@example.com"
        person.save(update_fields=["email"])
    flow = history.flow
    spring, spring_page = live_flow()
    edited = spring.editable_version()
    edited.name = "Spring offer (new wording)"
    edited.save_draft(user=owner)
    draft = Flow.objects.create(name="Autumn draft")
    contact = flow.enrollments.order_by("pk").first().contact
    members = ContactListFactory(name="Customers")
    members.contacts.add(contact)
    segment = Segment.objects.create(
        name="VIPs", conditions=[{"type": "has_tag", "value": {"tag": "vip"}}]
    )
    message = contact.messages.filter(status="sent").first()
    message.page = EmailPage.objects.get(title="Welcome")  # what it was rendered from
    message.subject = "Welcome aboard"
    message.save()
    consent = ConsentRecord.objects.create(
        contact=contact, email=contact.email, method="double_opt_in", requested_at=timezone.now()
    )
    make_form_page("Newsletter")
    make_document("Price list")
    return {
        "flow": flow,
        "spring": spring,
        "draft": draft,
        "contact": contact,
        "list": members,
        "segment": segment,
        "message": message,
        "email_page": spring_page,
        "consent": consent,
    }


def admin_screens(d):
    flow, spring, draft, contact = d["flow"], d["spring"], d["draft"], d["contact"]
    pk = flow.pk
    return [
        Screen("dashboard", "/admin/", shows="Flows"),
        Screen("flow create", "/admin/flows/create/"),
        Screen("flow edit", f"/admin/flows/edit/{pk}/", shows=flow.name),
        Screen("flow edit with a draft", f"/admin/flows/edit/{spring.pk}/"),
        Screen("flow history", f"/admin/flows/history/{pk}/"),
        Screen("flow delete (live)", f"/admin/flows/delete/{pk}/", marketer=FORBIDDEN),
        Screen("flow delete (draft)", f"/admin/flows/delete/{draft.pk}/", marketer=FORBIDDEN),
        Screen("flow activate", f"/admin/flows/{draft.pk}/activate/", marketer=FORBIDDEN),
        Screen("flow pause", f"/admin/flows/{pk}/pause/", marketer=FORBIDDEN),
        Screen("flow archive", f"/admin/flows/{pk}/archive/", marketer=FORBIDDEN),
        Screen("flow duplicate", f"/admin/flows/{pk}/duplicate/"),
        Screen("flow enroll", f"/admin/flows/{pk}/enroll/", marketer=FORBIDDEN),
        Screen("flow retime", f"/admin/flows/{pk}/waits/retime/?step=wait"),
        Screen("flow changes", f"/admin/flows/{spring.pk}/changes/", shows="Changes"),
        Screen("flow versions", f"/admin/flows/{spring.pk}/versions/"),
        Screen("reports summary", "/admin/flows/reports/"),
        Screen("flow report", f"/admin/flows/reports/{pk}/", shows=flow.name),
        Screen("flow report, all time", f"/admin/flows/reports/{pk}/?range=all"),
        Screen("flow report export", f"/admin/flows/reports/{pk}/export/", download=True),
        Screen("flow tester", f"/admin/flows/reports/{pk}/test/"),
        Screen("flow tester run", f"/admin/flows/reports/{pk}/test/?run=1"),
        Screen("template gallery", "/admin/flows/templates/", shows="New flow from a template"),
        Screen("template use", "/admin/flows/templates/welcome-series/"),
        Screen("contact create", "/admin/flows/contacts/create/", marketer=FORBIDDEN),
        Screen("contact edit (timeline)", f"/admin/flows/contacts/edit/{contact.pk}/"),
        Screen("contact history", f"/admin/flows/contacts/history/{contact.pk}/"),
        Screen(
            "contact delete", f"/admin/flows/contacts/delete/{contact.pk}/", marketer=FORBIDDEN
        ),
        Screen(
            "contact add to list",
            f"/admin/flows/contacts/{contact.pk}/add-to-list/",
            marketer=FORBIDDEN,
        ),
        Screen(
            "contact unsubscribe",
            f"/admin/flows/contacts/{contact.pk}/unsubscribe/",
            marketer=FORBIDDEN,
        ),
        Screen("contact erase", f"/admin/flows/contacts/{contact.pk}/erase/", marketer=FORBIDDEN),
        Screen(
            "contact GDPR export",
            f"/admin/flows/contacts/{contact.pk}/export/",
            marketer=FORBIDDEN,
            download=True,
        ),
        Screen(
            "contacts enroll chosen",
            f"/admin/flows/contacts/enroll/?id={contact.pk}",
            marketer=FORBIDDEN,
        ),
        Screen("list create", "/admin/flows/lists/create/"),
        Screen("list edit", f"/admin/flows/lists/edit/{d['list'].pk}/", marketer=FORBIDDEN),
        Screen("list history", f"/admin/flows/lists/history/{d['list'].pk}/"),
        Screen("list delete", f"/admin/flows/lists/delete/{d['list'].pk}/", marketer=FORBIDDEN),
        Screen("segment create", "/admin/flows/segments/create/", marketer=FORBIDDEN),
        Screen("segment edit", f"/admin/flows/segments/edit/{d['segment'].pk}/"),
        Screen("segment history", f"/admin/flows/segments/history/{d['segment'].pk}/"),
        Screen(
            "segment delete",
            f"/admin/flows/segments/delete/{d['segment'].pk}/",
            marketer=FORBIDDEN,
        ),
        Screen("message inspect", f"/admin/flows/messages/inspect/{d['message'].pk}/"),
        Screen("message history", f"/admin/flows/messages/history/{d['message'].pk}/"),
        Screen(
            "email page send test",
            reverse("wagtail_flows_email_send_test", args=[d["email_page"].pk]),
            marketer=FORBIDDEN,
        ),
        Screen(
            "email consent settings",
            "/admin/settings/wagtail_flows/consentsettings/",
            marketer=FORBIDDEN,
        ),
        # Contact properties, scoring rules, imports and Settings › Lead scoring: the
        # marketer holds none of their permissions (importing needs add_contact); the
        # superuser also meets the listings in the menu.
        Screen("imports", "/admin/flows/imports/", marketer=FORBIDDEN),
        Screen("import upload", "/admin/flows/imports/upload/", marketer=FORBIDDEN),
        Screen("contact properties", "/admin/flows/properties/", marketer=FORBIDDEN),
        Screen("property create", "/admin/flows/properties/create/", marketer=FORBIDDEN),
        Screen("scoring rules", "/admin/flows/scoring/", marketer=FORBIDDEN),
        Screen("scoring rule create", "/admin/flows/scoring/create/", marketer=FORBIDDEN),
        Screen(
            "lead scoring settings",
            "/admin/settings/wagtail_flows/scoringsettings/",
            marketer=FORBIDDEN,
        ),
    ]


def public_screens(d):
    message, consent = d["message"], d["consent"]
    return [
        Screen(
            "public unsubscribe",
            reverse(
                "wagtail_flows:unsubscribe",
                args=[tokens.make_token(message.pk, tokens.UNSUBSCRIBE)],
            ),
        ),
        Screen(
            "public preferences",
            reverse(
                "wagtail_flows:preferences",
                args=[tokens.make_token(message.pk, tokens.PREFERENCES)],
            ),
        ),
        Screen(
            "public view in browser",
            reverse(
                "wagtail_flows:view_in_browser", args=[tokens.make_token(message.pk, tokens.VIEW)]
            ),
        ),
        Screen("public confirm", confirm_path(consent)),
    ]


# --- the walk ------------------------------------------------------------------------------


def menu_links(page, live_server):
    """The "Flows" admin menu's items, as the sidebar shows them: [(label, path)]."""
    page.goto(f"{live_server.url}/admin/")
    page.locator("#wagtail-sidebar").get_by_role("button", name="Flows", exact=True).click()
    panel = page.locator(".sidebar-sub-menu-panel").filter(has_text="Contacts")
    panel.wait_for()
    links = panel.get_by_role("link")
    return [
        (links.nth(i).inner_text().strip(), links.nth(i).get_attribute("href"))
        for i in range(links.count())
    ]


def listing_screens(page, live_server, links, filters=True):
    """Each listing, its search, and every filter link the listing itself offers."""
    screens = []
    for label, path in links:
        screens.append(Screen(f"menu: {label}", path))
        if not filters or not re.fullmatch(r"/admin/flows/(\w+/)?", path):
            continue  # the template gallery, walked with the other screens
        screens.append(Screen(f"{label} search", f"{path}?q=a"))
        page.goto(live_server.url + path)
        filters = page.locator(".changelist-filter a")
        for i in range(filters.count()):
            query = filters.nth(i).get_attribute("href")
            screens.append(Screen(f"{label} filter {query}", path + query))
    return screens


def visit(page, live_server, screen, role, guard):
    url = live_server.url + screen.url
    expected = "ok" if role == "superuser" else screen.marketer
    if screen.download:
        response = page.request.get(url, max_redirects=0)
        status = response.status
        assert status < 500, f"{screen.url} answered {status}"
        if expected == "ok":
            assert status == 200, f"{screen.url} answered {status}"
            assert response.headers.get("content-disposition", "").startswith("attachment")
        else:
            assert status in (302, 403), f"{screen.url} answered {status}, not 403/redirect"
        return
    with guard.allowing(FORBIDDEN_CONSOLE) if expected == FORBIDDEN else contextlib.nullcontext():
        response = page.goto(url)
    status, landed = response.status, page.url
    assert status < 500, f"{screen.url} answered {status}"
    redirected = response.request.redirected_from is not None
    if expected == "ok":
        assert status == 200, f"{screen.url} answered {status}"
        if screen.shows:
            assert page.get_by_text(screen.shows).first.is_visible()
    else:
        assert status == 403 or redirected, f"{screen.url} answered {status} at {landed}"
        if status == 403:
            assert "permission" in page.locator("body").inner_text().lower()


def document(page, name, height, tab):
    if tab:
        page.get_by_role("tab", name=tab).click()
    doc_screenshot(page, name, height=height)


@pytest.fixture(scope="module")
def walk_data(shared_db, shared_server):
    return build_walk_data(shared_server)


def walk(page, live_server, role, subtests, guard, data):
    links = menu_links(page, live_server)
    labels = [label for label, _ in links]
    assert {"Flows", "Contacts", "Lists", "Segments", "Messages"} <= set(labels), labels
    guard.check()
    # The filters' permissions are the listing's: the marketer walks the listings only.
    screens = listing_screens(page, live_server, links, filters=role == "superuser")
    for screen in screens + admin_screens(data):
        with subtests.test(msg=f"[{role}] {screen.name}"):
            try:
                visit(page, live_server, screen, role, guard)
                if screen.name == "flow tester run":
                    open_the_email_preview(page, guard)
                if role == "superuser" and screen.name in DOC_SHOTS:
                    document(page, *DOC_SHOTS[screen.name])
            finally:
                problems, guard.problems = guard.problems, []
            assert not problems, "The page guard saw problems:\n  " + "\n  ".join(problems)


def open_the_email_preview(page, guard):
    """The tester's "Preview the email" link opens the email as it would be sent."""
    with page.context.expect_page() as opened:
        page.get_by_role("link", name="Preview the email").first.click()
    preview = opened.value
    preview.wait_for_load_state()
    assert preview.locator("body").inner_text().strip()
    preview.close()


@pytest.mark.parametrize("role", ["superuser", "marketer"])
def test_every_admin_screen_opens_cleanly(
    shared_server, user_page, page_guard, subtests, walk_data, role
):
    page = user_page("owner" if role == "superuser" else "marketer")
    walk(page, shared_server, role, subtests, page_guard, walk_data)


def test_the_email_page_editor_previews_each_mode_and_offers_a_test_send(
    shared_server, user_page, walk_data
):
    page = user_page("owner")
    email_page = walk_data["email_page"]
    page.goto(f"{shared_server.url}/admin/pages/{email_page.pk}/edit/")
    page.get_by_role("button", name="Toggle preview").click()
    frame = page.frame_locator("iframe[data-w-preview-target=iframe]").first
    for mode in ("email", "text"):
        page.select_option("#id_preview_mode", mode)
        page.wait_for_load_state("networkidle")
        frame.locator("body").filter(has_text="Hello").first.wait_for()
    page.get_by_role("button", name="More actions").click()
    page.get_by_role("link", name="Send a test").click()
    page.wait_for_url(re.compile(r"/send-test/"))
    assert page.get_by_role("button").filter(has_text="Send").first.is_visible()


def test_the_public_email_pages_open_cleanly(
    shared_server, user_page, page_guard, subtests, walk_data
):
    page = user_page(None)
    for screen in public_screens(walk_data):
        with subtests.test(msg=f"[public] {screen.name}"):
            try:
                response = page.goto(shared_server.url + screen.url)
                assert response.status == 200, f"{screen.url} answered {response.status}"
                assert page.locator("body").inner_text().strip()
            finally:
                problems, page_guard.problems = page_guard.problems, []
            assert not problems, "The page guard saw problems:\n  " + "\n  ".join(problems)
