"""An editor shortens a wait in a running flow; when a publisher puts the draft live, they
decide whether the contacts already waiting there wait the new length (the default: they keep
their time)."""

from datetime import timedelta

import pytest
from django.utils import timezone
from wagtail.models import ModelLogEntry

from tests.conftest import make_staff_user
from tests.factories import ContactFactory, make_email_page
from tests.test_admin import FLOWS_URL, flow_form_data, messages_of
from wagtail_flows.models import Enrollment, Flow

RETIME_URL = FLOWS_URL + "{pk}/waits/retime/"


def wait(step_id, amount, unit="days"):
    return {"type": "wait", "value": {"amount": amount, "unit": unit}, "id": step_id}


def running_flow(status="live"):
    page = make_email_page("Welcome email")
    send = {"type": "send_email", "value": {"page": page.pk, "subject_override": ""}, "id": "s1"}
    return Flow.objects.create(
        name="Welcome",
        status=status,
        triggers=[{"type": "manual", "value": None, "id": "t1"}],
        steps=[wait("w1", 3), send, wait("w2", 2)],
    )


def waiting_at(flow, step_id, count, since):
    length = {"w1": timedelta(days=3), "w2": timedelta(days=2)}[step_id]
    return [
        Enrollment.objects.create(
            flow=flow,
            contact=ContactFactory(),
            status="waiting",
            current_step=step_id,
            waiting_since=since,
            next_run_at=since + length,
        )
        for _ in range(count)
    ]


def edit_data(flow, first_wait_days, second_wait_days=2):
    """The edit form as the browser posts it, block ids included (they identify steps)."""
    send = flow.steps[1].value
    steps = [
        ("wait", {"amount": first_wait_days, "unit": "days"}),
        ("send_email", {"page": send["page"].pk, "subject_override": ""}),
        ("wait", {"amount": second_wait_days, "unit": "days"}),
    ]
    data = flow_form_data(flow.name, steps)
    data.update({f"steps-{i}-id": step_id for i, step_id in enumerate(["w1", "s1", "w2"])})
    return data


def save_draft_and_publish(client, editor, publisher, flow, data):
    """The editor saves a draft of the running flow, the publisher publishes it."""
    client.force_login(editor)
    saved = client.post(f"{FLOWS_URL}edit/{flow.pk}/", data)
    assert saved.status_code == 302 and saved["Location"] == f"{FLOWS_URL}{flow.pk}/changes/"
    flow.refresh_from_db()
    client.force_login(publisher)
    return client.post(f"{FLOWS_URL}{flow.pk}/publish/", {"revision": flow.latest_revision_id})


def next_runs(enrollments):
    return {Enrollment.objects.get(pk=e.pk).next_run_at for e in enrollments}


@pytest.mark.django_db
def test_a_shortened_wait_is_published_and_the_contacts_waiting_there_re_timed(
    client, flows_editor, flows_publisher
):
    flow = running_flow()
    since = timezone.now() - timedelta(hours=12)
    at_first = waiting_at(flow, "w1", 3, since)
    at_second = waiting_at(flow, "w2", 2, since)
    data = edit_data(flow, first_wait_days=1)

    published = save_draft_and_publish(client, flows_editor, flows_publisher, flow, data)
    question = f"{RETIME_URL.format(pk=flow.pk)}?step=w1"
    assert published.status_code == 302 and published["Location"] == question
    flow.refresh_from_db()
    assert flow.steps[0].value["amount"] == 1  # the published draft runs

    confirm = client.get(question)
    page = " ".join(confirm.content.decode().split())
    assert "3 contacts are waiting at “Wait 1 day” with the time they had" in page
    assert "Re-time them" in page and "Leave them as they are" in page
    assert next_runs(at_first) == {since + timedelta(days=3)}  # asking changes nothing

    response = client.post(question, follow=True)
    assert "3 waiting contacts are re-timed to the new wait." in messages_of(response)
    assert next_runs(at_first) == {since + timedelta(days=1)}
    assert next_runs(at_second) == {since + timedelta(days=2)}  # that wait did not change
    entry = ModelLogEntry.objects.get(action="wagtail_flows.retime")
    assert entry.user == flows_publisher and entry.data == {"steps": ["w1"], "n": 3}
    history = client.get(f"{FLOWS_URL}history/{flow.pk}/").content.decode()
    assert "Re-timed the contacts waiting at changed waits" in history


@pytest.mark.django_db
def test_leaving_them_is_the_default(client, flows_editor, flows_publisher):
    flow = running_flow(status="paused")
    since = timezone.now() - timedelta(hours=1)
    at_second = waiting_at(flow, "w2", 1, since)
    data = edit_data(flow, 3, second_wait_days=5)
    saved = save_draft_and_publish(client, flows_editor, flows_publisher, flow, data)
    assert saved["Location"] == f"{RETIME_URL.format(pk=flow.pk)}?step=w2"
    confirm = client.get(saved["Location"]).content.decode()
    assert "1 contact is waiting at “Wait 5 days”" in confirm
    assert f'href="{FLOWS_URL}edit/{flow.pk}/"' in confirm  # "Leave them" goes back
    assert next_runs(at_second) == {since + timedelta(days=2)}
    assert not ModelLogEntry.objects.filter(action="wagtail_flows.retime").exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "status, waiting, first_wait_days",
    [
        ("live", True, 3),  # no wait changed length
        ("live", False, 1),  # changed, but nobody waits there
        ("draft", True, 1),  # a draft has nobody to re-time
    ],
)
def test_no_question_when_there_is_nobody_to_re_time(
    admin_client, status, waiting, first_wait_days
):
    flow = running_flow(status=status)
    if waiting:
        waiting_at(flow, "w1", 2, timezone.now())
    saved = admin_client.post(f"{FLOWS_URL}edit/{flow.pk}/", edit_data(flow, first_wait_days))
    if status == "draft":  # edited in place
        assert saved.status_code == 302 and saved["Location"] == FLOWS_URL
        return
    flow.refresh_from_db()
    publish = f"{FLOWS_URL}{flow.pk}/publish/"
    published = admin_client.post(publish, {"revision": flow.latest_revision_id})
    assert published.status_code == 302 and published["Location"] == f"{FLOWS_URL}edit/{flow.pk}/"


@pytest.mark.django_db
def test_a_stale_or_forged_question_re_times_nothing(admin_client):
    flow = running_flow()
    since = timezone.now() - timedelta(hours=1)
    at_first = waiting_at(flow, "w1", 1, since)
    for steps in ("?step=s1", "?step=nope", ""):  # not a wait, not a step, nothing asked
        response = admin_client.post(RETIME_URL.format(pk=flow.pk) + steps, follow=True)
        assert any("nothing to re-time" in line for line in messages_of(response))
    assert next_runs(at_first) == {since + timedelta(days=3)}
    assert admin_client.get(RETIME_URL.format(pk=9999)).status_code == 404


@pytest.mark.django_db
def test_re_timing_needs_the_permission_to_edit_flows(client):
    flow = running_flow()
    since = timezone.now() - timedelta(hours=1)
    at_first = waiting_at(flow, "w1", 1, since)
    url = f"{RETIME_URL.format(pk=flow.pk)}?step=w1"
    client.force_login(make_staff_user("reader", "view_flow"))
    assert client.get(url).status_code == 403
    assert client.post(url).status_code == 403
    assert next_runs(at_first) == {since + timedelta(days=3)}
    client.logout()
    assert client.get(url)["Location"].startswith("/admin/login/")
