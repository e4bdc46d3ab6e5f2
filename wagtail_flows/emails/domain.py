"""Is the sending domain ready for Gmail's and Yahoo's bulk-sender rules (February 2024)?

Looks up the From domain's SPF, DMARC and DKIM records and says in plain words what is
missing. Never part of ``manage.py check``: it needs the network. ``txt_records`` is the one
place that asks DNS (dnspython), so tests stub it.
"""

from dataclasses import dataclass, field

from django.conf import settings
from django.utils.translation import gettext as _

from wagtail_flows.conf import flows_settings

OK, WARNING, PROBLEM, UNKNOWN = "ok", "warning", "problem", "unknown"
# Selectors the common providers sign with, tried when none is given.
COMMON_DKIM_SELECTORS = (
    "google",
    "selector1",
    "selector2",
    "default",
    "k1",
    "s1",
    "s2",
    "dkim",
    "mail",
    "smtp",
    "mandrill",
    "pm",
    "mxvault",
)
LOOKUP_SECONDS = 5


class LookupFailed(Exception):
    """DNS did not answer (timeout, no nameserver): the record may or may not exist."""


@dataclass
class Finding:
    topic: str  # "SPF", "DMARC", "DKIM"
    level: str  # OK, WARNING, PROBLEM or UNKNOWN
    message: str
    fix: str = ""
    record: str = ""


@dataclass
class DomainReport:
    domain: str
    from_email: str
    findings: list = field(default_factory=list)

    @property
    def ready(self):
        return not any(f.level in (PROBLEM, UNKNOWN) for f in self.findings)

    @property
    def problems(self):
        return [f for f in self.findings if f.level == PROBLEM]


def txt_records(name):
    """The TXT strings at ``name``; [] when it has none; LookupFailed when DNS can't tell."""
    import dns.exception
    import dns.resolver

    resolver = dns.resolver.Resolver()
    resolver.lifetime = LOOKUP_SECONDS
    if flows_settings.DNS_NAMESERVERS:  # "host" or "host:port"; default: the system's
        servers = [server.rpartition(":") for server in flows_settings.DNS_NAMESERVERS]
        resolver.nameservers = [host or port for host, _sep, port in servers]
        resolver.nameserver_ports = {host: int(port) for host, _sep, port in servers if host}
    try:
        answer = resolver.resolve(name, "TXT")
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    except (dns.exception.Timeout, dns.resolver.NoNameservers) as error:
        raise LookupFailed(str(error)) from error
    return [b"".join(record.strings).decode("utf-8", "replace") for record in answer]


def sending_address():
    return flows_settings.FROM_EMAIL or settings.DEFAULT_FROM_EMAIL or ""


def domain_of(address):
    address = address.rsplit("<", 1)[-1].rstrip(">").strip()
    return address.rpartition("@")[2].lower().rstrip(".")


def check_domain(domain=None, selectors=()):
    """A DomainReport for ``domain`` (default: the domain of the flows' From address)."""
    from_email = sending_address()
    domain = (domain or domain_of(from_email)).lower().strip().rstrip(".")
    report = DomainReport(domain, from_email)
    report.findings = [
        spf_finding(domain),
        dmarc_finding(domain),
        *dkim_findings(domain, selectors),
    ]
    return report


def _lookup(name, prefix):
    records = txt_records(name)
    return [r for r in records if r.lower().replace(" ", "").startswith(prefix)]


def spf_finding(domain):
    try:
        records = _lookup(domain, "v=spf1")
    except LookupFailed:
        return _unknown("SPF", domain)
    fix = _("Publish one TXT record at %(domain)s, e.g. “v=spf1 include:<your provider> ~all”.")
    fix = fix % {"domain": domain}
    if not records:
        return Finding(
            "SPF",
            PROBLEM,
            _("No SPF record: mailbox providers can't tell which servers may send for %s.")
            % domain,
            fix,
        )
    if len(records) > 1:
        return Finding(
            "SPF",
            PROBLEM,
            _("%d SPF records: receivers treat that as an error.") % len(records),
            _("Merge them into one TXT record."),
            " | ".join(records),
        )
    record = records[0]
    terms = record.lower().split()
    if "+all" in terms or "all" in terms:
        return Finding(
            "SPF",
            PROBLEM,
            _("The SPF record ends in “+all”: anyone may send as this domain."),
            _("End it with “~all” or “-all”."),
            record,
        )
    if "?all" in terms:
        return Finding(
            "SPF",
            WARNING,
            _("The SPF record ends in “?all”, which vouches for nobody."),
            _("End it with “~all” or “-all”."),
            record,
        )
    return Finding("SPF", OK, _("SPF record found."), record=record)


def dmarc_finding(domain):
    name = f"_dmarc.{domain}"
    try:
        records = _lookup(name, "v=dmarc1")
        parent = organisational_domain(domain)
        if not records and parent != domain:
            name = f"_dmarc.{parent}"
            records = _lookup(name, "v=dmarc1")
    except LookupFailed:
        return _unknown("DMARC", name)
    if not records:
        return Finding(
            "DMARC",
            PROBLEM,
            _("No DMARC record: Gmail and Yahoo require one of bulk senders."),
            _(
                "Publish a TXT record at _dmarc.%s, at least “v=DMARC1; p=none; "
                "rua=mailto:dmarc@%s”."
            )
            % (domain, domain),
        )
    if len(records) > 1:
        return Finding(
            "DMARC",
            PROBLEM,
            _("%d DMARC records at %s: receivers ignore them all.") % (len(records), name),
            _("Keep one."),
            " | ".join(records),
        )
    record = records[0]
    tags = dmarc_tags(record)
    if tags.get("p") not in ("none", "quarantine", "reject"):
        return Finding(
            "DMARC",
            PROBLEM,
            _("The DMARC record has no valid policy (p=)."),
            _("Add “p=none” (to start), “p=quarantine” or “p=reject”."),
            record,
        )
    if "rua" not in tags:
        return Finding(
            "DMARC",
            WARNING,
            _(
                "DMARC found, but with no “rua=” you receive no "
                "reports of who sends as your domain."
            ),
            _("Add “rua=mailto:<an address you read>”."),
            record,
        )
    if tags["p"] == "none":
        return Finding(
            "DMARC",
            OK,
            _(
                "DMARC found (p=none: enough for the providers' rules; "
                "it protects nothing until you move to quarantine)."
            ),
            record=record,
        )
    return Finding("DMARC", OK, _("DMARC found."), record=record)


def dmarc_tags(record):
    pairs = (part.partition("=") for part in record.split(";"))
    return {
        key.strip().lower(): value.strip().lower() for key, _sep, value in pairs if key.strip()
    }


def organisational_domain(domain):
    """The registered domain, approximated by its last two labels (DMARC looks there too)."""
    return ".".join(domain.split(".")[-2:])


def dkim_findings(domain, selectors):
    tried = list(selectors) or list(COMMON_DKIM_SELECTORS)
    found, failed = [], []
    for selector in tried:
        name = f"{selector}._domainkey.{domain}"
        try:
            records = _lookup(name, "v=dkim1") or [r for r in txt_records(name) if "p=" in r]
        except LookupFailed:
            failed.append(name)
            continue
        if records:
            found.append((selector, records[0]))
    findings = [_dkim_found(selector, record) for selector, record in found]
    if findings:
        return findings
    if failed:
        return [_unknown("DKIM", ", ".join(failed))]
    if selectors:
        message = _("No DKIM key at %s.") % ", ".join(
            f"{s}._domainkey.{domain}" for s in selectors
        )
    else:
        message = _("No DKIM key found under the usual selectors.")
    return [
        Finding(
            "DKIM",
            PROBLEM,
            message,
            _(
                "Set up DKIM signing for %s with your email provider; it gives you the selector "
                "and the record to publish. Check it with --dkim-selector."
            )
            % domain,
        )
    ]


def _dkim_found(selector, record):
    key = dict(part.strip().partition("=")[::2] for part in record.split(";") if "=" in part)
    if not key.get("p", "").strip():
        return Finding(
            "DKIM",
            PROBLEM,
            _("The DKIM key of selector “%s” is revoked (empty p=).") % selector,
            _("Publish the key your provider signs with."),
            record,
        )
    return Finding(
        "DKIM",
        OK,
        _("DKIM key found (selector “%s”): mail signed with it is aligned with this domain.")
        % selector,
        record=record,
    )


def _unknown(topic, name):
    return Finding(
        topic,
        UNKNOWN,
        _("DNS did not answer for %s: not checked.") % name,
        _("Try again later, or from a machine that can reach DNS."),
    )
