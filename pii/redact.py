"""Replace findings, deterministically per document, in one of two modes (see ``pii.replacements``).

The same value gets the same replacement everywhere in a file. The random
generator is seeded by the document id only (never by the secret, which would
let anyone who knows the id test guesses of a weak password against the
output), and replacements are drawn in order of first appearance, so the
output is the same on every run, runner and worker.

``stackcurate`` (ours): different values get different pool entries until a
pool runs out; keys keep their shape, not their type prefix. ``bigcode``:
BigCode's pools, one ``choice`` per distinct value (two values may draw the
same entry), keys become one of BigCode's ten fixed strings. BigCode keyed
"same value" by the value alone, across entity types; so does this mode.
"""

from __future__ import annotations

import hashlib
import ipaddress
import random
from collections import Counter
from collections.abc import Sequence
from typing import Literal

from pii.detect import EMAIL, IP_ADDRESS, KEY, Finding, PiiDetector
from pii.replacements import (
    BIGCODE_EMAILS,
    BIGCODE_IPV4,
    BIGCODE_IPV6,
    BIGCODE_KEYS,
    EMAIL_REPLACEMENTS,
    IPV4_REPLACEMENTS,
    IPV6_REPLACEMENTS,
    shaped_key,
)

Mode = Literal["stackcurate", "bigcode"]
MODES: tuple[str, ...] = ("stackcurate", "bigcode")


def document_rng(doc_id: str) -> random.Random:
    """A generator seeded by the document id alone."""
    seed = int.from_bytes(hashlib.blake2b(doc_id.encode("utf-8"), digest_size=8).digest(), "big")
    return random.Random(seed)


def _split_ip(value: str) -> tuple[int, str]:
    """The IP version and the suffix to keep (``/24`` prefix length, ``%eth0`` zone)."""
    address, sep, prefix = value.partition("/")
    address, zone_sep, zone = address.partition("%")
    version = ipaddress.ip_address(address).version
    return version, (zone_sep + zone) + (sep + prefix)


class _Replacer:
    """Hands out replacements in order of first appearance; same value, same replacement."""

    def __init__(self, doc_id: str, mode: Mode) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown replacements mode {mode!r}; expected one of {MODES}")
        self._mode = mode
        self._rng = document_rng(doc_id)
        self._given: dict[tuple[str, str], str] = {}
        self._next: dict[str, int] = {}

    def _from_pool(self, pool_name: str, pool: Sequence[str]) -> str:
        if self._mode == "bigcode":
            return self._rng.choice(pool)
        if pool_name not in self._next:
            self._next[pool_name] = self._rng.randrange(len(pool))
        index = self._next[pool_name]
        self._next[pool_name] = index + 1
        return pool[index % len(pool)]

    def _new(self, entity: str, value: str) -> str:
        bigcode = self._mode == "bigcode"
        if entity == EMAIL:
            return self._from_pool(EMAIL, BIGCODE_EMAILS if bigcode else EMAIL_REPLACEMENTS)
        if entity == IP_ADDRESS:
            version, suffix = _split_ip(value)
            if version == 4:
                pool = BIGCODE_IPV4 if bigcode else IPV4_REPLACEMENTS
            else:
                pool = BIGCODE_IPV6 if bigcode else IPV6_REPLACEMENTS
            return self._from_pool(f"ipv{version}", pool) + suffix
        return self._from_pool(KEY, BIGCODE_KEYS) if bigcode else shaped_key(value, self._rng)

    def __call__(self, entity: str, value: str) -> str:
        key = ("", value) if self._mode == "bigcode" else (entity, value)
        if key not in self._given:
            self._given[key] = self._new(entity, value)
        return self._given[key]


def redact(
    text: str, findings: Sequence[Finding], doc_id: str, mode: Mode = "stackcurate"
) -> tuple[str, dict[str, int]]:
    """The text with every finding replaced, and the number of replaced spans per entity type."""
    if not findings:
        return text, {}
    replacer = _Replacer(doc_id, mode)
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


def redact_document(
    detector: PiiDetector, content: str, doc_id: str, mode: Mode = "stackcurate"
) -> tuple[str, dict[str, int]]:
    """Detect and redact one document: ``(new_content, counts)``; counts is empty when nothing changed."""
    return redact(content, detector.detect(content).findings, doc_id, mode)


def ledger_counts(counts: dict[str, int]) -> dict[str, int]:
    """Counts for every entity type, zeros included, for the ``modified/`` ledger."""
    return {entity: int(counts.get(entity, 0)) for entity in (EMAIL, IP_ADDRESS, KEY)}
