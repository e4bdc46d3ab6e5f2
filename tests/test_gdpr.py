"""A site owner can hand a person everything held on them, and erase it on request."""

import json
from multiprocessing import Queue, Value

import pytest
from django.test import Client
from django_q.models import Failure, OrmQ, Task
from django_q.signing import SignedPackage
from django_q.tasks import async_task
from wagtail.contrib.forms.models import FormSubmission

from tests.factories import ContactFactory, ContactListFactory, make_form_page, make_standard_page
from tests.test_sweeps import queue_for_real  # noqa: F401  (a fixture)
from tests.testapp.models import FormPage
from wagtail_flows import capture as tracking
from wagtail_flows import gdpr
from wagtail_flows.engine.queue import (
    ADVANCE_BATCH_FUNC,
    ADVANCE_ENROLLMENT_FUNC,
    DELIVER_BATCH_FUNC,
    DELIVER_MESSAGE_FUNC,
    enqueue,
)
from wagtail_flows.models import (
    Contact,
    Enrollment,
    Event,
    Flow,
    ListMembership,
    Message,
    StepRun,
    Suppression,
    TaggedContact,
    Visitor,
)

pytestmark = pytest.mark.django_db
BROWSER = "Mozilla/5.0 (X11) Firefox/128.0"


@pytest.fixture
def known_person():
    """Ann browsed, signed up, joined a list, got a tag, an email and a flow run."""
    browser = Client(headers={"user-agent": BROWSER})
    browser.get(make_standard_page("Blog").url)
    form = make_form_page("Newsletter")
    browser.post(form.url, {"email": "ann@example.com", "subscribe_to_our_newsletter": "on"})
    ann = Contact.objects.get(email="ann@example.com")
    ann.consents.get().confirm()  # she clicked the link in the confirmation email
    ann.add_to_list(ContactListFactory(name="Newsletter"))
    ann.add_tag("reader")
    enrollment = Enrollment.objects.create(flow=Flow.objects.create(name="Welcome"), contact=ann)
    StepRun.objects.create(enrollment=enrollment, step_id="s1", step_type="send_email")
    Message.objects.create(contact=ann, enrollment=enrollment, to_email=ann.email, subject="Hi")
    return ann, browser


def test_the_export_holds_everything_we_know(known_person):
    ann, _browser = known_person
    data = gdpr.export_contact(ann)
    json.dumps(data)  # JSON-ready
    assert data["contact"]["email"] == "ann@example.com"
    assert data["contact"]["status"] == "subscribed"
    assert data["tags"] == ["reader"]
    assert [m["list"] for m in data["lists"]] == ["Newsletter"]
    assert {e["kind"] for e in data["events"]} >= {
        "page_viewed",
        "form_submitted",
        "list_joined",
        "tag_added",
    }
    assert len(data["visitors"]) == 1
    assert data["messages"][0]["subject"] == "Hi"
    assert data["enrollments"][0]["flow"] == "Welcome"
    assert data["enrollments"][0]["steps"][0]["step_type"] == "send_email"
    (submission,) = data["form_submissions"]
    assert submission["page"] == "Newsletter"
    assert submission["data"]["email"] == "ann@example.com" and submission["submitted_at"]
    (consent,) = data["consents"]  # the proof of her opt-in is hers too
    assert consent["email"] == "ann@example.com" and consent["confirmed_at"]


def test_another_contacts_data_is_not_exported(known_person):
    ann, _browser = known_person
    other = ContactFactory(email="bob@example.com")
    tracking.record_event("custom", contact=other, name="secret")
    exported = json.dumps(gdpr.export_contact(ann))
    assert "bob@example.com" not in exported and "secret" not in exported


def test_erasing_deletes_the_person_and_keeps_only_a_hash(known_person):
    ann, browser = known_person
    bob = ContactFactory(email="bob@example.com")
    tracking.record_event("custom", contact=bob, name="kept")

    gdpr.erase_contact(ann)

    assert list(Contact.objects.all()) == [bob]
    assert list(Event.objects.values_list("name", flat=True)) == ["kept"]
    for model in (Visitor, Enrollment, StepRun, Message, ListMembership, TaggedContact):
        assert not model.objects.exists(), model
    suppression = Suppression.objects.get()
    assert "ann" not in suppression.email_hash and suppression.reason == "erased"
    assert Suppression.is_suppressed("ANN@example.com")


def test_an_erased_person_who_signs_up_again_is_never_emailed(known_person):
    ann, browser = known_person
    gdpr.erase_contact(ann)
    form = make_form_page("Landing")
    browser.post(form.url, {"email": "ann@example.com", "subscribe_to_our_newsletter": "on"})
    again = Contact.objects.get(email="ann@example.com")
    assert again.status == "pending" and not again.consents.exists()  # no confirmation sent
    assert not again.can_receive_email() and not again.can_receive_email(transactional=True)


def test_the_erased_browsers_next_visit_starts_afresh(known_person):
    ann, browser = known_person
    gdpr.erase_contact(ann)
    page = make_standard_page("Pricing")
    assert browser.get(page.url).status_code == 200  # its old cookie breaks nothing
    event = Event.objects.get(kind="page_viewed")
    assert event.contact_id is None


def test_erasing_returns_what_it_deleted_store_by_store(known_person):
    ann, _browser = known_person
    messages = ann.messages.count()  # the flow's, and a consent confirmation if one was asked
    expected = gdpr.holdings(ann).counts()

    assert gdpr.erase_contact(ann) == expected
    assert expected == {
        "events": 4,
        "enrollments": 1,
        "messages": messages,
        "memberships": 1,
        "form_submissions": 1,
        "form_mentions": 0,
        "data_mentions": 0,
        "queued_tasks": 0,
        "finished_tasks": 0,
    }


# --- Wagtail form submissions ------------------------------------------------------------------


def newsletter_submissions():
    return FormSubmission.objects.filter(page__title="Newsletter").order_by("pk")


def test_erasing_deletes_the_persons_form_submissions_and_spares_everyone_elses(known_person):
    ann, _browser = known_person
    page = FormPage.objects.get(title="Newsletter")
    Client(headers={"user-agent": BROWSER}).post(page.url, {"email": "bob@example.com"})
    # Sent before the site installed wagtail-flows: no event names it, its email field does.
    FormSubmission.objects.bulk_create(
        [
            FormSubmission(page=page, form_data={"email": "  ANN@example.com"}),
            FormSubmission(
                page=page,
                form_data={"email": "bob@example.com", "message": "Also ask ANN@example.com."},
            ),
        ]
    )

    counts = gdpr.erase_contact(ann)

    assert (counts["form_submissions"], counts["form_mentions"]) == (2, 1)
    kept = [s.form_data for s in newsletter_submissions()]
    assert [data["email"] for data in kept] == ["bob@example.com", "bob@example.com"]
    assert kept[1]["message"] == "Also ask [erased]."


from tests.test_tracking_custom_submission import (  # noqa: E402  (the site's own model)
    contest_entry,  # noqa: F401  (fixture)
    contest_page,  # noqa: F401  (fixture)
)


def test_a_custom_submission_model_is_erased_too(contest_entry, contest_page):  # noqa: F811
    browser = Client(headers={"user-agent": BROWSER})
    browser.post(contest_page.url, {"email": "dee@example.com", "first_name": "Dee"})
    browser.post(contest_page.url, {"email": "eve@example.com", "first_name": "Eve"})
    dee = Contact.objects.get(email="dee@example.com")
    assert gdpr.export_contact(dee)["form_submissions"][0]["data"]["first_name"] == "Dee"

    assert gdpr.erase_contact(dee)["form_submissions"] == 1

    assert [e.form_data["email"] for e in contest_entry.objects.all()] == ["eve@example.com"]


# --- django-q2's task records -----------------------------------------------------------------


def welcome_pack(email):
    """A site's own task that takes an address (as sites' tasks do)."""
    return f"Welcome pack sent to {email}"


def shop_sync(email):
    raise LookupError(f"No shop account for {email}")


@pytest.fixture
def bob(known_person):
    bob = ContactFactory(email="bob@example.com")
    flow = Flow.objects.get(name="Welcome")
    enrollment = Enrollment.objects.create(flow=flow, contact=bob)
    Message.objects.create(contact=bob, enrollment=enrollment, to_email=bob.email, subject="Hi")
    return bob


def stored(func):
    return Task.objects.filter(func=func)


def run_like_a_cluster(func, *args):
    """Queue the task in the ORM broker and hand it to django-q2's own worker and monitor
    in this process, as a cluster's pusher does: its row, success or failure, is saved as a
    cluster saves it (sync mode would raise a failure instead of saving it)."""
    from django_q.brokers.orm import ORM
    from django_q.conf import Conf
    from django_q.monitor import monitor
    from django_q.worker import worker

    broker = ORM(list_key=Conf.PREFIX)
    async_task(func, *args, sync=False, broker=broker)
    tasks, results = Queue(), Queue()
    for ack_id, package in broker.dequeue():
        tasks.put({**SignedPackage.loads(package), "ack_id": ack_id})
    tasks.put("STOP")
    worker(tasks, results, Value("f", -1))
    results.put("STOP")
    monitor(results, broker)
    for queue in (tasks, results):
        queue.close()
        queue.join_thread()


def test_erasing_deletes_the_task_records_that_name_the_person(known_person, bob):
    """Rows written by django-q2's own worker and monitor (its sync mode, saving every
    result): the records of an earlier release that returned a run with its contact, the
    site's own tasks given the address, a failure quoting it, and ours, which carry ids."""
    ann, _browser = known_person
    anns_run, anns_message = ann.enrollments.get(), ann.messages.get(subject="Hi")
    bobs_message = bob.messages.get()
    run_like_a_cluster("wagtail_flows.engine.advance.advance_enrollment", anns_run.pk)
    assert stored("wagtail_flows.engine.advance.advance_enrollment").get().result.contact == ann
    run_like_a_cluster("tests.test_gdpr.welcome_pack", ann.email)
    run_like_a_cluster("tests.test_gdpr.shop_sync", ann.email)
    assert "No shop account for ann@example.com" in Failure.objects.get().result
    run_like_a_cluster(DELIVER_MESSAGE_FUNC, anns_message.pk)
    run_like_a_cluster(DELIVER_MESSAGE_FUNC, bobs_message.pk)
    run_like_a_cluster(DELIVER_BATCH_FUNC, [anns_message.pk, bobs_message.pk])
    run_like_a_cluster("tests.test_gdpr.welcome_pack", bob.email)
    # The failure stays in the broker for its retry, as it does for a cluster.
    assert [t["func"] for t in queued()] == ["tests.test_gdpr.shop_sync"]
    expected = gdpr.holdings(ann).counts()

    counts = gdpr.erase_contact(ann)

    assert counts == expected
    assert (counts["finished_tasks"], counts["queued_tasks"]) == (5, 1)
    assert not OrmQ.objects.exists()
    assert [(t.func, t.args) for t in Task.objects.order_by("started")] == [
        (DELIVER_MESSAGE_FUNC, (bobs_message.pk,)),
        ("tests.test_gdpr.welcome_pack", ("bob@example.com",)),
    ]


def queued():
    return [SignedPackage.loads(q.payload) for q in OrmQ.objects.order_by("pk")]


@pytest.mark.usefixtures("queue_for_real")
def test_erasing_takes_the_persons_queued_tasks_out_of_the_queue(known_person, bob):
    ann, _browser = known_person
    anns_run, bobs_run = ann.enrollments.get(), bob.enrollments.get()
    enqueue(ADVANCE_ENROLLMENT_FUNC, anns_run.pk)
    enqueue(ADVANCE_ENROLLMENT_FUNC, bobs_run.pk)
    enqueue(ADVANCE_BATCH_FUNC, [anns_run.pk, bobs_run.pk], None, None)  # bob's run stays due
    async_task("tests.test_gdpr.welcome_pack", "Ann@Example.com")

    assert gdpr.erase_contact(ann)["queued_tasks"] == 2

    assert [(t["func"], t["args"]) for t in queued()] == [
        (ADVANCE_ENROLLMENT_FUNC, (bobs_run.pk,)),
        (ADVANCE_BATCH_FUNC, ([anns_run.pk, bobs_run.pk], None, None)),
    ]


def test_erasing_a_referred_friend_keeps_the_referrers_data_without_the_friends_address():
    """Ann refers Bob through a form; erasing Bob takes his address out of Ann's submission,
    event and run, and deletes none of Ann's."""
    from wagtail.contrib.forms.models import FormSubmission

    referral = make_form_page(
        "Refer a friend", fields=[("Email", "email", True), ("Friends email", "singleline", True)]
    )
    Client().post(referral.url, {"email": "ann@example.com", "friends_email": "Bob@Example.com"})
    ann = Contact.objects.get(email="ann@example.com")
    bob = ContactFactory(email="bob@example.com")
    Enrollment.objects.create(
        flow=Flow.objects.create(name="Referral"),
        contact=ann,
        context={"event": {"friends_email": "bob@example.com"}},
    )

    counts = gdpr.erase_contact(bob)

    assert counts["form_submissions"] == 0 and counts["form_mentions"] == 1
    assert counts["data_mentions"] == 2  # Ann's form_submitted event and her run
    assert Contact.objects.filter(pk=ann.pk).exists()
    (submission,) = FormSubmission.objects.all()
    assert submission.form_data["email"] == "ann@example.com"
    assert submission.form_data["friends_email"] == "[erased]"
    event = Event.objects.get(contact=ann, kind="form_submitted")
    assert "bob" not in json.dumps(event.data).lower()
    assert Enrollment.objects.get(contact=ann).context == {"event": {"friends_email": "[erased]"}}
