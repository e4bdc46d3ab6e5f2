"""A site owner checks that their sending domain meets Gmail's and Yahoo's bulk-sender rules.

The records come from a real DNS server on 127.0.0.1 (dnspython answering over UDP), asked
through dnspython's resolver exactly as in production: no outside network.
"""

import socket
import threading
from io import StringIO

import dns.message
import dns.rdatatype
import dns.rrset
import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import CommandError, call_command

from wagtail_flows.emails import domain as checks

pytestmark = pytest.mark.django_db

GOOD = {
    "shop.example": ["v=spf1 include:_spf.provider.example ~all", "google-site-verification=x"],
    "_dmarc.shop.example": ["v=DMARC1; p=quarantine; rua=mailto:dmarc@shop.example"],
    "s1._domainkey.shop.example": ["v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCg"],
}


class LocalDNS:
    """Answers TXT queries from a dict; names it doesn't know are NXDOMAIN."""

    def __init__(self, zone):
        self.zone = zone
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind(("127.0.0.1", 0))
        self.socket.settimeout(0.2)
        self.port = self.socket.getsockname()[1]
        self.asked = []
        self.running = True
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while self.running:
            try:
                data, peer = self.socket.recvfrom(4096)
            except TimeoutError:
                continue
            query = dns.message.from_wire(data)
            question = query.question[0]
            name = question.name.to_text(omit_final_dot=True)
            self.asked.append(name)
            response = dns.message.make_response(query)
            records = self.zone.get(name)
            if records is None:
                response.set_rcode(dns.rcode.NXDOMAIN)
            elif question.rdtype == dns.rdatatype.TXT and records:
                texts = [f'"{text}"' for text in records]
                response.answer.append(
                    dns.rrset.from_text(question.name, 300, "IN", "TXT", *texts)
                )
            self.socket.sendto(response.to_wire(), peer)

    def stop(self):
        self.running = False
        self.thread.join()
        self.socket.close()


@pytest.fixture
def dns_server(settings):
    servers = []

    def serve(zone):
        server = LocalDNS(zone)
        servers.append(server)
        settings.WAGTAIL_FLOWS = {
            **settings.WAGTAIL_FLOWS,
            "FROM_EMAIL": "Shop <news@shop.example>",
            "DNS_NAMESERVERS": [f"127.0.0.1:{server.port}"],
        }
        return server

    yield serve
    for server in servers:
        server.stop()


def levels(report):
    return {finding.topic: finding.level for finding in report.findings}


def test_a_domain_with_spf_dmarc_and_dkim_is_ready(dns_server):
    dns_server(GOOD)
    report = checks.check_domain(selectors=["s1"])
    assert report.domain == "shop.example"
    assert levels(report) == {"SPF": "ok", "DMARC": "ok", "DKIM": "ok"}
    assert report.ready


def test_without_a_selector_the_usual_ones_are_tried(dns_server):
    server = dns_server(GOOD)
    report = checks.check_domain()
    assert levels(report)["DKIM"] == "ok"
    assert "selector “s1”" in report.findings[-1].message
    assert "google._domainkey.shop.example" in server.asked


def test_a_bare_domain_says_what_to_publish_for_each_record(dns_server):
    dns_server({"shop.example": ["google-site-verification=x"]})
    report = checks.check_domain()
    assert levels(report) == {"SPF": "problem", "DMARC": "problem", "DKIM": "problem"}
    spf, dmarc, dkim = report.findings
    assert "No SPF record" in spf.message and "v=spf1" in spf.fix
    assert "Gmail and Yahoo require one" in dmarc.message
    assert "_dmarc.shop.example" in dmarc.fix and "p=none" in dmarc.fix
    assert "--dkim-selector" in dkim.fix
    assert not report.ready


@pytest.mark.parametrize(
    "spf, level, words",
    [
        ("v=spf1 +all", "problem", "anyone may send"),
        ("v=spf1 include:x.example all", "problem", "anyone may send"),
        ("v=spf1 include:x.example ?all", "warning", "vouches for nobody"),
        ("v=spf1 include:x.example -all", "ok", "SPF record found"),
    ],
)
def test_an_spf_record_that_lets_anyone_send_is_refused(dns_server, spf, level, words):
    dns_server({**GOOD, "shop.example": [spf]})
    finding = checks.check_domain(selectors=["s1"]).findings[0]
    assert (finding.level, finding.record) == (level, spf) and words in finding.message


def test_two_spf_records_are_an_error_receivers_see(dns_server):
    dns_server({**GOOD, "shop.example": ["v=spf1 -all", "v=spf1 include:y.example -all"]})
    finding = checks.check_domain(selectors=["s1"]).findings[0]
    assert finding.level == "problem" and "Merge them" in finding.fix


def test_dmarc_of_the_parent_domain_covers_a_subdomain(dns_server):
    zone = {
        "news.shop.example": ["v=spf1 -all"],
        "_dmarc.shop.example": GOOD["_dmarc.shop.example"],
        "s1._domainkey.news.shop.example": GOOD["s1._domainkey.shop.example"],
    }
    dns_server(zone)
    report = checks.check_domain("news.shop.example", ["s1"])
    assert levels(report) == {"SPF": "ok", "DMARC": "ok", "DKIM": "ok"}


@pytest.mark.parametrize(
    "dmarc, level, words",
    [
        ("v=DMARC1; rua=mailto:d@shop.example", "problem", "no valid policy"),
        ("v=DMARC1; p=none", "warning", "no “rua=”"),
        ("v=DMARC1; p=none; rua=mailto:d@shop.example", "ok", "protects nothing"),
    ],
)
def test_dmarc_needs_a_policy_and_says_when_it_protects_nothing(dns_server, dmarc, level, words):
    dns_server({**GOOD, "_dmarc.shop.example": [dmarc]})
    finding = checks.check_domain(selectors=["s1"]).findings[1]
    assert finding.level == level and words in finding.message


def test_a_revoked_dkim_key_is_a_problem(dns_server):
    dns_server({**GOOD, "s1._domainkey.shop.example": ["v=DKIM1; k=rsa; p="]})
    finding = checks.check_domain(selectors=["s1"]).findings[2]
    assert finding.level == "problem" and "revoked" in finding.message


def test_a_dns_server_that_does_not_answer_is_not_checked_not_missing(settings):
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    settings.WAGTAIL_FLOWS = {
        **settings.WAGTAIL_FLOWS,
        "FROM_EMAIL": "news@shop.example",
        "DNS_NAMESERVERS": [f"127.0.0.1:{silent.getsockname()[1]}"],
    }
    checks.LOOKUP_SECONDS, saved = 0.3, checks.LOOKUP_SECONDS
    try:
        report = checks.check_domain(selectors=["s1"])
    finally:
        checks.LOOKUP_SECONDS = saved
        silent.close()
    assert levels(report) == {"SPF": "unknown", "DMARC": "unknown", "DKIM": "unknown"}
    assert not report.ready and "not checked" in report.findings[0].message


# --- manage.py flows_check_domain --------------------------------------------------------------


def test_the_command_prints_each_record_and_exits_0_when_ready(dns_server):
    dns_server(GOOD)
    out = StringIO()
    call_command("flows_check_domain", "--dkim-selector", "s1", stdout=out)
    text = out.getvalue()
    assert "Sending domain: shop.example" in text
    assert "[ok     ] DMARC: DMARC found." in text
    assert "shop.example meets the DNS rules we can check." in text


def test_the_command_fails_naming_what_is_missing(dns_server):
    dns_server({**GOOD, "_dmarc.shop.example": []})
    out = StringIO()
    with pytest.raises(CommandError, match="not ready for bulk sending"):
        call_command("flows_check_domain", "--domain", "shop.example", stdout=out)
    assert "[MISSING] DMARC: No DMARC record" in out.getvalue()


# --- Settings › Sending domain ------------------------------------------------------------------


def test_a_site_owner_checks_the_domain_in_the_admin(dns_server, admin_client):
    dns_server({**GOOD, "_dmarc.shop.example": []})
    blank = admin_client.get("/admin/flows/sending-domain/")
    assert blank.status_code == 200 and "news@shop.example" in blank.content.decode()
    assert "data-topic" not in blank.content.decode()  # nothing is looked up until asked

    page = admin_client.get("/admin/flows/sending-domain/", {"check": "1", "dkim_selector": "s1"})
    text = page.content.decode()
    assert 'data-verdict="not-ready"' in text
    assert 'data-topic="DMARC" data-level="problem"' in text
    assert 'data-topic="SPF" data-level="ok"' in text


def test_a_malformed_domain_is_refused_naming_the_field(dns_server, admin_client):
    server = dns_server(GOOD)
    page = admin_client.get(
        "/admin/flows/sending-domain/", {"check": "1", "domain": "not a domain"}
    )
    assert page.status_code == 200
    assert "Enter a domain such as example.com." in page.content.decode()
    assert server.asked == []


def test_only_users_who_may_activate_flows_check_the_domain(client, django_user_model):
    editor = django_user_model.objects.create_user("editor", password="pw")
    editors = Group.objects.create(name="Flow editors")
    editors.permissions.add(Permission.objects.get(codename="access_admin"))
    editor.groups.add(editors)
    client.force_login(editor)
    assert client.get("/admin/flows/sending-domain/").status_code == 403
    assert "Sending domain" not in client.get("/admin/").content.decode()

    editors.permissions.add(Permission.objects.get(codename="activate_flow"))
    editor = django_user_model.objects.get(pk=editor.pk)
    client.force_login(editor)
    assert client.get("/admin/flows/sending-domain/").status_code == 200
