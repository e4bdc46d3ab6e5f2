"""Scoring rules and Settings › Lead scoring in the admin; grades in the Contacts listing."""

import pytest
from django.contrib.auth.models import Permission

from tests.conftest import make_staff_user
from tests.factories import ContactFactory, make_document, make_standard_page
from wagtail_flows.models import Contact, Event, ScoringRule, ScoringSettings

pytestmark = pytest.mark.django_db

RULES_URL = "/admin/flows/scoring/"
CONTACTS_URL = "/admin/flows/contacts/"


@pytest.fixture
def scorer(client):
    """A marketer who may manage scoring rules, and nothing else."""
    user = make_staff_user("scorer", "add_scoringrule", "change_scoringrule", "view_scoringrule")
    client.force_login(user)
    return client


def rule_data(**values):
    data = {
        "name": "Pricing page viewed",
        "active": "on",
        "event": "page_viewed",
        "page": "",
        "include_subpages": "on",
        "document": "",
        "custom_name": "",
        "points": "5",
        "cap_points": "",
        "cap_days": "30",
    }
    data.update(values)
    return data


def errors_of(response):
    return response.context["form"].errors


def test_a_marketer_creates_a_pricing_page_rule_with_the_page_chooser(scorer):
    pricing = make_standard_page("Pricing")
    form = scorer.get(f"{RULES_URL}create/")
    assert form.status_code == 200
    html = form.content.decode()
    assert 'name="page"' in html and "Choose a page" in html
    assert 'name="document"' in html and "Choose a document" in html
    response = scorer.post(f"{RULES_URL}create/", rule_data(page=str(pricing.pk), points="10"))
    assert response.status_code == 302
    rule = ScoringRule.objects.get()
    assert (rule.page_id, rule.points, rule.include_subpages) == (pricing.pk, 10, True)
    listing = scorer.get(RULES_URL).content.decode()
    assert "Pricing page viewed" in listing


def test_a_marketer_edits_a_rule_and_caps_it(scorer):
    whitepaper = make_document("Whitepaper", "whitepaper.pdf")
    rule = ScoringRule.objects.create(
        name="Whitepaper", event="document_downloaded", points=20, document=whitepaper
    )
    assert scorer.get(f"{RULES_URL}edit/{rule.pk}/").status_code == 200
    data = rule_data(
        name="Whitepaper",
        event="document_downloaded",
        document=str(whitepaper.pk),
        points="20",
        cap_points="40",
        cap_days="90",
    )
    assert scorer.post(f"{RULES_URL}edit/{rule.pk}/", data).status_code == 302
    rule.refresh_from_db()
    assert (rule.cap_points, rule.cap_days) == (40, 90)


@pytest.mark.parametrize(
    "values, field",
    [
        ({"points": "0"}, "points"),
        ({"points": "many"}, "points"),
        ({"event": "custom", "custom_name": "  "}, "custom_name"),
        (
            {"event": "custom", "custom_name": "demo", "cap_points": "10", "cap_days": "0"},
            "cap_days",
        ),
        ({"event": "email_opened", "page": "PAGE"}, "page"),
        ({"event": "page_viewed", "document": "DOC"}, "document"),
        ({"event": "something_else"}, "event"),
        ({"cap_points": "-3"}, "cap_points"),
    ],
)
def test_bad_rules_are_refused_naming_the_field(scorer, values, field):
    page, document = make_standard_page("Pricing"), make_document()
    substitutes = {"PAGE": str(page.pk), "DOC": str(document.pk)}
    values = {k: substitutes.get(v, v) for k, v in values.items()}
    response = scorer.post(f"{RULES_URL}create/", rule_data(**values))
    assert response.status_code == 200
    assert field in errors_of(response), errors_of(response)
    assert not ScoringRule.objects.exists()


def test_someone_without_the_scoring_permissions_cannot_add_rules(client):
    client.force_login(make_staff_user("viewer", "view_contact"))
    assert client.get(f"{RULES_URL}create/").status_code in (302, 403)
    client.post(f"{RULES_URL}create/", rule_data())
    assert not ScoringRule.objects.exists()


# --- Settings › Lead scoring -------------------------------------------------------------------


@pytest.fixture
def site_owner(client):
    user = make_staff_user("owner", "view_contact")
    user.user_permissions.add(Permission.objects.get(codename="change_scoringsettings"))
    client.force_login(user)
    return client


def settings_url():
    return f"/admin/settings/wagtail_flows/scoringsettings/{ScoringSettings.load().pk}/"


def settings_data(**values):
    data = {
        "decay": "points",
        "decay_points": "10",
        "decay_after_days": "30",
        "decay_percent": "10",
        "grade_a": "100",
        "grade_b": "50",
        "grade_c": "20",
    }
    data.update(values)
    return data


def test_the_site_owner_moves_the_bands_and_everyone_is_regraded(
    site_owner, django_capture_on_commit_callbacks
):
    ann = ContactFactory(score=60)
    assert ann.grade == "B"
    assert site_owner.get(settings_url()).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = site_owner.post(settings_url(), settings_data(grade_a="60"))
    assert response.status_code == 302
    assert ScoringSettings.load().grade_a == 60
    assert Contact.objects.get(pk=ann.pk).grade == "A"
    assert not Event.objects.filter(kind="grade_changed").exists()


@pytest.mark.parametrize(
    "values, field",
    [
        ({"grade_b": "150"}, "grade_b"),
        ({"decay_percent": "101"}, "decay_percent"),
        ({"decay_after_days": "0"}, "decay_after_days"),
        ({"decay_points": "-1"}, "decay_points"),
        ({"grade_a": "lots"}, "grade_a"),
    ],
)
def test_bad_settings_are_refused_naming_the_field(site_owner, values, field):
    response = site_owner.post(settings_url(), settings_data(**values))
    assert response.status_code == 200
    assert field in response.context["form"].errors, response.context["form"].errors
    assert ScoringSettings.load().grade_a == 100


# --- grades in the Contacts listing -----------------------------------------------------------


def test_contacts_show_their_grade_and_are_filtered_by_it(admin_client):
    ContactFactory(email="hot@example.com", score=150)
    ContactFactory(email="cold@example.com", score=0)
    listing = admin_client.get(CONTACTS_URL)
    assert "grade" in listing.content.decode().lower()
    hot = admin_client.get(CONTACTS_URL, {"grade__exact": "A"})
    assert [c.email for c in hot.context["object_list"]] == ["hot@example.com"]


def test_a_score_edited_in_the_admin_is_on_the_timeline_and_regrades(admin_client):
    contact = ContactFactory(email="ann@example.com")
    data = {"email": contact.email, "stage": "lead", "score": "75", "properties": "{}"}
    data.update({"tag_list": "", "first_name": "", "last_name": "", "timezone": "", "source": ""})
    assert admin_client.post(f"{CONTACTS_URL}edit/{contact.pk}/", data).status_code == 302
    contact = Contact.objects.get(pk=contact.pk)
    assert (contact.score, contact.grade) == (75, "B")
    event = Event.objects.get(contact=contact, kind="score_changed")
    assert event.data["source"] == "edit" and event.value == 75
    timeline = admin_client.get(f"{CONTACTS_URL}edit/{contact.pk}/").content.decode()
    assert "+75 edited in the admin (now 75)" in timeline
