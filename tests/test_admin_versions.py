"""An editor changes a live flow: the change waits as a draft, the published version runs on
unchanged, and a publisher signs it off after seeing what changed; every version is kept and
can come back."""

import pytest
from django.core import mail
from wagtail.models import ModelLogEntry

from tests.factories import ContactFactory, make_email_page
from tests.test_admin import FLOWS_URL, flow_form_data, messages_of
from wagtail_flows.admin.forms import FLOW_EDIT_HANDLER
from wagtail_flows.models import Enrollment, Flow
from wagtail_flows.models.events import record_event
from wagtail_flows.models.versions import VERSIONED_FIELDS

pytestmark = pytest.mark.django_db


def live_flow():
    page = make_email_page("Spring offer")
    flow = Flow.objects.create(
        name="Spring offer",
        triggers=[{"type": "form_submitted", "value": {"form_page": None}, "id": "t1"}],
        steps=[
            {"type": "wait", "value": {"amount": 1, "unit": "days"}, "id": "w1"},
            {"type": "send_email", "value": {"page": page.pk, "subject_override": ""}, "id": "s1"},
        ],
    )
    flow.activate()
    return flow, page


def retargeted(page, kind="transactional"):
    """The edit form retargeted: any page viewed, transactional, the wait gone, a tag added."""
    data = flow_form_data(
        "Spring offer",
        [
            ("send_email", {"page": page.pk, "subject_override": ""}),
            ("add_tag", {"tag": "spring"}),
        ],
        kind=kind,
    )
    data.update(
        {
            "triggers-count": "1",
            "triggers-0-type": "page_viewed",
            "triggers-0-deleted": "",
            "triggers-0-order": "0",
            "triggers-0-value-page": "",
            "triggers-0-value-min_views": "1",
            "steps-0-id": "s1",
        }
    )
    return data


def changes_url(flow):
    return f"{FLOWS_URL}{flow.pk}/changes/"


def publish(client, flow, revision_id=None):
    revision_id = revision_id or Flow.objects.get(pk=flow.pk).latest_revision_id
    return client.post(f"{FLOWS_URL}{flow.pk}/publish/", {"revision": revision_id})


def text_of(response):
    return " ".join(response.content.decode().split())


def test_an_editor_retargets_a_live_flow_and_it_keeps_running_as_published(client, flows_editor):
    flow, page = live_flow()
    client.force_login(flows_editor)

    saved = client.post(f"{FLOWS_URL}edit/{flow.pk}/", retargeted(page))

    assert saved.status_code == 302 and saved["Location"] == changes_url(flow)
    flow.refresh_from_db()
    assert flow.kind == "marketing" and flow.triggers[0].block_type == "form_submitted"
    assert [step.id for step in flow.steps] == ["w1", "s1"]
    assert flow.has_draft and flow.latest_revision.user == flows_editor
    # The unsubscribed contact browsing the site is not enrolled, let alone emailed.
    browsing = ContactFactory(status="unsubscribed")
    record_event("page_viewed", contact=browsing, page=page.get_parent())
    assert not Enrollment.objects.filter(contact=browsing).exists() and not mail.outbox
    # The form shows the draft, not the published version, with a notice saying so.
    form = text_of(client.get(f"{FLOWS_URL}edit/{flow.pk}/"))
    assert "You are editing a draft saved by editor" in form
    assert 'value="transactional" selected' in client.get(
        f"{FLOWS_URL}edit/{flow.pk}/"
    ).content.decode().replace("\n", "")


def test_the_changes_page_shows_the_draft_beside_the_published_version(client, flows_editor):
    flow, page = live_flow()
    client.force_login(flows_editor)
    client.post(f"{FLOWS_URL}edit/{flow.pk}/", retargeted(page))

    response = client.get(changes_url(flow))
    page_text = text_of(response)
    changed = {s.label: (s.before, s.after) for s in response.context["changes"].changed_sections}
    assert changed == {
        "Kind": (["Marketing"], ["Transactional"]),
        "Triggers": (["Submits any form"], ["Views any page"]),
    }
    steps = [(s.change, s.before, s.after) for s in response.context["changes"].steps]
    assert steps == [
        ("removed", "Wait 1 day", ""),
        ("unchanged", "Send “Spring offer”", "Send “Spring offer”"),
        ("added", "", "Add tag “spring”"),
    ]
    assert "2 settings changed; steps: 1 added, 1 removed, 0 changed." in page_text
    # The editor may not publish, and is told who can.
    assert "Publish this draft" not in page_text
    assert "Only users allowed to activate flows can publish a draft of a live flow." in page_text


def test_an_editor_cannot_publish_and_nothing_changes(client, flows_editor):
    flow, page = live_flow()
    client.force_login(flows_editor)
    client.post(f"{FLOWS_URL}edit/{flow.pk}/", retargeted(page))

    assert publish(client, flow).status_code == 403
    flow.refresh_from_db()
    assert flow.kind == "marketing" and flow.has_draft
    assert not ModelLogEntry.objects.filter(action="wagtail_flows.publish").exists()


def test_a_publisher_signs_off_the_draft_and_it_runs(client, flows_editor, flows_publisher):
    flow, page = live_flow()
    waiting = Enrollment.objects.create(
        flow=flow, contact=ContactFactory(), status="waiting", current_step="s1"
    )
    client.force_login(flows_editor)
    client.post(f"{FLOWS_URL}edit/{flow.pk}/", retargeted(page, kind="marketing"))
    draft_id = Flow.objects.get(pk=flow.pk).latest_revision_id
    client.force_login(flows_publisher)
    assert "Publish this draft" in text_of(client.get(changes_url(flow)))

    response = publish(client, flow)

    assert response.status_code == 302 and response["Location"] == f"{FLOWS_URL}edit/{flow.pk}/"
    flow.refresh_from_db()
    assert flow.triggers[0].block_type == "page_viewed" and not flow.has_draft
    assert [step.id for step in flow.steps][0] == "s1" and flow.live_revision_id == draft_id
    assert Enrollment.objects.get(pk=waiting.pk).current_step == "s1"  # runs go on by block id
    entry = ModelLogEntry.objects.get(action="wagtail_flows.publish")
    assert entry.user == flows_publisher and entry.revision_id == draft_id
    history_page = client.get(f"{FLOWS_URL}history/{flow.pk}/")
    assert history_page.status_code == 200
    history = text_of(history_page)
    assert "Saved a draft of the live flow" in history
    assert "Published the draft: it is the version that runs" in history


def test_a_draft_changed_after_review_is_not_published(client, flows_editor, flows_publisher):
    flow, page = live_flow()
    client.force_login(flows_editor)
    client.post(f"{FLOWS_URL}edit/{flow.pk}/", retargeted(page, kind="marketing"))
    reviewed = Flow.objects.get(pk=flow.pk).latest_revision_id
    client.post(f"{FLOWS_URL}edit/{flow.pk}/", retargeted(page))  # changed again meanwhile

    client.force_login(flows_publisher)
    response = publish(client, flow, revision_id=reviewed)

    follow = client.get(response["Location"])
    assert "The draft changed since it was reviewed: review it again." in messages_of(follow)
    flow.refresh_from_db()
    assert flow.triggers[0].block_type == "form_submitted"


def test_a_draft_that_cannot_go_live_is_refused_at_save_naming_the_field(client, flows_editor):
    flow, page = live_flow()
    client.force_login(flows_editor)
    data = retargeted(page)
    data["steps-0-value-page"] = ""  # the send step loses its email

    response = client.post(f"{FLOWS_URL}edit/{flow.pk}/", data)

    assert response.status_code == 200
    assert "Steps" in text_of(response) and not Flow.objects.get(pk=flow.pk).has_draft


def test_the_draft_can_be_discarded(client, flows_editor):
    flow, page = live_flow()
    client.force_login(flows_editor)
    client.post(f"{FLOWS_URL}edit/{flow.pk}/", retargeted(page))

    response = client.post(f"{FLOWS_URL}{flow.pk}/discard/")

    assert response.status_code == 302
    flow.refresh_from_db()
    assert not flow.has_draft and flow.kind == "marketing"
    assert ModelLogEntry.objects.filter(action="wagtail_flows.discard_draft").exists()


def test_every_version_is_kept_and_an_earlier_one_comes_back_as_a_draft(
    client, flows_editor, flows_publisher
):
    flow, page = live_flow()
    first = flow.live_revision_id
    client.force_login(flows_editor)
    client.post(f"{FLOWS_URL}edit/{flow.pk}/", retargeted(page, kind="marketing"))
    client.force_login(flows_publisher)
    publish(client, flow)

    listing = client.get(f"{FLOWS_URL}{flow.pk}/versions/")
    assert [r.pk for r in listing.context["revisions"]][-1] == first
    assert "published" in text_of(listing)
    restored = client.post(f"{FLOWS_URL}{flow.pk}/versions/{first}/restore/")

    assert restored.status_code == 302 and restored["Location"] == changes_url(flow)
    flow.refresh_from_db()
    assert flow.has_draft and flow.triggers[0].block_type == "page_viewed"  # not yet live
    assert flow.latest_revision.as_object().triggers[0].block_type == "form_submitted"
    assert ModelLogEntry.objects.get(action="wagtail_flows.restore").user == flows_publisher
    publish(client, flow)
    flow.refresh_from_db()
    assert flow.triggers[0].block_type == "form_submitted"
    assert [step.id for step in flow.steps] == ["w1", "s1"]


def test_a_draft_flow_is_edited_in_place_and_keeps_its_history(admin_client):
    flow = Flow.objects.create(name="Draft", triggers=[])
    data = flow_form_data("Draft renamed")

    admin_client.post(f"{FLOWS_URL}edit/{flow.pk}/", data)

    flow.refresh_from_db()
    assert flow.name == "Draft renamed" and not flow.has_draft
    assert flow.revisions.count() == 1


@pytest.mark.parametrize("url", ["changes/", "versions/"])
def test_versions_need_the_permission_to_view_flows(client, url):
    from tests.conftest import make_staff_user

    flow, _ = live_flow()
    client.force_login(make_staff_user("contacts-only", "view_contact"))
    assert client.get(f"{FLOWS_URL}{flow.pk}/{url}").status_code == 403
    restore = f"{FLOWS_URL}{flow.pk}/versions/{flow.live_revision_id}/restore/"
    assert client.post(restore).status_code == 403
    assert client.post(f"{FLOWS_URL}{flow.pk}/discard/").status_code == 403


def test_a_version_holds_every_field_the_edit_form_sets():
    form_fields = set(FLOW_EDIT_HANDLER.bind_to_model(Flow).get_form_options()["fields"])
    assert form_fields <= set(VERSIONED_FIELDS)


def test_a_flow_live_before_versions_existed_keeps_what_runs_as_its_first_version(
    client, flows_editor
):
    page = make_email_page("Old offer")
    send = {"type": "send_email", "value": {"page": page.pk, "subject_override": ""}, "id": "s1"}
    flow = Flow.objects.create(
        name="Spring offer",
        status="live",
        triggers=[{"type": "form_submitted", "value": {"form_page": None}, "id": "t1"}],
        steps=[send],
    )
    assert flow.live_revision_id is None and not flow.revisions.exists()
    client.force_login(flows_editor)

    client.post(f"{FLOWS_URL}edit/{flow.pk}/", retargeted(page))

    flow.refresh_from_db()
    assert flow.has_draft and flow.revisions.count() == 2
    assert flow.live_revision.as_object().triggers[0].block_type == "form_submitted"
    steps = [s.change for s in client.get(changes_url(flow)).context["changes"].steps]
    assert steps == ["unchanged", "added"]


@pytest.mark.parametrize("revision", ["abc", "-1", "9999999"])
def test_a_revision_that_is_not_the_flows_is_a_404(admin_client, revision):
    flow, page = live_flow()
    other, _ = live_flow()
    for url in (f"{changes_url(flow)}?revision={revision}",):
        assert admin_client.get(url).status_code == 404
    assert publish(admin_client, flow, revision_id=revision).status_code == 404
    foreign = other.live_revision_id
    assert admin_client.get(f"{changes_url(flow)}?revision={foreign}").status_code == 404
    restore = f"{FLOWS_URL}{flow.pk}/versions/{foreign}/restore/"
    assert admin_client.post(restore).status_code == 404
