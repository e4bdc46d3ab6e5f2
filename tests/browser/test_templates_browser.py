"""In a real browser: a planner makes a flow from a template, choosing its sign-up form in
Wagtail's page chooser; without the permission to add the starter emails' pages they are told
so on the form, and nothing is made."""

import pytest
from django.contrib.auth.models import Group, Permission
from wagtail.models import GroupPagePermission

from tests.browser.conftest import log_in
from tests.conftest import EDITOR_PERMISSIONS, make_staff_user
from tests.factories import make_form_page, site_root
from wagtail_flows.models import Flow

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_a_planner_is_told_what_is_missing_then_makes_a_flow_from_a_template(
    live_server, page, artifacts
):
    form = make_form_page("Newsletter")
    planner = make_staff_user("planner", *EDITOR_PERMISSIONS, "add_contactlist")
    errors = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    log_in(page, live_server, planner.username, "password")

    def choose_the_form_and_create():
        page.goto(f"{live_server.url}/admin/flows/templates/welcome-series/")
        page.get_by_role("button", name="Choose a page").first.click()
        modal = page.locator(".modal-dialog")
        modal.get_by_placeholder("Search…").fill("Newsletter")
        modal.get_by_role("link", name="Newsletter").click()
        modal.wait_for(state="hidden")
        assert page.get_by_text("Newsletter", exact=True).first.is_visible()
        page.get_by_role("button", name="Create draft flow").click()

    choose_the_form_and_create()  # no permission to add pages yet
    alert = page.get_by_role("alert").filter(has_text="needs the permission to add pages")
    alert.wait_for()
    page.screenshot(path=str(artifacts / "template-missing-permission.png"), full_page=True)
    assert not Flow.objects.exists()
    assert all("status of 403" in error for error in errors)  # the refusal itself, only
    errors.clear()

    GroupPagePermission.objects.create(
        group=Group.objects.get(name="planner group"),
        page=site_root(),
        permission=Permission.objects.get(codename="add_page"),
    )
    choose_the_form_and_create()
    page.wait_for_url(f"{live_server.url}/admin/flows/edit/*/")
    flow = Flow.objects.get()
    assert flow.triggers[0].value["form_page"].pk == form.pk
    assert errors == []
