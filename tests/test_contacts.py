"""A marketer's actions on a contact change it once and leave a line on its timeline."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection
from django.utils import timezone

from tests.factories import ContactFactory, ContactListFactory
from wagtail_flows.models import Contact, Event, Suppression

pytestmark = pytest.mark.django_db


def kinds(contact):
    return list(
        Event.objects.filter(contact=contact).order_by("pk").values_list("kind", flat=True)
    )


def test_joining_and_leaving_a_list_once(contact):
    customers = ContactListFactory(name="Customers")
    assert contact.add_to_list(customers) is True
    assert contact.add_to_list(customers) is False
    assert list(contact.lists.all()) == [customers]
    assert contact.remove_from_list(customers) is True
    assert contact.remove_from_list(customers) is False
    assert kinds(contact) == ["list_joined", "list_left"]
    joined = Event.objects.get(kind="list_joined")
    assert (joined.object_id, joined.name) == (str(customers.pk), "Customers")


def test_tags_are_added_and_removed_once_case_insensitively(contact):
    assert contact.add_tag("VIP") is True
    assert contact.add_tag("vip") is False
    assert list(contact.tags.names()) == ["VIP"]
    assert contact.remove_tag("Vip") is True
    assert contact.remove_tag("vip") is False
    assert kinds(contact) == ["tag_added", "tag_removed"]


def test_a_blank_tag_is_refused(contact):
    with pytest.raises(ValidationError) as error:
        contact.add_tag("  ")
    assert "tag" in error.value.message_dict


def test_stage_changes_are_recorded_with_from_and_to(contact):
    assert contact.set_stage("lead") is True
    assert contact.set_stage("lead") is False
    contact.refresh_from_db()
    assert contact.stage == "lead"
    assert Event.objects.get(kind="stage_changed").data == {"from": "subscriber", "to": "lead"}


def test_an_unknown_stage_is_named(contact):
    with pytest.raises(ValidationError) as error:
        contact.set_stage("royalty")
    assert "stage" in error.value.message_dict
    assert not Event.objects.exists()


def test_score_changes_add_up(contact):
    assert contact.change_score(10) is True
    assert contact.change_score(-3) is True
    assert contact.change_score(0) is False
    assert Contact.objects.get(pk=contact.pk).score == 7 == contact.score
    assert list(Event.objects.filter(kind="score_changed").values_list("data", flat=True)) == [
        {"delta": -3, "to": 7},
        {"delta": 10, "to": 10},
    ]


def test_unsubscribing_once(contact):
    assert contact.unsubscribe("too many emails") is True
    assert contact.unsubscribe() is False
    contact.refresh_from_db()
    assert contact.status == "unsubscribed" and contact.unsubscribed_at is not None
    assert not contact.can_receive_email()
    assert Event.objects.get(kind="unsubscribed").data == {"reason": "too many emails"}


def test_a_bounce_stops_email_and_is_recorded_once(contact):
    assert contact.mark_bounced() is True
    assert contact.mark_bounced() is False
    assert contact.unsubscribe() is False  # already stopped
    contact.refresh_from_db()
    assert contact.status == "bounced" and not contact.can_receive_email(transactional=True)
    assert Event.objects.get().name == "bounced"


def test_a_complaint_suppresses_the_address(contact):
    assert contact.mark_complained() is True
    assert contact.mark_complained() is False
    assert contact.mark_bounced() is False  # a complaint outranks a bounce
    assert Suppression.is_suppressed("ANN@example.com")
    assert Contact.objects.get(pk=contact.pk).status == "complained"


def test_two_contacts_never_share_an_address():
    ContactFactory(email="zoe@example.com")
    with pytest.raises(IntegrityError):
        ContactFactory(email="Zoe@Example.com")


def test_contacts_inactive_since_a_date():
    now = timezone.now()
    stale = ContactFactory(last_activity_at=now - timedelta(days=90))
    ContactFactory(last_activity_at=now - timedelta(days=2))
    never = ContactFactory(created_at=now - timedelta(days=60))
    ContactFactory()  # new, never active
    assert set(Contact.objects.inactive_since(now - timedelta(days=30))) == {stale, never}


def test_with_email_matches_like_the_unique_index():
    zoe = ContactFactory(email="zoe@example.com")
    assert Contact.objects.with_email(" ZOE@example.com").get() == zoe


# --- the queries the engine and segments run are index scans --------------------------------


@pytest.fixture
def busy_site():
    """Enough contacts and events for the planner's statistics to mean something."""
    now = timezone.now()
    contacts = Contact.objects.bulk_create(
        Contact(email=f"c{n}@example.com", last_activity_at=now - timedelta(days=n % 90))
        for n in range(3000)
    )
    kinds = ["page_viewed", "email_opened", "link_clicked", "form_submitted", "order_placed"]
    Event.objects.bulk_create(
        Event(contact=c, kind=kinds[n % 5], created_at=now - timedelta(hours=n))
        for c in contacts[:300]
        for n in range(20)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return contacts


def explain(queryset):
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("EXPLAIN " + sql, params)
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        return "\n".join(str(row) for row in cursor.fetchall())


def test_events_of_a_contact_of_a_kind_since_a_date_use_an_index(busy_site):
    contact = busy_site[7]
    since = timezone.now() - timedelta(days=7)
    # As a condition counts them ("did X at least N times in D days"): no ordering.
    events = Event.objects.filter(contact=contact, kind="page_viewed", created_at__gte=since)
    plan = explain(events.order_by())
    assert "wf_event_contact_kind" in plan
    assert "Seq Scan" not in plan and "SCAN wagtail_flows_event" not in plan


def test_contacts_inactive_since_a_date_use_indexes(busy_site):
    plan = explain(Contact.objects.inactive_since(timezone.now() - timedelta(days=88)))
    assert "last_activity_at" in plan
    assert "Seq Scan" not in plan and "SCAN wagtail_flows_contact" not in plan


def test_finding_a_contact_by_email_uses_the_unique_index(busy_site):
    plan = explain(Contact.objects.with_email("zoe@example.com"))
    assert "wagtail_flows_contact_email_ci" in plan
