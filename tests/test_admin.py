"""A marketer manages flows in the Wagtail admin; only publishers put them live."""

import uuid

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from wagtail.models import ModelLogEntry
from wagtail.test.utils.form_data import nested_form_data, streamfield

from tests.factories import ContactFactory, make_email_page
from wagtail_flows.models import Enrollment, Flow

FLOWS_URL = "/admin/flows/"


def raw(type_, value=None):
    return {"type": type_, "value": value if value is not None else {}, "id": str(uuid.uuid4())}


def make_flow(name="Welcome", status="draft", steps=None, **kwargs):
    page = make_email_page("Welcome email") if steps is None else None
    return Flow.objects.create(
        name=name,
        status=status,
        triggers=[raw("form_submitted", {"form_page": None})],
        steps=steps if steps is not None else [raw("send_email", {"page": page.pk})],
        **kwargs,
    )


def enroll(flow, count, status="waiting", step=""):
    for _ in range(count):
        Enrollment.objects.create(
            flow=flow, contact=ContactFactory(), status=status, current_step=step
        )


def action_url(flow, action):
    return f"{FLOWS_URL}{flow.pk}/{action}/"


def messages_of(response):
    return [str(m).strip() for m in response.context["messages"]]


# --- listing ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_flows_menu_groups_the_five_screens(admin_client):
    html = admin_client.get("/admin/").content.decode()
    for path in (
        "flows/",
        "flows/contacts/",
        "flows/lists/",
        "flows/segments/",
        "flows/messages/",
    ):
        assert f"/admin/{path}" in html


@pytest.mark.django_db
def test_listing_shows_status_triggers_and_enrollment_counts(admin_client):
    flow = make_flow("Welcome series", status="live")
    enroll(flow, 3, "waiting")
    enroll(flow, 2, "completed")
    enroll(flow, 1, "converted")
    response = admin_client.get(FLOWS_URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Welcome series" in html
    assert 'class="w-status w-status--primary"' in html and ">Live<" in html
    assert "Form submitted" in html
    row = next(r for r in response.context["object_list"] if r.pk == flow.pk)
    assert (row.active_count, row.waiting_count, row.completed_count, row.converted_count) == (
        0,
        3,
        2,
        1,
    )


@pytest.mark.django_db
def test_listing_filters_by_status_and_searches_by_name(admin_client):
    make_flow("Welcome series", status="live")
    make_flow("Cart reminder", status="draft")
    live = admin_client.get(FLOWS_URL, {"status__exact": "live"})
    assert [f.name for f in live.context["object_list"]] == ["Welcome series"]
    found = admin_client.get(FLOWS_URL, {"q": "cart"})
    assert [f.name for f in found.context["object_list"]] == ["Cart reminder"]


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["superuser", "publisher"])
def test_listing_queries_do_not_grow_with_flows(client, who, django_assert_max_num_queries):
    from tests.conftest import make_staff_user

    user = make_staff_user("publisher", "change_flow", "delete_flow", "activate_flow")
    if who == "superuser":
        user.is_superuser = True
        user.save()
    client.force_login(user)
    enroll(make_flow("Flow 0", status="live"), 2)
    client.get(FLOWS_URL)  # warm caches (content types)
    with CaptureQueriesContext(connection) as one:
        assert client.get(FLOWS_URL).status_code == 200
    for i in range(1, 20):
        enroll(make_flow(f"Flow {i}", status=["live", "draft"][i % 2], steps=[]), 2)
    with django_assert_max_num_queries(len(one)):
        response = client.get(FLOWS_URL)
    assert len(response.context["object_list"]) == 20


# --- create and edit ----------------------------------------------------------------------


@pytest.mark.django_db
def test_edit_view_has_the_four_tabs(admin_client):
    flow = make_flow()
    response = admin_client.get(f"{FLOWS_URL}edit/{flow.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    for tab in ("Trigger &amp; audience", "Steps", "Goal &amp; settings", "Report"):
        assert tab in html
    assert 'class="wf-diagram"' in html


def flow_form_data(name, steps=(), **extra):
    return nested_form_data(
        {
            "name": name,
            "description": "",
            "triggers": streamfield([("manual", "")]),
            "entry_match": "all",
            "entry_conditions": streamfield([]),
            "never_enter_if": streamfield([]),
            "steps": streamfield(list(steps)),
            "reentry": "never",
            "goal_match": "all",
            "goal": streamfield([]),
            "exit_conditions": streamfield([]),
            "send_window_timezone": "contact",
            "kind": "marketing",
            "on_resume": "spread",
            "cap_days": "7",
            **extra,
        }
    )


@pytest.mark.django_db
def test_an_editor_drafts_a_flow_which_stays_a_draft(client, flows_editor):
    client.force_login(flows_editor)
    assert client.get(f"{FLOWS_URL}create/").status_code == 200
    data = flow_form_data("Nurture", [("wait", {"amount": 3, "unit": "days"})])
    data["send_weekdays"] = ["0", "4"]
    response = client.post(f"{FLOWS_URL}create/", data)
    assert response.status_code == 302
    flow = Flow.objects.get(name="Nurture")
    assert flow.status == "draft"
    assert flow.send_weekdays == [0, 4]
    assert flow.steps[0].value["amount"] == 3
    assert client.get(f"{FLOWS_URL}edit/{flow.pk}/").status_code == 200


@pytest.mark.django_db
def test_a_live_flow_cannot_be_saved_invalid(admin_client):
    flow = make_flow(status="live")
    data = flow_form_data("Welcome", [("wait", {"amount": 0, "unit": "days"})])
    response = admin_client.post(f"{FLOWS_URL}edit/{flow.pk}/", data)
    assert response.status_code == 200
    assert response.context["form"].errors
    flow.refresh_from_db()
    assert flow.steps[0].block_type == "send_email"


@pytest.mark.django_db
def test_status_is_not_an_editable_field(admin_client):
    flow = make_flow()
    data = flow_form_data("Welcome", status="live")
    admin_client.post(f"{FLOWS_URL}edit/{flow.pk}/", data)
    flow.refresh_from_db()
    assert flow.status == "draft"


@pytest.mark.django_db
def test_only_drafts_and_archived_flows_can_be_deleted(admin_client):
    live = make_flow("Live flow", status="live")
    archived = make_flow("Old flow", status="archived")
    assert f"{FLOWS_URL}delete/{live.pk}/" not in admin_client.get(FLOWS_URL).content.decode()
    assert admin_client.post(f"{FLOWS_URL}delete/{live.pk}/").status_code == 302
    assert Flow.objects.filter(pk=live.pk).exists()
    admin_client.post(f"{FLOWS_URL}delete/{archived.pk}/")
    assert not Flow.objects.filter(pk=archived.pk).exists()


# --- governance ---------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("action", ["activate", "pause", "resume", "archive"])
def test_an_editor_cannot_change_a_flows_status(client, flows_editor, action):
    status = {"activate": "draft", "pause": "live", "resume": "paused", "archive": "live"}[action]
    flow = make_flow(status=status)
    client.force_login(flows_editor)
    assert client.get(action_url(flow, action)).status_code == 403
    assert client.post(action_url(flow, action)).status_code == 403
    flow.refresh_from_db()
    assert flow.status == status
    assert not ModelLogEntry.objects.filter(action__startswith="wagtail_flows.").exists()


@pytest.mark.django_db
def test_an_editor_sees_no_status_buttons(client, flows_editor):
    flow = make_flow()
    client.force_login(flows_editor)
    html = client.get(f"{FLOWS_URL}edit/{flow.pk}/").content.decode()
    assert action_url(flow, "activate") not in html
    assert action_url(flow, "duplicate") in html


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_the_login_page(client):
    flow = make_flow()
    for url in (FLOWS_URL, action_url(flow, "activate"), f"{FLOWS_URL}edit/{flow.pk}/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")


@pytest.mark.django_db
def test_a_user_without_flow_permissions_is_turned_away(client):
    from tests.conftest import make_staff_user

    client.force_login(make_staff_user("reader"))
    flow = make_flow()
    for url in (FLOWS_URL, f"{FLOWS_URL}create/", f"{FLOWS_URL}edit/{flow.pk}/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"] == "/admin/"
    assert client.post(action_url(flow, "duplicate")).status_code == 403
    assert Flow.objects.count() == 1


@pytest.mark.django_db
def test_actions_need_a_csrf_token(flows_publisher):
    flow = make_flow()
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(flows_publisher)
    assert browser.post(action_url(flow, "activate")).status_code == 403
    flow.refresh_from_db()
    assert flow.status == "draft"


# --- status actions -----------------------------------------------------------------------


@pytest.mark.django_db
def test_a_publisher_activates_a_flow_and_the_audit_log_says_so(client, flows_publisher):
    flow = make_flow()
    client.force_login(flows_publisher)
    confirm = client.get(action_url(flow, "activate"))
    assert confirm.status_code == 200
    assert "contacts enter this flow when: Submits any form." in confirm.content.decode()
    assert 'method="POST"' in confirm.content.decode()
    flow.refresh_from_db()
    assert flow.status == "draft"  # a GET changes nothing

    response = client.post(action_url(flow, "activate"), follow=True)
    flow.refresh_from_db()
    assert flow.status == "live"
    assert "“Welcome” is live." in messages_of(response)
    entry = ModelLogEntry.objects.get(action="wagtail_flows.activate")
    assert entry.user == flows_publisher
    assert entry.object_id == str(flow.pk)
    history = client.get(f"{FLOWS_URL}history/{flow.pk}/").content.decode()
    assert "Activated the flow" in history


@pytest.mark.django_db
def test_activation_is_refused_with_the_field_named(client, flows_publisher):
    flow = make_flow(steps=[raw("send_email", {"page": None})])
    client.force_login(flows_publisher)
    confirm = client.get(action_url(flow, "activate")).content.decode()
    assert "cannot go live yet" in confirm
    assert 'type="submit"' not in confirm
    assert "Steps › Send email (step 1)" in confirm

    response = client.post(action_url(flow, "activate"), follow=True)
    flow.refresh_from_db()
    assert flow.status == "draft"
    lines = messages_of(response)
    assert "“Welcome” was not changed." in lines
    assert any(line.startswith("Steps › Send email (step 1)") for line in lines)
    assert not ModelLogEntry.objects.filter(action="wagtail_flows.activate").exists()


@pytest.mark.django_db
def test_pausing_states_how_many_contacts_wait_and_keeps_them(client, flows_publisher):
    flow = make_flow(status="live")
    enroll(flow, 4, "waiting", step=flow.steps[0].id)
    enroll(flow, 2, "completed")
    client.force_login(flows_publisher)
    confirm = client.get(action_url(flow, "pause")).content.decode()
    assert "4 contacts are waiting in this flow." in confirm
    assert "no email is sent" in confirm

    client.post(action_url(flow, "pause"))
    flow.refresh_from_db()
    assert flow.status == "paused"
    assert Enrollment.objects.filter(flow=flow, status="waiting").count() == 4
    assert ModelLogEntry.objects.filter(action="wagtail_flows.pause").count() == 1

    confirm = client.get(action_url(flow, "resume")).content.decode()
    assert "Spread overdue emails" in confirm or "spread overdue emails" in confirm
    client.post(action_url(flow, "resume"))
    flow.refresh_from_db()
    assert flow.status == "live"
    assert ModelLogEntry.objects.filter(action="wagtail_flows.resume").count() == 1


@pytest.mark.django_db
def test_one_contact_is_counted_in_the_singular(client, flows_publisher):
    flow = make_flow(status="live")
    enroll(flow, 1)
    client.force_login(flows_publisher)
    assert (
        "1 contact is waiting in this flow."
        in client.get(action_url(flow, "pause")).content.decode()
    )


@pytest.mark.django_db
def test_archiving_ends_the_flow_and_returns_to_the_listing(client, flows_publisher):
    flow = make_flow(status="paused")
    client.force_login(flows_publisher)
    response = client.post(action_url(flow, "archive"))
    assert response["Location"] == FLOWS_URL
    flow.refresh_from_db()
    assert flow.status == "archived"
    assert ModelLogEntry.objects.filter(action="wagtail_flows.archive").count() == 1


@pytest.mark.django_db
def test_an_editor_duplicates_a_flow_into_a_new_draft(client, flows_editor):
    flow = make_flow(status="live")
    client.force_login(flows_editor)
    assert "not copied" in client.get(action_url(flow, "duplicate")).content.decode()
    response = client.post(action_url(flow, "duplicate"))
    copy = Flow.objects.exclude(pk=flow.pk).get()
    assert response["Location"] == f"{FLOWS_URL}edit/{copy.pk}/"
    assert copy.status == "draft"
    assert ModelLogEntry.objects.get(action="wagtail_flows.duplicate").user == flows_editor


@pytest.mark.django_db
def test_an_action_that_does_not_apply_changes_nothing(admin_client):
    flow = make_flow(status="draft")
    response = admin_client.post(action_url(flow, "pause"), follow=True)
    flow.refresh_from_db()
    assert flow.status == "draft"
    assert any("does not apply" in line for line in messages_of(response))
    assert admin_client.post(action_url(flow, "explode")).status_code == 404


@pytest.mark.django_db
def test_listing_buttons_follow_status_and_permission(admin_client, client, flows_editor):
    draft = make_flow("Draft flow")
    live = make_flow("Live flow", status="live")
    html = admin_client.get(FLOWS_URL).content.decode()
    assert action_url(draft, "activate") in html and action_url(draft, "pause") not in html
    assert action_url(live, "pause") in html and action_url(live, "activate") not in html
    client.force_login(flows_editor)
    html = client.get(FLOWS_URL).content.decode()
    assert action_url(live, "pause") not in html
    assert action_url(live, "duplicate") in html


# --- every screen, every user -------------------------------------------------------------


def every_screen():
    """(url, superuser may open it) for each view of the Flows menu."""
    from tests.factories import ContactListFactory
    from wagtail_flows.models import Message, Segment

    flow = make_flow()
    contact = ContactFactory()
    contact_list = ContactListFactory()
    segment = Segment.objects.create(name="Everyone")
    message = Message.objects.create(contact=contact, to_email=contact.email)
    screens = [
        (FLOWS_URL, True),
        (f"{FLOWS_URL}create/", True),
        (f"{FLOWS_URL}edit/{flow.pk}/", True),
        (f"{FLOWS_URL}delete/{flow.pk}/", True),
        (f"{FLOWS_URL}history/{flow.pk}/", True),
        *((action_url(flow, a), True) for a in ("activate", "duplicate", "archive")),
        ("/admin/flows/contacts/", True),
        ("/admin/flows/contacts/create/", True),
        (f"/admin/flows/contacts/edit/{contact.pk}/", True),
        (f"/admin/flows/contacts/history/{contact.pk}/", True),
        *(
            (f"/admin/flows/contacts/{contact.pk}/{a}/", True)
            for a in ("add-to-list", "unsubscribe", "export", "erase")
        ),
        ("/admin/flows/lists/", True),
        ("/admin/flows/lists/create/", True),
        (f"/admin/flows/lists/edit/{contact_list.pk}/", True),
        ("/admin/flows/choose-list/", True),
        ("/admin/flows/choose-list/results/", True),
        (f"/admin/flows/choose-list/chosen/{contact_list.pk}/", True),
        ("/admin/flows/segments/", True),
        ("/admin/flows/segments/create/", True),
        (f"/admin/flows/segments/edit/{segment.pk}/", True),
        ("/admin/flows/messages/", True),
        (f"/admin/flows/messages/inspect/{message.pk}/", True),
        (f"/admin/flows/messages/edit/{message.pk}/", False),
        ("/admin/flows/messages/create/", False),
    ]
    return screens


@pytest.mark.django_db
def test_every_screen_loads_for_a_superuser(admin_client):
    for url, allowed in every_screen():
        status = admin_client.get(url).status_code
        assert status == (200 if allowed else 302), url


@pytest.mark.django_db
def test_every_screen_turns_away_a_user_without_permissions(client):
    from tests.conftest import make_staff_user

    client.force_login(make_staff_user("nobody"))
    for url, _allowed in every_screen():
        response = client.get(url)
        assert response.status_code in (302, 403), url
        if response.status_code == 302:
            assert response["Location"] == "/admin/", url


@pytest.mark.django_db
def test_every_screen_sends_anonymous_visitors_to_login(client):
    for url, _allowed in every_screen():
        assert client.get(url)["Location"].startswith("/admin/login/"), url


# --- manual enrollment --------------------------------------------------------------------


@pytest.mark.django_db
def test_a_publisher_enrolls_a_list_into_a_live_flow(
    client, flows_publisher, django_capture_on_commit_callbacks
):
    from tests.factories import ContactListFactory

    flow = make_flow(status="live")
    flow.triggers = [raw("manual", None)]
    flow.save()
    customers = ContactListFactory(name="Customers")
    for _ in range(3):
        ContactFactory().add_to_list(customers)
    client.force_login(flows_publisher)
    url = action_url(flow, "enroll")
    assert "Customers" in client.get(url).content.decode()
    assert client.post(url, {}).status_code == 200  # neither list nor segment: form error
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"contact_list": customers.pk}, follow=True)
    assert "3 contacts are entering “Welcome” in the background." in messages_of(response)
    assert Enrollment.objects.filter(flow=flow).count() == 3
    edit_page = client.get(f"{FLOWS_URL}edit/{flow.pk}/").content.decode()
    page = " ".join(edit_page.split())
    assert "Enrolling List “Customers”" in page and "3 of 3 handled, 3 entered" in page


@pytest.mark.django_db
def test_only_a_live_flow_takes_contacts_and_only_from_a_publisher(client, flows_editor):
    draft = make_flow()
    live = make_flow("Live", status="live")
    client.force_login(flows_editor)
    assert client.get(action_url(live, "enroll")).status_code == 403
    client.logout()
    from tests.conftest import make_staff_user

    client.force_login(make_staff_user("boss", "change_flow", "activate_flow"))
    response = client.post(action_url(draft, "enroll"), follow=True)
    assert any("does not apply" in line for line in messages_of(response))
    assert not Enrollment.objects.exists()


# --- new flow from a template -------------------------------------------------------------

GALLERY_URL = "/admin/flows/templates/"
GALLERY_BUTTON = f'href="{GALLERY_URL}" class="button'


@pytest.mark.django_db
def test_an_editor_finds_new_flow_from_template_in_the_menu_and_the_listing(client, flows_editor):
    client.force_login(flows_editor)
    home = client.get("/admin/").content.decode()
    assert "New flow from template" in home and GALLERY_URL in home
    listing = client.get(FLOWS_URL).content.decode()
    assert GALLERY_BUTTON in listing
    assert client.get(GALLERY_URL).status_code == 200


@pytest.mark.django_db
def test_a_user_who_may_not_add_flows_is_not_offered_templates(client):
    from tests.conftest import make_staff_user

    client.force_login(make_staff_user("reader", "view_flow"))
    listing = client.get(FLOWS_URL)
    assert listing.status_code == 200
    html = listing.content.decode()
    assert "New flow from template" not in html and GALLERY_URL not in html
    assert client.get(GALLERY_URL)["Location"] == "/admin/"
