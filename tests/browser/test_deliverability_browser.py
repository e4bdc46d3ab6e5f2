"""In a real browser: a site owner who may activate flows checks the sending domain."""

import pytest
from django.contrib.auth.models import Group, Permission, User

from tests.browser.conftest import log_in
from tests.test_deliverability_domain import GOOD, LocalDNS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def local_dns(settings):
    server = LocalDNS({**GOOD, "_dmarc.shop.example": []})
    settings.WAGTAIL_FLOWS = {
        **settings.WAGTAIL_FLOWS,
        "FROM_EMAIL": "Shop <news@shop.example>",
        "DNS_NAMESERVERS": [f"127.0.0.1:{server.port}"],
    }
    yield server
    server.stop()


@pytest.fixture
def site_owner(transactional_db):
    owner = User.objects.create_user("owner", "owner@example.com", "secret-pass")
    group = Group.objects.create(name="Site owners")
    group.permissions.add(
        Permission.objects.get(codename="access_admin"),
        Permission.objects.get(codename="activate_flow"),
    )
    owner.groups.add(group)
    return owner


def test_a_site_owner_finds_what_the_domain_misses(
    live_server, page, site_owner, local_dns, artifacts
):
    log_in(page, live_server, "owner", "secret-pass")
    page.get_by_role("button", name="Settings").click()
    page.get_by_role("link", name="Sending domain").click()
    assert "news@shop.example" in page.locator("main").inner_text()

    page.fill("#id_dkim_selector", "s1")
    page.get_by_role("button", name="Check the domain").click()

    page.locator('[data-verdict="not-ready"]').wait_for()
    dmarc = page.locator('tr[data-topic="DMARC"]')
    assert "Missing" in dmarc.inner_text() and "_dmarc.shop.example" in dmarc.inner_text()
    assert page.locator('tr[data-topic="DKIM"][data-level="ok"]').is_visible()
    page.screenshot(path=str(artifacts / "sending-domain.png"), full_page=True)
