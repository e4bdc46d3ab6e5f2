"""The sandbox: `make sandbox` gives a site owner a working demo site with wagtail-flows in it.

The sandbox runs with its own settings (``sandbox.settings``), so these tests drive it in a
subprocess against a throw-away data directory: this file, run as a script, calls ``migrate``
and ``load_demo`` twice, then visits the site with Django's test client (``set_up_and_visit``)
and reports what it saw as JSON. ``run_sandbox`` is tested as a site owner runs it.
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# A real browser: wagtail-flows ignores empty and bot user agents, as it should.
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"
SANDBOX = ROOT / "sandbox"
MANAGE = SANDBOX / "manage.py"


def sandbox_env(data_dir):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "sandbox.settings",
        "SANDBOX_DATA_DIR": str(data_dir),
        "SANDBOX_Q_SYNC": "1",  # flows run in-process: no cluster needed for the walk
        "PYTHONPATH": os.pathsep.join(
            [*filter(None, [os.environ.get("PYTHONPATH")]), str(SANDBOX), str(ROOT)]
        ),
    }
    if os.environ.get("FLOWS_TEST_SYNCDB"):
        env["SANDBOX_DEV_MIGRATIONS"] = str(data_dir / "dev-migrations")
    return env


def run(env, *args):
    result = subprocess.run(
        [sys.executable, *map(str, args)],
        cwd=SANDBOX,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, f"{args} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    """A freshly set-up sandbox: migrated, demo loaded twice, then visited."""
    data_dir = tmp_path_factory.mktemp("sandbox")
    env = sandbox_env(data_dir)
    output = run(env, __file__, "--set-up-and-visit")
    return {**json.loads(output.strip().splitlines()[-1]), "env": env, "dir": data_dir}


# --- load_demo ---------------------------------------------------------------------------


def test_load_demo_prints_the_admin_url_and_credentials(sandbox):
    for output in (sandbox["first"], sandbox["second"]):
        assert "http://127.0.0.1:8000/admin/" in output
        assert "admin / admin" in output


def test_load_demo_twice_creates_everything_once(sandbox):
    assert "Created" in sandbox["first"]
    assert "nothing to do" in sandbox["second"]
    assert sandbox["counts"] == {
        "HomePage": 1,
        "BlogIndexPage": 2,
        "BlogPage": 4,
        "FormPage": 1,
        "LandingPage": 1,
        "ShopIndexPage": 1,
        "ProductPage": 4,
        "EmailLibraryPage": 1,
        "EmailPage": 8,
        "Document": 1,
        "ContactList": 4,
        "superusers": 1,
        "newsletter_fields": 3,
        "live_flows": 5,
    }


def test_the_default_site_serves_the_demo_home_page(sandbox):
    assert sandbox["site_root"] == "HomePage"


def test_email_pages_have_a_subject_preheader_and_body(sandbox):
    for email in sandbox["emails"]:
        assert email["subject"] and email["preheader"]
        assert email["blocks"][0] == "heading"
        assert "text" in email["blocks"]


# --- the public site ---------------------------------------------------------------------


def test_home_page_links_both_topics_the_forms_the_ebook_and_the_shop(sandbox):
    home = sandbox["home"]
    assert home["status"] == 200
    for link in ("/gardening/", "/cooking/", "/newsletter/", "/ten-percent-off/", "/shop/"):
        assert link in home["links"]
    assert any(link.endswith(".pdf") for link in home["links"])


def test_blog_pages_are_served_under_their_topic(sandbox):
    blog = sandbox["blog"]
    assert blog["status"] == 200
    assert blog["url"].startswith("/gardening/")
    assert "Starting tomatoes from seed" in blog["title"]


def test_the_ebook_downloads_as_a_valid_pdf(sandbox):
    ebook = sandbox["ebook"]
    assert ebook["status"] == 200
    assert ebook["pdf_ok"], ebook


def test_newsletter_form_signs_a_visitor_up(sandbox):
    newsletter = sandbox["newsletter"]
    assert newsletter["get_status"] == 200
    assert newsletter["has_email_input"]
    assert newsletter["post_status"] == 200
    assert newsletter["thanked"]
    assert newsletter["submissions"] == 1


def test_newsletter_sign_up_asks_to_confirm_before_any_marketing_email(sandbox):
    newsletter = sandbox["newsletter"]
    asked = newsletter["before_confirming"]
    assert "Subject: Please confirm your subscription to Green Spoon" in asked
    assert "Welcome to Green Spoon" not in asked
    assert newsletter["confirm_page"] == [200, True]  # GET: a button, nothing changed yet
    assert newsletter["confirmed"] == [200, True]


def test_newsletter_sign_up_starts_the_welcome_series_and_sends_the_welcome_email(sandbox):
    newsletter = sandbox["newsletter"]
    assert newsletter["enrolled_in"] == ["Welcome series"]
    assert "Welcome to Green Spoon, Ann" in newsletter["emails_sent"]


def test_landing_page_form_gives_the_discount_code_and_emails_it_once_confirmed(sandbox):
    landing = sandbox["landing"]
    assert landing["post_status"] == 200
    assert landing["shows_code"]
    assert "Subject: Your code: WELCOME10" not in landing["before_confirming"]
    assert landing["confirmed"] == [200, True]
    assert "To: bob@example.com" in landing["emails_sent"]
    assert "Subject: Your code: WELCOME10" in landing["emails_sent"]


# --- the shop ----------------------------------------------------------------------------


def test_product_page_offers_add_to_cart(sandbox):
    product = sandbox["product"]
    assert product["status"] == 200
    assert product["has_add_form"]


def test_adding_to_the_cart_sends_cart_updated(sandbox):
    cart = sandbox["cart"]
    assert cart["add_status"] == 302
    assert cart["page_lists_product"]
    signal_kwargs = cart["cart_updated"][-1]
    assert signal_kwargs["has_request"]
    assert signal_kwargs["cart_id"]
    assert signal_kwargs["currency"] == "EUR"
    assert signal_kwargs["total"] == "31.90"  # 2 x 3.95 + 24.00, after removing the herbs
    assert {item["sku"] for item in signal_kwargs["items"]} == {"SEED-TOM", "KIT-MORTAR"}


def test_a_bad_discount_code_is_refused_and_no_order_is_placed(sandbox):
    checkout = sandbox["checkout"]
    assert checkout["bad_code_status"] == 200
    assert checkout["bad_code_error"]
    assert checkout["orders_after_bad_code"] == 0


def test_checkout_sends_order_placed_and_empties_the_cart(sandbox):
    checkout = sandbox["checkout"]
    assert checkout["status"] == 302
    assert checkout["confirmation_status"] == 200
    (order,) = checkout["order_placed"]
    assert order["email"] == "ann@example.com"
    assert re.fullmatch(r"GS-\d{5}", order["order_id"])
    assert order["currency"] == "EUR"
    assert order["total"] == "28.71"  # 31.90 less WELCOME10's 10%
    assert order["has_request"]
    assert order["items"] == [
        {"sku": "SEED-TOM", "name": "Heirloom tomato seeds", "quantity": 2, "price": "3.95"},
        {
            "sku": "KIT-MORTAR",
            "name": "Stoneware mortar & pestle",
            "quantity": 1,
            "price": "24.00",
        },
    ]
    assert checkout["cart_count_after"] == 0


def test_an_order_confirmation_is_only_shown_to_its_own_browser(sandbox):
    assert sandbox["checkout"]["stranger_status"] == 302


def test_adding_an_unknown_product_is_a_404_not_an_error(sandbox):
    assert sandbox["checkout"]["unknown_product_status"] == 404


def test_an_order_makes_the_buyer_a_customer_through_the_demo_flow(sandbox):
    checkout = sandbox["checkout"]
    assert checkout["buyer_stage"] == "customer"
    assert checkout["buyer_lists"] == ["Customers", "Newsletter"]


# --- what wagtail-flows captured on the walk -----------------------------------------------


def test_the_walk_makes_ann_a_contact_with_her_visits_download_form_cart_and_order(sandbox):
    ann = sandbox["captured"]["ann"]
    assert ann["status"] == "subscribed"
    assert ann["blog_post_viewed"] and ann["home_viewed"]  # anonymous, moved on sign-up
    assert ann["ebook_downloaded"] == ["The Kitchen Garden Handbook"]
    assert ann["forms"] == [ann["newsletter"]]
    assert ann["carts"] >= 1 and ann["orders"] == [
        sandbox["checkout"]["order_placed"][0]["order_id"]
    ]
    assert ann["has_the_browser"]
    assert sandbox["captured"]["anonymous_visits_left"] == 0


def test_someone_elses_address_typed_in_the_same_browser_gets_the_form_not_the_browser(sandbox):
    bob = sandbox["captured"]["bob"]
    assert "form_submitted" in bob["kinds"]
    assert not {"page_viewed", "document_downloaded", "cart_updated"} & set(bob["kinds"])
    assert not bob["has_a_browser"]  # the browser stays Ann's


def test_the_contacts_show_in_the_admin_listing_and_anns_timeline(sandbox):
    admin = sandbox["captured"]["admin"]
    assert admin["contacts_status"] == 200
    assert admin["contacts_list_ann_and_bob"]
    assert admin["timeline_status"] == 200
    timeline = admin["timeline"]
    for entry in ("Starting tomatoes from seed", "The Kitchen Garden Handbook"):
        assert entry in timeline, entry
    for kind in ("Page viewed", "Document downloaded", "Form submitted", "Order placed"):
        assert kind in timeline, kind


# --- the admin ---------------------------------------------------------------------------


def test_admin_loads_for_the_demo_superuser_with_the_flows_menu(sandbox):
    admin = sandbox["admin"]
    assert admin["logged_in"]
    assert admin["dashboard_status"] == 200
    assert "Flows" in admin["menu"], admin["menu"]


def test_admin_flows_menu_lists_the_demo_flows(sandbox):
    admin = sandbox["admin"]
    assert admin["flows_status"] == 200
    assert admin["flows_list_the_demo_flows"]


def test_admin_lists_the_email_library_and_orders(sandbox):
    admin = sandbox["admin"]
    assert admin["email_library_status"] == 200
    assert admin["email_library_lists_welcome"]
    assert admin["orders_status"] == 200
    assert admin["orders_list_the_order"]


# --- run_sandbox -------------------------------------------------------------------------


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_home_page(url, process, deadline_seconds=120):
    """Poll until the site answers (a readiness wait, not a timing assertion)."""
    for _ in range(deadline_seconds * 2):
        if process.poll() is not None:
            return None
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.status
        except OSError:
            time.sleep(0.5)
    return None


@pytest.mark.cluster
def test_run_sandbox_serves_the_site_with_a_cluster_and_stops_both(sandbox):
    port = free_port()
    log = sandbox["dir"] / "run_sandbox.log"
    env = {**sandbox["env"], "SANDBOX_Q_SYNC": "0"}  # a real cluster this time
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, str(MANAGE), "run_sandbox", f"127.0.0.1:{port}"],
            cwd=SANDBOX,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            status = wait_for_home_page(f"http://127.0.0.1:{port}/", process)
            cluster_pid = int(re.search(r"pid (\d+)", log.read_text()).group(1))
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)
    text = log.read_text()
    assert status == 200, text
    assert "admin / admin" in text
    assert "Cluster" in text and "has stopped" in text, text
    with pytest.raises(ProcessLookupError):
        os.kill(cluster_pid, 0)


# --- the visit (runs inside the sandbox, as a script) ------------------------------------


def _jsonable(kwargs):
    data = {key: value for key, value in kwargs.items() if key not in ("signal", "sender")}
    data["has_request"] = data.pop("request", None) is not None
    return json.loads(json.dumps(data, default=str))


def _pdf_ok(content):
    match = re.search(rb"startxref\n(\d+)", content)
    if not (content.startswith(b"%PDF-") and match):
        return False
    offsets = [int(o) for o in re.findall(rb"(\d{10}) 00000 n", content)]
    return content[int(match.group(1)) :].startswith(b"xref") and all(
        content[offset:].startswith(b"%d 0 obj" % n) for n, offset in enumerate(offsets, 1)
    )


def set_up_and_visit():
    import io

    import django

    django.setup()
    from django.core.management import call_command

    if os.environ.get("SANDBOX_DEV_MIGRATIONS"):
        call_command("makemigrations", "wagtail_flows", verbosity=0)
    call_command("migrate", verbosity=0)
    outputs = []
    for _ in range(2):
        call_command("load_demo", stdout=(out := io.StringIO()))
        outputs.append(out.getvalue())
    facts = {"first": outputs[0], "second": outputs[1], **visit_sandbox()}
    print(json.dumps(facts, default=str))


def visit_sandbox():
    from django.test import Client

    from wagtail_flows import signals

    seen = {"cart_updated": [], "order_placed": []}
    signals.cart_updated.connect(lambda **kw: seen["cart_updated"].append(_jsonable(kw)))
    signals.order_placed.connect(lambda **kw: seen["order_placed"].append(_jsonable(kw)))
    client = Client(headers={"user-agent": BROWSER})
    facts = {
        **count_content(),
        **visit_pages(client),
        **visit_forms(client),
        **visit_shop(client, seen),
        "admin": visit_admin(),
    }
    return {**facts, "captured": captured()}


def count_content():
    from demo import models as demo
    from django.contrib.auth import get_user_model
    from wagtail.documents import get_document_model
    from wagtail.models import Site

    from wagtail_flows.models import ContactList, EmailLibraryPage, EmailPage, Flow

    page_models = [
        *(demo.HomePage, demo.BlogIndexPage, demo.BlogPage, demo.FormPage, demo.LandingPage),
        *(demo.ShopIndexPage, demo.ProductPage, EmailLibraryPage, EmailPage),
    ]
    counts = {model.__name__: model.objects.count() for model in page_models}
    counts["Document"] = get_document_model().objects.count()
    counts["ContactList"] = ContactList.objects.count()
    counts["superusers"] = get_user_model().objects.filter(is_superuser=True).count()
    counts["newsletter_fields"] = demo.FormPage.objects.get().form_fields.count()
    counts["live_flows"] = Flow.objects.filter(status="live").count()
    root = Site.objects.get(is_default_site=True).root_page.specific
    emails = [
        {"subject": e.subject, "preheader": e.preheader, "blocks": [b.block_type for b in e.body]}
        for e in EmailPage.objects.all()
    ]
    return {"counts": counts, "site_root": type(root).__name__, "emails": emails}


def visit_pages(client):
    from demo.models import BlogPage
    from wagtail.documents import get_document_model

    home = client.get("/")
    post = BlogPage.objects.get(slug="starting-tomatoes-from-seed")
    blog = client.get(post.url)
    ebook = client.get(get_document_model().objects.get().url)
    pdf = b"".join(ebook.streaming_content) if ebook.streaming else ebook.content
    return {
        "home": {
            "status": home.status_code,
            "links": re.findall(r'href="([^"]+)"', home.content.decode()),
        },
        "blog": {"status": blog.status_code, "url": post.url, "title": blog.content.decode()},
        "ebook": {"status": ebook.status_code, "pdf_ok": _pdf_ok(pdf)},
    }


def visit_forms(client):
    from demo.models import FormPage, LandingPage
    from django.conf import settings
    from django.test import Client
    from wagtail.contrib.forms.models import FormSubmission

    from wagtail_flows.models import Enrollment

    newsletter, landing = FormPage.objects.get(), LandingPage.objects.get()
    form = client.get(newsletter.url)
    signed_up = client.post(
        newsletter.url, {"email": "ann@example.com", "first_name": "Ann", "consent": "on"}
    )
    before = sent_emails(settings.EMAIL_FILE_PATH)
    anns = confirm_by_email(client, before, [])  # Ann clicks the link in her inbox
    newsletter_facts = {
        "get_status": form.status_code,
        "has_email_input": b'type="email"' in form.content,
        "post_status": signed_up.status_code,
        "thanked": b"on the list" in signed_up.content,
        "submissions": FormSubmission.objects.filter(page=newsletter).count(),
        "before_confirming": before,
        **anns,
        "enrolled_in": [e.flow.name for e in Enrollment.objects.all()],
        "emails_sent": sent_emails(settings.EMAIL_FILE_PATH),
    }
    discount = client.post(landing.url, {"email": "bob@example.com", "consent": "on"})
    before = sent_emails(settings.EMAIL_FILE_PATH)
    # Bob confirms from his own phone: Ann's browser stays hers.
    bobs = confirm_by_email(Client(headers=client.headers), before, [anns])
    landing_facts = {
        "post_status": discount.status_code,
        "shows_code": landing.discount_code.encode() in discount.content,
        "before_confirming": before,
        **bobs,
        "emails_sent": sent_emails(settings.EMAIL_FILE_PATH),
    }
    return {"newsletter": newsletter_facts, "landing": landing_facts}


CONFIRM_LINK = re.compile(r"https?://[^/\s]+(/flows/e/confirm/[^/\s]+/)")


def confirm_by_email(browser, emails, used):
    """Open the newest confirmation link in the emails (not one of ``used``), then press
    its button, as the person does."""
    (path,) = set(CONFIRM_LINK.findall(emails)) - {u["path"] for u in used}
    shown, pressed = browser.get(path), browser.post(path)
    return {
        "path": path,
        "confirm_page": [shown.status_code, b"Yes, subscribe me" in shown.content],
        "confirmed": [pressed.status_code, b"You are subscribed" in pressed.content],
    }


def sent_emails(directory):
    """Everything the demo's file email backend wrote, as one text."""
    if not os.path.isdir(directory):
        return ""
    return "\n".join(Path(directory, name).read_text() for name in sorted(os.listdir(directory)))


def visit_shop(client, seen):
    from demo.models import Order, ProductPage
    from demo.shop import SESSION_KEY
    from django.test import Client

    from wagtail_flows.models import Contact

    product = client.get(ProductPage.objects.get(sku="SEED-TOM").url)
    added = client.post("/cart/add/", {"sku": "SEED-TOM", "quantity": "2"})
    client.post("/cart/add/", {"sku": "KIT-MORTAR"})
    client.post("/cart/add/", {"sku": "SEED-HERB"})
    client.post("/cart/update/", {"sku": "SEED-HERB", "quantity": "0"})
    cart_page = client.get("/cart/")
    bad = client.post("/cart/", {"email": "ann@example.com", "discount_code": "NOPE"})
    orders_after_bad_code = Order.objects.count()
    placed = client.post("/cart/", {"email": "ann@example.com", "discount_code": "welcome10"})
    order_url = placed.headers.get("Location", "/cart/")
    confirmation = client.get(order_url)
    strangers_view = Client().get(order_url)
    unknown_product = client.post("/cart/add/", {"sku": "NO-SUCH-SKU"})
    buyer = Contact.objects.get(email="ann@example.com")
    return {
        "product": {
            "status": product.status_code,
            "has_add_form": b'name="sku" value="SEED-TOM"' in product.content,
        },
        "cart": {
            "add_status": added.status_code,
            "page_lists_product": b"Heirloom tomato seeds" in cart_page.content,
            "cart_updated": seen["cart_updated"],
        },
        "checkout": {
            "bad_code_status": bad.status_code,
            "bad_code_error": b"not valid" in bad.content,
            "orders_after_bad_code": orders_after_bad_code,
            "status": placed.status_code,
            "confirmation_status": confirmation.status_code,
            "stranger_status": strangers_view.status_code,
            "unknown_product_status": unknown_product.status_code,
            "order_placed": seen["order_placed"],
            "cart_count_after": len(client.session.get(SESSION_KEY) or {}),
            "buyer_stage": buyer.stage,
            "buyer_lists": sorted(buyer.lists.values_list("name", flat=True)),
        },
    }


def visit_admin():
    from django.test import Client
    from wagtail.admin.menu import admin_menu

    from wagtail_flows.models import EmailLibraryPage

    admin = Client()
    logged_in = admin.login(username="admin", password="admin")
    dashboard = admin.get("/admin/")
    menu = admin_menu.menu_items_for_request(dashboard.wsgi_request)
    library = admin.get(f"/admin/pages/{EmailLibraryPage.objects.get().pk}/")
    orders = admin.get("/admin/snippets/demo/order/")
    flows = flows_listing(admin, menu, dashboard.wsgi_request)
    return {
        "logged_in": logged_in,
        "dashboard_status": dashboard.status_code,
        "menu": [str(item.label) for item in menu],
        "email_library_status": library.status_code,
        "email_library_lists_welcome": b"Welcome" in library.content,
        "orders_status": orders.status_code,
        "orders_list_the_order": b"ann@example.com" in orders.content,
        "flows_status": flows.status_code if flows else None,
        "flows_list_the_demo_flows": bool(flows) and b"Welcome series" in flows.content,
    }


def captured():
    """Ann's and Bob's contacts and events after the walk, and how the admin shows them."""
    from demo.models import BlogPage, FormPage
    from django.test import Client

    from wagtail_flows.admin.common import CONTACTS_BASE_URL, modeladmin_url
    from wagtail_flows.models import Contact, Event

    visits = ("page_viewed", "document_downloaded", "cart_updated")
    ann = Contact.objects.get(email="ann@example.com")
    bob = Contact.objects.get(email="bob@example.com")
    events = ann.events.all()
    blog_post = BlogPage.objects.get(slug="starting-tomatoes-from-seed")
    admin = Client()
    admin.login(username="admin", password="admin")
    listing = admin.get(modeladmin_url(CONTACTS_BASE_URL, "index"))
    page = admin.get(modeladmin_url(CONTACTS_BASE_URL, "edit", ann.pk))
    kind = {k: events.filter(kind=k) for k in ("document_downloaded", "order_placed")}
    return {
        "ann": {
            "status": ann.status,
            "home_viewed": events.filter(kind="page_viewed", data__path="/").exists(),
            "blog_post_viewed": events.filter(kind="page_viewed", page=blog_post).exists(),
            "ebook_downloaded": list(kind["document_downloaded"].values_list("name", flat=True)),
            "forms": list(events.filter(kind="form_submitted").values_list("page", flat=True)),
            "newsletter": FormPage.objects.get().pk,
            "carts": events.filter(kind="cart_updated").count(),
            "orders": list(kind["order_placed"].values_list("object_id", flat=True)),
            "has_the_browser": ann.visitors.exists(),
        },
        "anonymous_visits_left": Event.objects.filter(contact=None, kind__in=visits).count(),
        "bob": {
            "kinds": sorted(set(bob.events.values_list("kind", flat=True))),
            "has_a_browser": bob.visitors.exists() or bob.events.exclude(visitor_id=None).exists(),
        },
        "admin": {
            "contacts_status": listing.status_code,
            "contacts_list_ann_and_bob": all(
                e.encode() in listing.content for e in ("ann@example.com", "bob@example.com")
            ),
            "timeline_status": page.status_code,
            "timeline": page.content.decode(),
        },
    }


def flows_listing(admin, menu, request):
    """The first page of the admin's Flows menu (the flows list), found as an editor would."""
    flows = next((item for item in menu if str(item.label) == "Flows"), None)
    submenu = getattr(flows, "menu", None)
    items = submenu.menu_items_for_request(request) if submenu else []
    return admin.get(items[0].url) if items else None


if __name__ == "__main__" and sys.argv[1:] == ["--set-up-and-visit"]:
    set_up_and_visit()
