"""BigCode-style replacements, deterministic per document.

* emails -> one of a fixed set of ``@example.com`` addresses;
* IPv4 -> one of a fixed set of private (RFC 1918) addresses, IPv6 -> one of a
  fixed set of unique-local (``fd00::/8``) addresses: same version, never
  routable, and left alone by our own guards if the data is scanned again;
* keys -> a random string of the same shape: every digit becomes a digit, every
  lower / upper-case letter a letter of the same case (hex stays hex), other
  characters and escape sequences stay; a well-known type prefix (``AKIA``,
  ``ghp_``, ``xoxb-``, ``sk_live_`` ...) is kept so the code still says what
  kind of credential goes there.

The same value gets the same replacement everywhere in a file. The random
generator is seeded by the document id only (never by the secret, which would
let anyone who knows the id test guesses of a weak password against the
output), and replacements are drawn in order of first appearance, so the
output is the same on every run, runner and worker.
"""

from __future__ import annotations

import hashlib
import ipaddress
import random
import re
import string
from collections import Counter
from collections.abc import Sequence

from pii.detect import EMAIL, IP_ADDRESS, KEY, Finding, PiiDetector

EMAIL_REPLACEMENTS: tuple[str, ...] = (
    "qkzvm@example.com", "hrtwe@example.com", "pldsx@example.com", "nyoac@example.com", "bwfgu@example.com",
    "tjmei@example.com", "xcarv@example.com", "glunp@example.com", "vdohs@example.com", "eyqbk@example.com",
)  # fmt: skip
IPV4_REPLACEMENTS: tuple[str, ...] = (
    "10.17.42.3",
    "10.203.8.61",
    "172.20.14.9",
    "172.29.201.77",
    "192.168.47.12",
)
IPV6_REPLACEMENTS: tuple[str, ...] = (
    "fd3a:9c21:7e4b::15",
    "fd5e:11d0:c8a2:4f07::2",
    "fd81:b7e3:29c5:d4a0:6f12:3b98:e07c:51d4",
    "fdc4:62af:0b19::a3",
    "fdf0:2d8e:94b7:1c60::7",
)
KEY_PREFIXES = re.compile(
    r"^(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9]|gh[pousr]_|github_pat_|xox[abposr]-|[rs]k_live_|SG\.|AIza|hf_"
    r"|gl(?:pat|dt|ft|soat|rt|cbt|imt|ptt|agent|oas)-|npm_|sq0csp-|AccountKey=|pypi-|AKC|sk-|eyJ"
    r"|https://hooks\.slack\.com/services/)"
)
_HEX = re.compile(r"^[0-9a-fA-F]+$")


def document_rng(doc_id: str) -> random.Random:
    """A generator seeded by the document id alone."""
    seed = int.from_bytes(hashlib.blake2b(doc_id.encode("utf-8"), digest_size=8).digest(), "big")
    return random.Random(seed)


def shaped_like(value: str, rng: random.Random) -> str:
    """A random string of the same length and character classes as ``value``, its type prefix kept."""
    prefix_match = KEY_PREFIXES.match(value)
    prefix = prefix_match.group(0) if prefix_match else ""
    body = value[len(prefix) :]
    is_hex = bool(_HEX.match(body))
    lower = "abcdef" if is_hex else string.ascii_lowercase
    upper = "ABCDEF" if is_hex else string.ascii_uppercase
    for _ in range(8):
        chars = []
        escaped = False
        for char in body:
            if escaped:
                chars.append(char)  # keep \n, \r, \t ... escapes intact inside string literals
                escaped = False
            elif char == "\\":
                chars.append(char)
                escaped = True
            elif "0" <= char <= "9":
                chars.append(rng.choice(string.digits))
            elif "a" <= char <= "z":
                chars.append(rng.choice(lower))
            elif "A" <= char <= "Z":
                chars.append(rng.choice(upper))
            else:
                chars.append(char)
        replacement = prefix + "".join(chars)
        if replacement != value:
            return replacement
    return prefix + "X" * len(body)


class _Replacer:
    """Hands out replacements in order of first appearance; same value, same replacement."""

    def __init__(self, doc_id: str) -> None:
        self._rng = document_rng(doc_id)
        self._given: dict[tuple[str, str], str] = {}
        self._next: dict[str, int] = {}

    def _from_pool(self, pool_name: str, pool: Sequence[str]) -> str:
        if pool_name not in self._next:
            self._next[pool_name] = self._rng.randrange(len(pool))
        index = self._next[pool_name]
        self._next[pool_name] = index + 1
        return pool[index % len(pool)]

    def _ip(self, value: str) -> str:
        address, sep, suffix = value.partition("/")
        address, zone_sep, zone = address.partition("%")
        version = ipaddress.ip_address(address).version
        pool = IPV4_REPLACEMENTS if version == 4 else IPV6_REPLACEMENTS
        return self._from_pool(f"ipv{version}", pool) + (sep + suffix if sep else "")

    def __call__(self, entity: str, value: str) -> str:
        key = (entity, value)
        if key not in self._given:
            if entity == EMAIL:
                self._given[key] = self._from_pool(EMAIL, EMAIL_REPLACEMENTS)
            elif entity == IP_ADDRESS:
                self._given[key] = self._ip(value)
            else:
                self._given[key] = shaped_like(value, self._rng)
        return self._given[key]


def redact(text: str, findings: Sequence[Finding], doc_id: str) -> tuple[str, dict[str, int]]:
    """The text with every finding replaced, and the number of replaced spans per entity type."""
    if not findings:
        return text, {}
    replacer = _Replacer(doc_id)
    parts: list[str] = []
    counts: Counter[str] = Counter()
    last = 0
    for finding in sorted(findings):
        if finding.start < last:
            continue  # overlapping findings are resolved by the detector; never replace twice
        parts.append(text[last : finding.start])
        parts.append(replacer(finding.entity, text[finding.start : finding.end]))
        counts[finding.entity] += 1
        last = finding.end
    parts.append(text[last:])
    return "".join(parts), dict(counts)


def redact_document(detector: PiiDetector, content: str, doc_id: str) -> tuple[str, dict[str, int]]:
    """Detect and redact one document: ``(new_content, counts)``; counts is empty when nothing changed."""
    detection = detector.detect(content)
    return redact(content, detection.findings, doc_id)


def ledger_counts(counts: dict[str, int]) -> dict[str, int]:
    """Counts for every entity type, zeros included, for the ``modified/`` ledger."""
    return {entity: int(counts.get(entity, 0)) for entity in (EMAIL, IP_ADDRESS, KEY)}
