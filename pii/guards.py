"""False-positive guards: things in code that look like PII but are not.

Each guard takes the matched value and its surroundings and returns a short
reason string when the match must be left alone, or ``None``. The reasons are
counted by ``pii.evaluate`` so each guard's effect can be audited; docs/pii.md
says why each one exists.
"""

from __future__ import annotations

import ipaddress
import math
import re

from detect_secrets.filters import heuristic

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


def _line_around(text: str, start: int, end: int) -> tuple[str, str]:
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
    before, after = _line_around(text, start, end)
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
    before, after = _line_around(text, start, end)
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
    if local_l in PLACEHOLDER_LOCAL_PARTS and domain_l.split(".")[0] in _GENERIC_DOMAIN_LABELS:
        return "placeholder_address"  # username@hostname.com, email@email.com, password@server.net
    return None


_HASH_WORDS = re.compile(
    r"sha\d*|md5|md4|hash|digest|checksum|integrity|etag|fingerprint|crc|commit|revision|\brev\b|blake|hmac_expected"
    r"|git_?sha|\bsum\b|test_?vector|nonce|opaque",
    re.IGNORECASE,
)
_SECRET_WORDS = re.compile(
    r"key|secret|token|passw|pwd|auth|credential|private|api|bearer|signature|salt|session|cookie|access",
    re.I,
)
_SRI_VALUE = re.compile(r"^sha(?:1|256|384|512)-[A-Za-z0-9+/=]+$", re.IGNORECASE)
_SRI_PREFIX = re.compile(r"(?:sha(?:256|384|512)-|base64,)$", re.IGNORECASE)
_HEX = re.compile(r"^[0-9a-fA-F]+$")
_PATH_LIKE = re.compile(r"^[\w.-]*(?:/[A-Za-z_][\w.-]*){2,}/?$")
_PLACEHOLDER_SECRET = re.compile(
    r"your|xxx|change.?me|changeit|password|secret|example|dummy|fake|sample|placeholder|replace|insert|"
    r"enter|redacted|todo|fixme|\*\*\*|<|>|\{|\}|\$|%|none|null|undefined|default",
    re.IGNORECASE,
)
_IDENTIFIER = re.compile(r"^(?:[a-z]+(?:[_.-][a-z]+)*|[A-Z]+(?:[_.-][A-Z]+)*|[a-z]+(?:[A-Z][a-z]+)+)$")


def shannon_entropy(value: str) -> float:
    """Bits per character of the value's own character distribution."""
    counts: dict[str, int] = {}
    for char in value:
        counts[char] = counts.get(char, 0) + 1
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in counts.values()) if n else 0.0


def _mostly_ascending(value: str) -> bool:
    """True when most neighbouring characters are consecutive code points (abc..., 0123..., ABC...)."""
    if len(value) < 8:
        return False
    steps = sum(ord(b) - ord(a) == 1 for a, b in zip(value, value[1:], strict=False))
    return steps >= 0.7 * (len(value) - 1)


def _previous_line(text: str, start: int) -> str:
    line_start = text.rfind("\n", 0, start)
    if line_start <= 0:
        return ""
    prev_start = text.rfind("\n", max(0, line_start - 300), line_start)
    return text[prev_start + 1 : line_start]


def key_guard(value: str, text: str, start: int, end: int, plugin: str) -> str | None:
    """Why a key-looking match is not a secret, or ``None``.

    ``plugin`` is the name of the detector that found it: values from
    structured detectors (``AWSKeyDetector``, ``GitHubTokenDetector`` ...) only
    pass the cheap library heuristics; entropy and keyword hits pass them all.
    """
    if heuristic.is_templated_secret(value) or heuristic.is_not_alphanumeric_string(value):
        return "template"
    if "EXAMPLE" in value.upper():
        return "example_key"  # AWS's documented AKIAIOSFODNN7EXAMPLE and friends
    if _SRI_VALUE.match(value):
        return "hash"  # subresource integrity: sha384-<base64 digest>
    if heuristic.is_sequential_string(value) or _mostly_ascending(value):
        return "sequential"  # alphabets: "abcdefghijklmnopqrstuvwxyz0123456789_"
    if heuristic.is_potential_uuid(value):
        return "uuid"
    if plugin == "PrivateKeyBlock":
        body = re.sub(r"\\[nrt]|[^A-Za-z0-9+/=]", "", value)
        if len(body) < 64 or shannon_entropy(body) < 4.0:
            return "placeholder_key_block"  # "-----BEGIN PRIVATE KEY-----\nXXXX\n..." in docs
        return None
    if plugin not in {
        "Base64HighEntropyString",
        "HexHighEntropyString",
        "KeywordDetector",
        "BasicAuthDetector",
    }:
        return None
    before, after = _line_around(text, start, end)
    line = before + value + after
    if heuristic.is_likely_id_string(value, line):
        return "id_string"
    context = before + " " + _previous_line(text, start)
    if plugin in {"KeywordDetector", "BasicAuthDetector"}:
        if heuristic.is_prefixed_with_dollar_sign(value) or heuristic.is_indirect_reference(line):
            return "template"
        if len(value) < 8 or _PLACEHOLDER_SECRET.search(value) or _IDENTIFIER.match(value):
            return "placeholder_secret"
        if shannon_entropy(value) < 2.5 or not re.search(r"[0-9]|[^\w]|[A-Z].*[a-z]|[a-z].*[A-Z]", value):
            return "weak_value"
        return None
    if _SRI_PREFIX.search(before):
        return "hash"  # subresource integrity / data: URI payload
    hashy = bool(_HASH_WORDS.search(context))
    if plugin == "HexHighEntropyString" or _HEX.match(value):
        if hashy:
            return "hash"
        if len(value) < 32 or not _SECRET_WORDS.search(context):
            return "hex_without_secret_context"  # digests, test vectors, colours, ids
        return None
    # Base64 high-entropy strings.
    if len(value) < 20:
        return "too_short"
    if len(value) > 200:
        return "blob"  # embedded data, not a credential
    if hashy and len(value) in {22, 24, 27, 28, 43, 44, 64, 86, 88}:
        return "hash"  # base64 digests of md5 / sha1 / sha256 / sha384 / sha512
    if _PATH_LIKE.match(value):
        return "path"
    has_digit = any(c.isdigit() for c in value)
    has_upper = any(c.isupper() for c in value)
    has_lower = any(c.islower() for c in value)
    if not has_digit or not (has_upper or has_lower):
        return "word_like"
    if not (has_upper and has_lower) and len(value) < 32 and not _SECRET_WORDS.search(context):
        return "word_like"
    return None
