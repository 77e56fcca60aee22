"""Replacements: both modes, consistency within a file, determinism by doc id, redaction that stays redacted."""

from __future__ import annotations

import ipaddress
import re
import time

import pytest

from pii.detect import EMAIL, IP_ADDRESS, KEY, Finding
from pii.evaluate import DEFAULT_LABELLED, load_labelled
from pii.redact import document_rng, redact
from pii.replacements import (
    BIGCODE_EMAILS,
    BIGCODE_IPV4,
    BIGCODE_IPV6,
    BIGCODE_KEYS,
    EMAIL_REPLACEMENTS,
    IPV4_REPLACEMENTS,
    IPV6_REPLACEMENTS,
    is_replacement_key,
    shaped_key,
)

TEXT = """# Maintainer: Mira Okafor <mira.okafor@quintessa-labs.io>
PRIMARY = "52.14.88.201"
SECONDARY = "81.92.103.114"
V6 = "2a03:2880:f10e:83:face:b00c:0:25de"
AWS_ACCESS_KEY_ID = "AKIA4QW7ZP2LMX9RT3BN"
# again: mira.okafor@quintessa-labs.io, 52.14.88.201 and AKIA4QW7ZP2LMX9RT3BN
OTHER = "t.lindqvist@postbox.se"
"""
SECRETS = ("mira.okafor@quintessa-labs.io", "52.14.88.201", "AKIA4QW7ZP2LMX9RT3BN", "t.lindqvist@postbox.se")


def _all_fixture_texts() -> list[tuple[str, str]]:
    docs, negatives = load_labelled(DEFAULT_LABELLED)
    texts = [(doc.path, doc.content) for doc in docs]
    by_file: dict[str, list[str]] = {}
    for rel, line in negatives:
        by_file.setdefault(rel, []).append(line)
    return texts + [(rel, "\n".join(lines) + "\n") for rel, lines in sorted(by_file.items())]


def test_replacement_pools_are_safe():
    for pool in (EMAIL_REPLACEMENTS, BIGCODE_EMAILS):
        assert all(e.endswith("@example.com") for e in pool) and len(set(pool)) == 10
    for pool in (IPV4_REPLACEMENTS, BIGCODE_IPV4):
        assert all(
            ipaddress.ip_address(ip).is_private and ipaddress.ip_address(ip).version == 4 for ip in pool
        )
    for pool in (IPV6_REPLACEMENTS, BIGCODE_IPV6):
        assert all(ipaddress.ip_address(ip) in ipaddress.ip_network("fc00::/7") for ip in pool)
    assert len(BIGCODE_KEYS) == 10 and all(re.fullmatch(r"[a-z0-9]{32}", k) for k in BIGCODE_KEYS)


def test_same_value_same_replacement_within_a_file(detector):
    findings = detector.detect(TEXT).findings
    assert sorted(f.entity for f in findings) == sorted([EMAIL] * 3 + [IP_ADDRESS] * 4 + [KEY] * 2)
    new, counts = redact(TEXT, findings, "doc-1")
    assert counts == {EMAIL: 3, IP_ADDRESS: 4, KEY: 2}
    assert not any(secret in new for secret in SECRETS)
    emails = re.findall(r"\w+@example\.com", new)
    assert len(emails) == 3 and emails[0] == emails[1] != emails[2]  # same value twice, a different one once
    ips = re.findall(r"\b\d+\.\d+\.\d+\.\d+\b", new)
    assert len(ips) == 3 and ips[0] == ips[2] != ips[1] and set(ips) <= set(IPV4_REPLACEMENTS)
    assert re.search(r'V6 = "(fd[0-9a-f:]+)"', new).group(1) in IPV6_REPLACEMENTS
    keys = re.findall(r'AWS_ACCESS_KEY_ID = "([0-9A-Z]{20})"', new) + re.findall(
        r" and ([0-9A-Z]{20})\n", new
    )
    assert len(keys) == 2 and keys[0] == keys[1] and not keys[0].startswith("AKIA")


def test_deterministic_by_doc_id(detector):
    findings = detector.detect(TEXT).findings
    first = redact(TEXT, findings, "doc-1")
    assert redact(TEXT, findings, "doc-1") == first
    others = {redact(TEXT, findings, f"doc-{i}")[0] for i in range(2, 8)}
    assert len(others | {first[0]}) > 1  # other ids draw other replacements


@pytest.mark.parametrize(
    "value",
    [
        "AKIA4QW7ZP2LMX9RT3BN",
        "ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5b",
        "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
        "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlX19fX19fX19f",
        "9f8e7d6c5b4a39281706f5e4d3c2b1a0",
        "MIIEpAIB\\nAAKCAQEA+x/y==",
        "zw2QGW!pZeKGU7",
    ],
)
def test_key_replacement_keeps_shape_not_prefix_and_is_recognised(value):
    rng = document_rng("x")
    new = shaped_key(value, rng)
    assert new != value and len(new) == len(value)
    for a, b in zip(value, new, strict=True):
        assert (a.isdigit(), a.islower(), a.isupper()) == (b.isdigit(), b.islower(), b.isupper())
        if not a.isalnum():
            assert a == b
    assert not re.match(r"AKIA|ghp_|xox[bp]-|sk_live_|eyJ", new)  # no type prefix survives
    if re.fullmatch(r"[0-9a-f]+", value):
        assert re.fullmatch(r"[0-9a-f]+", new)  # hex stays hex
    assert "\\n" in new or "\\n" not in value  # escapes inside literals survive
    assert is_replacement_key(new) and not is_replacement_key(value)


def test_real_secrets_rarely_pass_the_replacement_check():
    rng = document_rng("check")
    chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    values = ["".join(rng.choice(chars) for _ in range(24)) for _ in range(20_000)]
    assert sum(map(is_replacement_key, values)) <= 2  # 1 in a million by design; 2 allows for luck
    assert all(is_replacement_key(k) for k in BIGCODE_KEYS)


def test_bigcode_mode_uses_bigcodes_pools(detector):
    findings = detector.detect(TEXT).findings
    new, counts = redact(TEXT, findings, "doc-1", "bigcode")
    assert counts == {EMAIL: 3, IP_ADDRESS: 4, KEY: 2}
    assert not any(secret in new for secret in SECRETS)
    assert set(re.findall(r"\w+@example\.com", new)) <= set(BIGCODE_EMAILS)
    assert set(re.findall(r"\b\d+\.\d+\.\d+\.\d+\b", new)) <= set(BIGCODE_IPV4)
    assert re.search(r'V6 = "([0-9a-f:]+)"', new).group(1) in BIGCODE_IPV6
    keys = re.findall(r'AWS_ACCESS_KEY_ID = "(\w+)"', new)
    assert keys and keys[0] in BIGCODE_KEYS and new.count(keys[0]) == 2  # same value, same replacement
    assert redact(TEXT, findings, "doc-1", "bigcode") == (new, counts)
    with pytest.raises(ValueError, match="replacements mode"):
        redact(TEXT, findings, "doc-1", "presidio")


@pytest.mark.parametrize("mode", ["stackcurate", "bigcode"])
def test_redaction_stays_redacted_over_the_whole_fixture_set(detector, mode):
    """Running the stage on its own output changes nothing, and no replacement is flagged again."""
    redacted_files = 0
    for rel, text in _all_fixture_texts():
        once, counts = redact(text, detector.detect(text).findings, rel, mode)
        redacted_files += bool(counts)
        again = detector.detect(once)
        assert again.findings == [], (
            rel,
            [(f.entity, f.source, once[f.start : f.end]) for f in again.findings],
        )
        assert redact(once, again.findings, rel, mode)[0] == once
    assert redacted_files >= 15


def test_ip_prefix_length_is_kept():
    text = 'allow = "52.14.88.0/24"\n'
    finding = Finding(9, 22, IP_ADDRESS, "52.14.88.0/24")
    for mode, pool in (("stackcurate", IPV4_REPLACEMENTS), ("bigcode", BIGCODE_IPV4)):
        new, counts = redact(text, [finding], "d", mode)
        assert counts == {IP_ADDRESS: 1}
        assert re.fullmatch(r'allow = "(\d+\.\d+\.\d+\.\d+)/24"\n', new).group(1) in pool


def test_unicode_offsets(detector):
    text = '// Übersetzung: Zoë Müller <zoe.mueller@beispiel-firma.de> — 日本語\nString s = "Grüße, 世界"; // 81.92.103.114\n'
    new, counts = redact(text, detector.detect(text).findings, "u")
    assert counts == {EMAIL: 1, IP_ADDRESS: 1}
    assert new.startswith("// Übersetzung: Zoë Müller <") and "— 日本語\n" in new and "Grüße, 世界" in new
    assert "zoe.mueller" not in new and "81.92.103.114" not in new


def test_very_long_line_is_fast_and_still_scanned(detector):
    blob = "QUFB" * 50_000  # a 200 KB line of base64-looking text, no quotes
    text = f"x = 1\ndata = {blob} contact ops.lead@harbourline.co.uk {blob}\n"
    started = time.perf_counter()
    findings = detector.detect(text).findings
    elapsed = time.perf_counter() - started
    assert [f.entity for f in findings] == [EMAIL]
    assert elapsed < 5.0, elapsed  # quadratic regexes on a 400 KB line would take minutes
