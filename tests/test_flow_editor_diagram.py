"""The flow editor draws the flow as it stands in the form, before it is saved: each change to
the steps changes the drawing, activation errors land on the node of their block, and only
people who may edit flows get a drawing."""

import uuid

import pytest
from django.test.html import parse_html
from wagtail.test.utils.form_data import nested_form_data

from tests.conftest import EDITOR_PERMISSIONS, make_staff_user
from tests.factories import make_email_page
from wagtail_flows.flows.validation import activation_errors, errors_by_block
from wagtail_flows.models import Enrollment, Flow

pytestmark = pytest.mark.django_db

NEW_URL = "/admin/flows/diagram/preview/"


def preview_url(flow):
    return f"/admin/flows/{flow.pk}/diagram/preview/"


def new_id():
    return str(uuid.uuid4())


def stream(*children):
    """StreamField form data: children are ``(type, value, id)``."""
    data = {"count": str(len(children))}
    for index, (kind, value, block_id) in enumerate(children):
        data[str(index)] = {
            "type": kind,
            "value": value,
            "deleted": "",
            "order": str(index),
            "id": block_id,
        }
    return data


def flow_data(steps=(), triggers=None, **extra):
    return nested_form_data(
        {
            "name": "Welcome",
            "description": "",
            "triggers": triggers or stream(("manual", {}, new_id())),
            "entry_match": "all",
            "entry_conditions": stream(),
            "never_enter_if": stream(),
            "steps": stream(*steps),
            "reentry": "never",
            "goal_match": "all",
            "goal": stream(),
            "exit_conditions": stream(),
            "send_window_timezone": "contact",
            "kind": "marketing",
            "on_resume": "spread",
            "cap_days": "7",
            **extra,
        }
    )


def send(page, block_id):
    return ("send_email", {"page": str(page.pk) if page else "", "subject_override": ""}, block_id)


def wait(amount, block_id, unit="days"):
    return ("wait", {"amount": str(amount), "unit": unit}, block_id)


# --- reading the drawing, as a person reads it ------------------------------------------


def nodes(html):
    """[(block id, label)] of the steps drawn, top to bottom, depth first."""
    found = []

    def walk(element):
        for child in element.children:
            if isinstance(child, str):
                continue
            attrs = dict(child.attributes)
            if "wf-step" in attrs.get("class", "").split():
                found.append((attrs["data-step-id"], label(child)))
            walk(child)

    walk(parse_html(html))
    return found


def label(element):
    for child in element.children:
        if isinstance(child, str):
            continue
        if "wf-node__label" in dict(child.attributes).get("class", "").split():
            return " ".join(text(child).split())
        found = label(child)
        if found:
            return found
    return None


def text(element):
    return " ".join(c if isinstance(c, str) else text(c) for c in element.children)


def node_errors(html):
    """{block id: the error text shown under its node}."""
    errors = {}

    def walk(element):
        for child in element.children:
            if isinstance(child, str):
                continue
            attrs = dict(child.attributes)
            if "data-node-errors" in attrs:
                errors[attrs["data-node-errors"]] = " ".join(text(child).split())
            walk(child)

    walk(parse_html(html))
    return errors


def draw(client, data, url=NEW_URL):
    response = client.post(url, data)
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


@pytest.fixture
def email():
    return make_email_page("Welcome email")


# --- the drawing follows the form ------------------------------------------------------


def test_adding_moving_and_removing_blocks_changes_the_drawing(admin_client, email):
    a, b, c = new_id(), new_id(), new_id()
    html = draw(admin_client, flow_data([send(email, a)]))
    assert nodes(html) == [(a, "Send “Welcome email”")]

    # A wait is added below the email.
    html = draw(admin_client, flow_data([send(email, a), wait(3, b)]))
    assert nodes(html) == [(a, "Send “Welcome email”"), (b, "Wait 3 days")]

    # It is moved above the email, and changed to 2 hours.
    html = draw(admin_client, flow_data([wait(2, b, "hours"), send(email, a)]))
    assert nodes(html) == [(b, "Wait 2 hours"), (a, "Send “Welcome email”")]

    # The email is removed as Wagtail removes a block: marked deleted, still posted.
    data = flow_data([wait(2, b, "hours"), send(email, a), ("add_tag", {"tag": "new"}, c)])
    data["steps-1-deleted"] = "1"
    assert nodes(draw(admin_client, data)) == [(b, "Wait 2 hours"), (c, "Add tag “new”")]


def test_nested_steps_are_drawn_inside_their_branch(admin_client, email):
    branch, inner, tag = new_id(), new_id(), new_id()
    value = {
        "conditions": stream(("has_tag", {"tag": "vip"}, new_id())),
        "match": "all",
        "wait_up_to_amount": "",
        "wait_up_to_unit": "days",
        "yes": stream(send(email, inner)),
        "no": stream(("add_tag", {"tag": "later"}, tag)),
    }
    html = draw(admin_client, flow_data([("branch", value, branch)]))
    assert nodes(html) == [
        (branch, "If Has tag “vip”"),
        (inner, "Send “Welcome email”"),
        (tag, "Add tag “later”"),
    ]


def test_an_unsaved_change_to_a_saved_flow_is_drawn_and_nothing_is_saved(admin_client, email):
    flow = Flow.objects.create(
        name="Welcome", steps=[{"type": "wait", "value": {"amount": 1, "unit": "days"}}]
    )
    saved = flow.steps[0].id
    html = draw(
        admin_client, flow_data([wait(5, saved), send(email, new_id())]), preview_url(flow)
    )
    assert [label for _, label in nodes(html)] == ["Wait 5 days", "Send “Welcome email”"]
    flow.refresh_from_db()
    assert [child.block_type for child in flow.steps] == ["wait"]
    assert flow.steps[0].value["amount"] == 1


def test_a_saved_flow_still_shows_who_waits_where(admin_client, contact):
    flow = Flow.objects.create(
        name="Welcome", steps=[{"type": "wait", "value": {"amount": 1, "unit": "days"}}]
    )
    step = flow.steps[0].id
    Enrollment.objects.create(flow=flow, contact=contact, status="waiting", current_step=step)
    html = draw(admin_client, flow_data([wait(2, step)]), preview_url(flow))
    assert "1 waiting" in " ".join(html.split())


# --- errors on their nodes ---------------------------------------------------------------


def test_activation_errors_land_on_the_node_of_their_block(admin_client, email):
    ok, no_email, bad_wait, nested = new_id(), new_id(), new_id(), new_id()
    branch = new_id()
    branch_value = {
        "conditions": stream(("has_tag", {"tag": "vip"}, new_id())),
        "match": "all",
        "wait_up_to_amount": "",
        "wait_up_to_unit": "days",
        "yes": stream(wait(0, nested)),
        "no": stream(),
    }
    steps = [
        send(email, ok),
        send(None, no_email),
        wait(-1, bad_wait),
        ("branch", branch_value, branch),
    ]
    html = draw(admin_client, flow_data(steps))
    errors = node_errors(html)
    assert errors == {
        no_email: "Email: Choose an email.",
        bad_wait: "Amount: A wait must be longer than 0.",
        nested: "Amount: A wait must be longer than 0.",
    }
    # The node itself is marked, and says where its message is.
    assert f'data-wf-open-block="{no_email}" aria-describedby="wf-errors-{no_email}"' in html
    assert html.count(' wf-node--error"') == 3


def test_flow_level_errors_are_shown_above_the_drawing(admin_client):
    data = flow_data([("add_tag", {"tag": "x"}, new_id())], triggers=stream())
    html = draw(admin_client, data)
    problems = html.split("data-flow-errors", 1)[1].split("</section>", 1)[0]
    assert "Add a trigger: nothing would start this flow." in problems
    assert html.index("data-flow-errors") < html.index("wf-diagram__start")


def test_a_half_filled_block_is_still_drawn_with_its_field_marked(admin_client, email):
    half, typed = new_id(), new_id()
    steps = [
        ("wait", {"amount": "soon", "unit": "days"}, half),  # not a number
        ("webhook", {"url": "not a url", "payload": ""}, typed),
    ]
    html = draw(admin_client, flow_data(steps))
    assert [block_id for block_id, _ in nodes(html)] == [half, typed]
    errors = node_errors(html)
    assert errors[half] == "Amount: This field is required."  # "soon" is no number of days
    assert errors[typed] == "URL: Enter a valid URL."  # what was typed is kept, and refused


def test_errors_by_block_keeps_what_existing_callers_get(email):
    steps = [{"type": "send_email", "value": {"page": None}, "id": "s1"}]
    flow = Flow(name="Welcome", steps=steps)
    before = {field: error.messages for field, error in activation_errors(flow).items()}
    flow_messages, by_block = errors_by_block(flow)
    assert by_block == {"s1": ["Email: Choose an email."]}
    assert flow_messages == ["Add a trigger: nothing would start this flow."]
    after = {field: error.messages for field, error in activation_errors(flow).items()}
    assert before == after


# --- who may draw ---------------------------------------------------------------------------


def test_only_people_who_may_edit_flows_get_a_drawing(client, email):
    flow = Flow.objects.create(name="Welcome")
    make_staff_user("viewer", "view_flow")
    client.login(username="viewer", password="password")
    assert client.post(preview_url(flow), flow_data()).status_code == 403
    assert client.post(NEW_URL, flow_data()).status_code == 403

    make_staff_user("editor", *EDITOR_PERMISSIONS)
    client.login(username="editor", password="password")
    assert client.post(preview_url(flow), flow_data()).status_code == 200
    assert client.post(NEW_URL, flow_data()).status_code == 200


def test_an_anonymous_visitor_is_sent_to_log_in(client):
    response = client.post(NEW_URL, flow_data())
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_the_drawing_needs_a_post_with_the_csrf_token(admin_user):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(admin_user)
    assert strict.post(NEW_URL, flow_data()).status_code == 403
    assert strict.get(NEW_URL).status_code == 405


def test_an_unknown_flow_is_a_404(admin_client):
    assert (
        admin_client.post("/admin/flows/999999/diagram/preview/", flow_data()).status_code == 404
    )


# --- malformed input ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"steps-count": "many"},
        {"steps-0-type": "no_such_step"},
        {"steps-0-order": "first"},
        {"steps-0-value-page": "999999"},
        {"steps-0-value-page": "not a page"},
        {"triggers-count": "-3"},
        {"steps-count": "5"},
    ],
)
def test_malformed_form_data_is_a_4xx_or_a_drawing_never_a_5xx(admin_client, email, change):
    data = flow_data([send(email, new_id())])
    data.update(change)
    response = admin_client.post(NEW_URL, data)
    assert response.status_code in (200, 400), response.status_code


def test_an_empty_post_is_a_clear_4xx(admin_client):
    response = admin_client.post(NEW_URL, {})
    assert response.status_code == 400


# --- cost ----------------------------------------------------------------------------------


def test_a_drawing_costs_a_fixed_number_of_queries(admin_client, email, django_assert_num_queries):
    flow = Flow.objects.create(name="Welcome")
    data = flow_data([send(email, new_id()), wait(2, new_id())])
    admin_client.post(preview_url(flow), data)  # warm the session and content types
    # session, user and profile; the flow; the email page as the form reads it, cleans it and
    # the activation check cleans it again; the sender check's email page, its site (looked
    # up once for the sender, the site name and the link host) and sender settings; the
    # waiting counts.
    with django_assert_num_queries(11):
        admin_client.post(preview_url(flow), data)
