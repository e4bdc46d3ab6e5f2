"""A French-speaking marketer works in French: the plugin's admin screens follow their
Wagtail language, its public pages follow the site's, and no sentence of ours is left in
English. The catalog ships complete and compiled."""

import html
import re
import uuid
from pathlib import Path

import pytest
from django.utils import translation
from wagtail.users.models import UserProfile

import wagtail_flows
from tests.factories import ContactFactory, ContactListFactory, make_email_page, make_form_page
from wagtail_flows.emails import tokens
from wagtail_flows.models import Enrollment, Event, Flow, Message, Segment

LOCALE = Path(wagtail_flows.__file__).parent / "locale" / "fr" / "LC_MESSAGES"
PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sdrf]|%(?:\.\d+)?[sdrf]|%%|\{[a-z_.]+\}|\{\{.*?\}\}")


# --- the catalog ----------------------------------------------------------------------------


ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}


def _unquote(line):
    quoted = line[line.index('"') + 1 : line.rindex('"')]
    return re.sub(r"\\(.)", lambda m: ESCAPES.get(m.group(1), m.group(0)), quoted)


def catalog():
    """The French .po as [(flags, msgid, [msgstr, ...])], header left out."""
    entries, current, field = [], None, None
    text = (LOCALE / "django.po").read_text(encoding="utf-8") + "\n\n"
    for raw_line in text.splitlines():
        line = raw_line.strip()
        if not line:
            if current and current["msgid"]:
                entries.append(current)
            current, field = None, None
            continue
        current = current or {"flags": "", "msgid": "", "plural": "", "msgstr": {}}
        if line.startswith("#,"):
            current["flags"] += line
        elif line.startswith("#"):
            continue
        elif line.startswith("msgid_plural "):
            field = "plural"
            current["plural"] = _unquote(line)
        elif line.startswith("msgid "):
            field = "msgid"
            current["msgid"] = _unquote(line)
        elif line.startswith("msgstr"):
            field = int(line[7]) if line.startswith("msgstr[") else 0
            current["msgstr"][field] = _unquote(line)
        elif line.startswith('"'):
            if isinstance(field, int):
                current["msgstr"][field] += _unquote(line)
            else:
                current[field] += _unquote(line)
    return entries


ENTRIES = catalog()


def test_the_french_catalog_translates_every_string_and_keeps_their_placeholders():
    assert len(ENTRIES) > 1000
    untranslated = [e["msgid"] for e in ENTRIES if not all(e["msgstr"].values())]
    fuzzy = [e["msgid"] for e in ENTRIES if "fuzzy" in e["flags"]]
    assert untranslated == [] and fuzzy == []
    for e in ENTRIES:
        wanted = sorted(PLACEHOLDER.findall(e["plural"] or e["msgid"]))
        for translated in e["msgstr"].values():
            assert sorted(PLACEHOLDER.findall(translated)) == wanted or (
                e["plural"] and set(PLACEHOLDER.findall(translated)) <= set(wanted)
            ), (e["msgid"], translated)


def test_the_compiled_catalog_ships_with_the_package_and_is_up_to_date():
    mo, po = LOCALE / "django.mo", LOCALE / "django.po"
    assert mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime - 1
    setup = (Path(wagtail_flows.__file__).parent.parent / "setup.cfg").read_text()
    assert "locale/**/*" in setup
    with translation.override("fr"):
        assert translation.gettext("Add a trigger: nothing would start this flow.") == (
            "Ajoutez un déclencheur : rien ne démarrerait ce parcours."
        )


# --- the screens ----------------------------------------------------------------------------


def ours_in_english():
    """Our sentences whose French differs: two words or more, no placeholder (a sentence
    with one cannot be found verbatim), so each is unlikely to turn up by chance."""
    found = []
    for e in ENTRIES:
        msgid, french = e["msgid"], e["msgstr"][0]
        if e["plural"] or PLACEHOLDER.search(msgid) or french == msgid:
            continue
        if len(msgid.split()) >= 2 and "<" not in msgid:
            found.append(msgid)
    return found


ENGLISH = ours_in_english()
SHOWN_ATTRIBUTES = re.compile(r'\b(?:title|aria-label|placeholder|alt)="([^"]*)"')


def visible_text(page):
    """What a reader sees: text outside scripts and styles, and the attributes read out."""
    body = re.sub(r"<(script|style|template)\b.*?</\1>", " ", page, flags=re.S | re.I)
    attributes = " ".join(SHOWN_ATTRIBUTES.findall(body))
    body = re.sub(r"<[^>]+>", " ", body)
    return " ".join(html.unescape(f"{body} {attributes}").split())


def left_in_english(page):
    text = visible_text(page)
    return [msgid for msgid in ENGLISH if re.search(rf"(?<!\w){re.escape(msgid)}(?!\w)", text)]


def raw(type_, value=None, id_=None):
    return {"type": type_, "value": value or {}, "id": id_ or str(uuid.uuid4())}


@pytest.fixture
def french_admin(admin_client, admin_user):
    profile = UserProfile.get_for_user(admin_user)
    profile.preferred_language = "fr"
    profile.save()
    return admin_client


@pytest.fixture
def marketing(db):
    """A live flow with a trigger, an email, a wait, a branch and a goal; a contact in it
    with a timeline; a list, a segment and a message."""
    email = make_email_page("Bienvenue", subject="Bienvenue, {{ contact.first_name }}")
    form = make_form_page("Lettre d'information")
    customers = ContactListFactory(name="Clients")
    flow = Flow.objects.create(
        name="Accueil",
        status="live",
        triggers=[raw("form_submitted", {"form_page": form.pk})],
        entry_conditions=[raw("is_subscribed", None)],
        steps=[
            raw("send_email", {"page": email.pk}, "hello"),
            raw("wait", {"amount": 2, "unit": "days"}, "pause"),
            raw(
                "branch",
                {
                    "conditions": [raw("has_ordered", {})],
                    "match": "all",
                    "yes": [raw("add_tag", {"tag": "acheteur"})],
                    "no": [raw("add_to_list", {"list": customers.pk})],
                },
                "ordered",
            ),
        ],
        goal=[raw("has_ordered", {})],
    )
    ann = ContactFactory(email="ann@example.com", first_name="Ann")
    Enrollment.objects.create(flow=flow, contact=ann, status="waiting", current_step="pause")
    Event.objects.create(contact=ann, kind="page_viewed", data={"url": "/"})
    message = Message.objects.create(contact=ann, page=email, to_email=ann.email)
    segment = Segment.objects.create(name="Fidèles", conditions=[raw("score_at_least", {})])
    return {
        "flow": flow,
        "contact": ann,
        "list": customers,
        "segment": segment,
        "message": message,
        "email": email,
    }


def admin_screens(m):
    flow, reports = m["flow"], "/admin/flows/reports"
    return [
        "/admin/",
        "/admin/flows/",
        "/admin/flows/create/",
        f"/admin/flows/edit/{flow.pk}/",
        f"/admin/flows/{flow.pk}/archive/",
        f"/admin/flows/{flow.pk}/enroll/",
        "/admin/flows/contacts/",
        f"/admin/flows/contacts/edit/{m['contact'].pk}/",
        f"/admin/flows/contacts/{m['contact'].pk}/erase/",
        "/admin/flows/lists/",
        f"/admin/flows/lists/edit/{m['list'].pk}/",
        "/admin/flows/segments/",
        f"/admin/flows/segments/edit/{m['segment'].pk}/",
        "/admin/flows/messages/",
        f"/admin/flows/messages/inspect/{m['message'].pk}/",
        f"{reports}/",
        f"{reports}/{flow.pk}/",
        f"{reports}/{flow.pk}/test/?run=1",
        "/admin/flows/templates/",
        f"/admin/pages/{m['email'].pk}/edit/",
        f"/admin/flows-emails/{m['email'].pk}/send-test/",
    ]


@pytest.mark.django_db
def test_every_admin_screen_of_ours_is_in_french_for_a_french_speaking_user(
    french_admin, marketing
):
    problems = {}
    for url in admin_screens(marketing):
        response = french_admin.get(url)
        assert response.status_code == 200, url
        page = response.content.decode()
        assert 'lang="fr"' in page, url
        english = left_in_english(page)
        if english:
            problems[url] = english
    assert problems == {}, problems
    # and the screens really are in French, not just free of English
    editor = visible_text(
        french_admin.get(f"/admin/flows/edit/{marketing['flow'].pk}/").content.decode()
    )
    assert "Envoyer « Bienvenue »" in editor and "Attendre 2 jours" in editor


@pytest.mark.django_db
def test_the_same_screens_stay_in_english_for_an_english_speaking_user(admin_client, marketing):
    page = admin_client.get(f"/admin/flows/edit/{marketing['flow'].pk}/").content.decode()
    assert "Send “Bienvenue”" in visible_text(page) and "Wait 2 days" in visible_text(page)


@pytest.mark.django_db
def test_a_flow_that_cannot_go_live_says_why_in_french(french_admin):
    flow = Flow.objects.create(name="Vide", status="draft")
    response = french_admin.post(f"/admin/flows/{flow.pk}/activate/", follow=True)
    text = visible_text(response.content.decode())
    assert "Ajoutez un déclencheur : rien ne démarrerait ce parcours." in text
    assert left_in_english(response.content.decode()) == []


@pytest.mark.django_db
def test_the_public_email_pages_follow_the_sites_language(client, settings, marketing):
    settings.LANGUAGE_CODE = "fr"
    message = marketing["message"]
    pages = {
        "unsubscribe": f"/flows/e/u/{tokens.make_token(message.pk, tokens.UNSUBSCRIBE)}/",
        "preferences": f"/flows/e/p/{tokens.make_token(message.pk, tokens.PREFERENCES)}/",
        "bad link": "/flows/e/confirm/not-a-token/",
    }
    for name, url in pages.items():
        response = client.get(url)
        assert response.status_code == (400 if name == "bad link" else 200), name
        assert left_in_english(response.content.decode()) == [], name
    unsubscribe = visible_text(client.get(pages["unsubscribe"]).content.decode())
    assert "Se désabonner ?" in unsubscribe
    done = client.post(pages["unsubscribe"], follow=True)
    assert "Vous êtes désabonné" in visible_text(done.content.decode())
