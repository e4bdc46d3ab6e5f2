"""Listings accept only the lookups they declare: no password-hash oracle, no 500 on a bad
filter value (wagtail_flows/admin/listings.py), tried as a user who may only view contacts."""

import pytest
from django.contrib.auth.models import User

from tests.conftest import make_staff_user
from tests.factories import ContactFactory
from wagtail_flows.admin.listings import accepted_parameters
from wagtail_flows.models import ContactList, Flow, Message

pytestmark = pytest.mark.django_db

LISTINGS = {
    "flows": "/admin/flows/",
    "contacts": "/admin/flows/contacts/",
    "lists": "/admin/flows/lists/",
    "segments": "/admin/flows/segments/",
    "messages": "/admin/flows/messages/",
}
VIEWERS = {
    "flows": "view_flow",
    "contacts": "view_contact",
    "lists": "view_contactlist",
    "segments": "view_segment",
    "messages": "view_message",
}
# Each listing's filters, as the marketer sees them in its sidebar (plus search, ordering,
# paging, export).
DECLARED = {
    "flows": {"status__exact", "status__isnull"},
    "contacts": {
        "status__exact",
        "status__isnull",
        "stage__exact",
        "stage__isnull",
        "list",
        "tag",
        "segment",
        "score",
        "grade__exact",
        "grade__isnull",
        "activity",
    },
    "lists": set(),
    "segments": set(),
    "messages": {"status__exact", "status__isnull", "flow__id__exact", "flow__isnull"},
}
ALWAYS = {"o", "ot", "q", "p", "export", "e"}


@pytest.fixture
def hash_owner():
    admin = User.objects.create_superuser("boss", "boss@example.com", "s3cret-password")
    ContactFactory(email="boss@example.com", user=admin)
    return admin


def viewer(client, name):
    client.force_login(make_staff_user(f"{name}-viewer", VIEWERS[name]))
    return client


@pytest.mark.parametrize("name", LISTINGS)
def test_a_listing_loads_with_its_own_filters(client, name):
    response = viewer(client, name).get(LISTINGS[name])
    assert response.status_code == 200
    view = response.context["view"]
    assert accepted_parameters(view) == DECLARED[name] | ALWAYS


@pytest.mark.parametrize(
    "name, lookup",
    [
        ("contacts", "user__password__startswith"),
        ("messages", "contact__user__password__startswith"),
        ("flows", "name__startswith"),
        ("lists", "contacts__email__startswith"),
        ("segments", "name__regex"),
    ],
)
def test_an_undeclared_lookup_is_refused_whatever_its_value(client, hash_owner, name, lookup):
    client = viewer(client, name)
    prefix = hash_owner.password[:3]
    right = client.get(LISTINGS[name], {lookup: prefix})
    wrong = client.get(LISTINGS[name], {lookup: "zzz"})
    assert right.status_code == wrong.status_code == 400
    assert right.content == wrong.content  # nothing to tell a guess from another
    assert lookup in right.content.decode()
    assert prefix not in right.content.decode()


@pytest.mark.parametrize(
    "name, query",
    [
        ("messages", {"flow__id__exact": "abc"}),
        ("contacts", {"list": "abc"}),
        ("contacts", {"score": "lots"}),
    ],
)
def test_a_bad_value_for_a_declared_filter_is_a_400_naming_it(client, name, query):
    Flow.objects.create(name="Welcome")  # so that the flow and list filters show
    ContactList.objects.create(name="Newsletter")
    response = viewer(client, name).get(LISTINGS[name], query)
    assert response.status_code == 400
    assert next(iter(query)) in response.content.decode()


def test_declared_filters_still_filter(client):
    ContactFactory(email="sub@example.com", status="subscribed")
    ContactFactory(email="gone@example.com", status="unsubscribed")
    response = viewer(client, "contacts").get(
        LISTINGS["contacts"], {"status__exact": "unsubscribed", "q": "example"}
    )
    assert response.status_code == 200
    assert [c.email for c in response.context["view"].queryset] == ["gone@example.com"]
    assert not Message.objects.exists()
