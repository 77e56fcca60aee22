"""False-positive guards for emails and IP addresses: things in code that look like PII but are not.

Each guard takes the matched value and its surroundings and returns a short
reason string when the match must be left alone, or ``None``. The reasons are
counted by ``pii.evaluate`` so each guard's effect can be audited; docs/pii.md
says why each one exists. Key guards are in ``pii.key_guards``.
"""

from __future__ import annotations

import ipaddress
import re

# Well-known public DNS resolvers: configuration, not personal data (BigCode kept these too).
PUBLIC_DNS_SERVERS = frozenset(
    {
        "8.8.8.8", "8.8.4.4",  # Google
        "1.1.1.1", "1.0.0.1",  # Cloudflare
        "9.9.9.9", "149.112.112.112",  # Quad9
        "208.67.222.222", "208.67.220.220",  # OpenDNS
        "76.76.19.19", "76.223.122.150",  # Alternate DNS
        "8.26.56.26", "8.20.247.20",  # Comodo
        "94.140.14.14", "94.140.15.15",  # AdGuard
        "64.6.64.6", "64.6.65.6",  # Verisign
        "2001:4860:4860::8888", "2001:4860:4860::8844",
        "2606:4700:4700::1111", "2606:4700:4700::1001",
        "2620:fe::fe", "2620:fe::9",
        "2620:119:35::35", "2620:119:53::53",
    }
)  # fmt: skip

# Addresses documentation and tests use as "some address" (all are routable, none is anyone's).
PLACEHOLDER_IPS = frozenset(
    {"1.2.3.4", "4.3.2.1", "5.6.7.8", "8.7.6.5", "11.22.33.44", "12.34.56.78", "123.45.67.89", "123.123.123.123",
     "98.76.54.32", "1.1.1.2", "2.2.2.2", "3.3.3.3", "4.4.4.4", "5.5.5.5"}
)  # fmt: skip

_VERSION_BEFORE = re.compile(
    r"(?:\bv|\bver|\bversion|\brelease|\brev|==|[<>~!]=|[~^@]|\bpython|\bnode|\bjava|\bjdk)[\s:=\"'(]*$",
    re.IGNORECASE,
)
_VERSION_WORDS = re.compile(r"version|__version__|release|changelog|semver|\bbuild\b", re.IGNORECASE)
_SECTION_BEFORE = re.compile(
    r"(?:step|section|sec\.|§|chapter|clause|paragraph|item|rule|figure|fig\.|table|appendix|rfc\s*\d+)\s*$",
    re.I,
)
_IP_CONTEXT = re.compile(
    r"\bip\b|ipv4|ipv6|address|addr|host|server|dns|proxy|gateway|connect|bind|listen|ping", re.I
)


def line_around(text: str, start: int, end: int) -> tuple[str, str]:
    """The text of the line before ``start`` and after ``end`` (each at most 200 chars)."""
    line_start = max(text.rfind("\n", max(0, start - 200), start) + 1, start - 200)
    newline = text.find("\n", end, end + 200)
    line_end = newline if newline >= 0 else min(len(text), end + 200)
    return text[line_start:start], text[end:line_end]


def ip_guard(value: str, text: str, start: int, end: int) -> str | None:
    """Why an IP-address-looking match is not a personal IP address, or ``None``."""
    address_text = value.split("/")[0].split("%")[0]
    try:
        address = ipaddress.ip_address(address_text)
    except ValueError:
        return "not_an_ip"
    if (
        address.version == 6
        and len([g for g in address_text.split(":") if g]) < 3
        and "." not in address_text
    ):
        return "short_ipv6"  # a[1::2], 10::20: slices and C++ scopes, not addresses
    if address.is_multicast or address.is_reserved or not address.is_global:
        return "non_public_address"  # private, loopback, link-local, documentation, reserved
    if str(address) in PUBLIC_DNS_SERVERS or address_text in PUBLIC_DNS_SERVERS:
        return "public_dns_server"
    if str(address) in PLACEHOLDER_IPS:
        return "placeholder_ip"
    before, after = line_around(text, start, end)
    if address.version == 4:
        # Part of a longer dotted number (OIDs, 1.2.3.4.5 versions, 1.2.3.4-beta file names).
        if re.search(r"\d\.$|[\w]$", before) or re.match(r"\.\w|[\w-]", after):
            return "dotted_number"  # also 42.2.0.192.in-addr.arpa (reverse-DNS names)
        if _VERSION_BEFORE.search(before):
            return "version"
        # x.x.x.x (single digits) is almost always a version unless the line talks about hosts.
        if len(value) == 7 and (
            _VERSION_WORDS.search(before + after) or not _IP_CONTEXT.search(before + after)
        ):
            return "version"
        if _VERSION_WORDS.search(before):
            return "version"
        if _SECTION_BEFORE.search(before):
            return "section_number"  # "step 12.1.1.3", "section 4.2.1.1" of a spec
        octets = value.split("/")[0].split(".")
        if sum(len(o) == 1 for o in octets) >= 2 and not _IP_CONTEXT.search(before + after):
            return "dotted_number"
    return None


# RFC 2606 / RFC 6761 names reserved for examples and tests.
_RESERVED_EMAIL_SUFFIXES = (
    ".example",
    ".test",
    ".invalid",
    ".localhost",
    ".local",
    ".localdomain",
    ".internal",
)
_EXAMPLE_DOMAINS = re.compile(r"(?:^|\.)example\.(?:com|org|net|edu)$")
# Domains that documentation and tests use as "some domain" placeholders.
PLACEHOLDER_DOMAINS = frozenset(
    {
        "domain.com", "domain.tld", "yourdomain.com", "mydomain.com", "your-domain.com", "somedomain.com",
        "company.com", "yourcompany.com", "mycompany.com", "acme.com", "acme.org", "foo.com", "bar.com",
        "foo.org", "foo.bar", "foobar.com", "test.com", "hostname.com", "testing.com", "sample.com", "somewhere.com",
        "somewhere.org", "email.tld", "host.com", "xxx.com", "xyz.com", "abc.com", "website.com",
        "yoursite.com", "mysite.com", "site.com", "server.com", "address.com",
    }
)  # fmt: skip
PLACEHOLDER_LOCAL_PARTS = frozenset(
    {
        "user", "username", "name", "someone", "somebody", "email", "your.email", "youremail", "your_email",
        "yourname", "your.name", "your_name", "firstname.lastname", "first.last", "john.doe", "jane.doe",
        "johndoe", "janedoe", "foo", "bar", "foobar", "test", "me", "you", "xxx", "abc", "nobody", "example",
        "password", "pass", "admin", "root",
    }
)  # fmt: skip
# Local parts that are placeholders whatever the domain.
_PLACEHOLDER_ANYWHERE = frozenset(
    {"my-project-id", "my-project", "project-id", "project_id", "your-project-id", "your-project", "your-email",
     "your.email", "youremail", "your_email", "yourname", "your.name", "your_name", "firstname.lastname",
     "first.last", "name.surname", "user.name", "service-account-name", "my-service-account"}
)  # fmt: skip
# "TLDs" that are really file extensions in code (module@1.0.py, icon@2x.sh ...).
_FILE_EXTENSION_TLDS = frozenset(
    {"py", "md", "js", "ts", "rb", "java", "json", "yml", "yaml", "xml", "html", "htm",
     "css", "png", "jpg", "jpeg", "gif", "svg", "txt", "cfg", "ini", "lock", "gz", "tar", "whl", "egg"}
)  # fmt: skip
_GIT_HOSTS = re.compile(
    r"^(?:github\.com|gitlab\.com|bitbucket\.org|ssh\.dev\.azure\.com|vs-ssh\.visualstudio\.com)$"
)
_GENERIC_DOMAIN_LABELS = frozenset(
    {"domain", "host", "hostname", "company", "mail", "email", "server", "site", "website", "test", "foo", "bar",
     "somewhere", "provider", "isp", "myhost", "yourhost"}
)  # fmt: skip
_MESSAGE_ID_LOCAL = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{16,}")
_TEMPLATE_CHARS = re.compile(r"[{}$%<>]|\*\*")


def email_guard(value: str, text: str, start: int, end: int) -> str | None:
    """Why an email-looking match is not a real person's or organisation's address, or ``None``."""
    local, _, domain = value.rpartition("@")
    local_l, domain_l = local.lower(), domain.lower().rstrip(".")
    if _TEMPLATE_CHARS.search(value):
        return "template"
    before, after = line_around(text, start, end)
    if re.search(r"[$%]\{?$|\{\{?\s*$", before):
        return "template"
    if domain_l.endswith(_RESERVED_EMAIL_SUFFIXES) or "example" in domain_l.split("."):
        return "reserved_domain"  # RFC 2606 / 6761 names, and any name with an "example" label
    if _EXAMPLE_DOMAINS.search(domain_l):
        return "reserved_domain"
    if domain_l in PLACEHOLDER_DOMAINS:
        return "placeholder_domain"
    if domain_l.rsplit(".", 1)[-1] in _FILE_EXTENSION_TLDS:
        return "file_name"
    if "/" in local or re.search(r"://[^\s/@]*:?$", before):
        return "url"  # user:pass@host in a URL (BasicAuthDetector judges the password), path@ref
    if _MESSAGE_ID_LOCAL.search(local_l):
        return "message_id"  # <uuid@host> / <hex@host>: mail and news Message-IDs name no one
    if local_l == "git" and (
        _GIT_HOSTS.match(domain_l) or after.startswith(":") or before.endswith("ssh://")
    ):
        return "git_ssh_url"  # git@github.com:owner/repo.git, git+ssh://git@host.example:owner/repo
    if local_l in _PLACEHOLDER_ANYWHERE:
        return "placeholder_address"  # my-project-id@appspot.gserviceaccount.com in cloud SDK docstrings
    if local_l in PLACEHOLDER_LOCAL_PARTS and domain_l.split(".")[0] in _GENERIC_DOMAIN_LABELS:
        return "placeholder_address"  # username@hostname.com, email@email.com, password@server.net
    return None
