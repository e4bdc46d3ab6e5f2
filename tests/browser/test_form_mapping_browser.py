"""In a real browser: an editor of the contact form opens "Form answers → contacts" from the
page, sees the suggested targets, sends the NPS score to a property and saves."""

import pytest
from django.contrib.auth.models import Group, Permission, User
from wagtail.models import GroupPagePermission

from tests.browser.conftest import log_in
from tests.factories import make_form_page
from wagtail_flows.models import FormFieldMapping

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def form_editor(transactional_db):
    form = make_form_page(
        "Contact us",
        fields=[
            ("Your name", "singleline", True),
            ("Your email", "email", True),
            ("Telephone", "singleline", False),
            ("Score", "number", False),
        ],
    )
    user = User.objects.create_user("edna", "edna@example.com", "secret-pass")
    group = Group.objects.create(name="Form editors")
    group.permissions.add(Permission.objects.get(codename="access_admin"))
    for codename in ("add_page", "change_page"):
        GroupPagePermission.objects.create(
            group=group, page=form, permission=Permission.objects.get(codename=codename)
        )
    user.groups.add(group)
    return form


def test_an_editor_maps_the_form_fields_from_the_page(live_server, page, form_editor, artifacts):
    log_in(page, live_server, "edna", "secret-pass")
    page.goto(f"{live_server.url}/admin/pages/{form_editor.pk}/edit/")
    page.get_by_role("button", name="Actions", exact=True).click()
    page.get_by_role("link", name="Form answers → contacts").click()
    page.locator("[data-flows-defaults]").wait_for()
    assert page.locator("#target-0").input_value() == "full_name"
    assert page.locator("#target-2").input_value() == "phone"

    page.select_option("#target-3", "property")
    page.get_by_role("button", name="Save").click()
    page.get_by_role("alert").first.wait_for()
    assert "Name the contact property" in page.locator("main").inner_text()
    page.screenshot(path=str(artifacts / "form-mapping-error.png"), full_page=True)
    assert not FormFieldMapping.objects.exists()

    page.fill("#key-3", "nps_score")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("now go where you chose").wait_for()
    page.screenshot(path=str(artifacts / "form-mapping-saved.png"), full_page=True)
    targets = FormFieldMapping.objects.get(page=form_editor).targets
    assert targets["score"] == {"target": "property", "key": "nps_score"}
    assert targets["your_name"] == {"target": "full_name"}
