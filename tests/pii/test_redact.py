"""Replacements: BigCode pools, same shape for keys, consistency within a file, determinism by doc id."""

from __future__ import annotations

import ipaddress
import re
import time

from pii.detect import EMAIL, IP_ADDRESS, KEY, Finding
from pii.redact import (
    EMAIL_REPLACEMENTS,
    IPV4_REPLACEMENTS,
    IPV6_REPLACEMENTS,
    document_rng,
    redact,
    shaped_like,
)

TEXT = """# Maintainer: Mira Okafor <mira.okafor@quintessa-labs.io>
PRIMARY = "52.14.88.201"
SECONDARY = "81.92.103.114"
V6 = "2a03:2880:f10e:83:face:b00c:0:25de"
AWS_ACCESS_KEY_ID = "AKIA4QW7ZP2LMX9RT3BN"
# again: mira.okafor@quintessa-labs.io, 52.14.88.201 and AKIA4QW7ZP2LMX9RT3BN
OTHER = "t.lindqvist@postbox.se"
"""


def test_replacement_pools_are_safe():
    assert all(e.endswith("@example.com") for e in EMAIL_REPLACEMENTS) and len(set(EMAIL_REPLACEMENTS)) == 10
    assert all(
        ipaddress.ip_address(ip).is_private and ipaddress.ip_address(ip).version == 4
        for ip in IPV4_REPLACEMENTS
    )
    assert all(ipaddress.ip_address(ip) in ipaddress.ip_network("fd00::/8") for ip in IPV6_REPLACEMENTS)


def test_same_value_same_replacement_within_a_file(detector):
    findings = detector.detect(TEXT).findings
    assert sorted(f.entity for f in findings) == sorted([EMAIL] * 3 + [IP_ADDRESS] * 4 + [KEY] * 2)
    new, counts = redact(TEXT, findings, "doc-1")
    assert counts == {EMAIL: 3, IP_ADDRESS: 4, KEY: 2}
    for secret in (
        "mira.okafor@quintessa-labs.io",
        "52.14.88.201",
        "AKIA4QW7ZP2LMX9RT3BN",
        "t.lindqvist@postbox.se",
    ):
        assert secret not in new
    emails = re.findall(r"\w+@example\.com", new)
    assert len(emails) == 3 and emails[0] == emails[1] != emails[2]  # same value twice, a different one once
    ips = re.findall(r"\b\d+\.\d+\.\d+\.\d+\b", new)
    assert len(ips) == 3 and ips[0] == ips[2] != ips[1] and set(ips) <= set(IPV4_REPLACEMENTS)
    assert re.search(r'V6 = "(fd[0-9a-f:]+)"', new).group(1) in IPV6_REPLACEMENTS
    keys = re.findall(r"AKIA[0-9A-Z]{16}", new)
    assert len(keys) == 2 and keys[0] == keys[1]


def test_deterministic_by_doc_id(detector):
    findings = detector.detect(TEXT).findings
    first = redact(TEXT, findings, "doc-1")
    assert redact(TEXT, findings, "doc-1") == first
    others = {redact(TEXT, findings, f"doc-{i}")[0] for i in range(2, 8)}
    assert first[0] not in others or len(others) > 1  # other ids draw other replacements
    assert len(others | {first[0]}) > 1


def test_key_replacement_keeps_shape_and_prefix():
    rng = document_rng("x")
    for value in (
        "AKIA4QW7ZP2LMX9RT3BN",
        "ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5b",
        "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
        "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
        "9f8e7d6c5b4a39281706f5e4d3c2b1a0",
        "MIIEpAIB\\nAAKCAQEA+x/y==",
    ):
        new = shaped_like(value, rng)
        assert new != value and len(new) == len(value)
        for a, b in zip(value, new, strict=True):
            assert (a.isdigit(), a.islower(), a.isupper()) == (b.isdigit(), b.islower(), b.isupper())
            if not a.isalnum():
                assert a == b
    assert shaped_like("AKIA4QW7ZP2LMX9RT3BN", rng).startswith("AKIA")
    assert shaped_like("ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5b", rng).startswith("ghp_")
    assert re.fullmatch(
        r"[0-9a-f]{32}", shaped_like("9f8e7d6c5b4a39281706f5e4d3c2b1a0", rng)
    )  # hex stays hex
    assert "\\n" in shaped_like("MIIEpAIB\\nAAKCAQEA+x/y==", rng)  # escapes inside literals survive


def test_ip_prefix_length_is_kept():
    text = 'allow = "52.14.88.0/24"\n'
    finding = Finding(9, 22, IP_ADDRESS, "52.14.88.0/24")
    new, counts = redact(text, [finding], "d")
    assert counts == {IP_ADDRESS: 1}
    assert re.fullmatch(r'allow = "(\d+\.\d+\.\d+\.\d+)/24"\n', new).group(1) in IPV4_REPLACEMENTS


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


def test_prescan_changes_speed_not_results(detector, detector_without_prescan):
    for text in (TEXT, 'SERVER = "8.8.8.8"\nkey = "AKIA4QW7ZP2LMX9RT3BN"\n', "nothing here\n"):
        with_prescan = [(f.start, f.end, f.entity) for f in detector.detect(text).findings]
        without = [(f.start, f.end, f.entity) for f in detector_without_prescan.detect(text).findings]
        assert with_prescan == without


def test_prescan_families():
    from pii.prescan import families, segments

    assert families("def f(x):\n    return x + 1\n") == set()
    assert families("mail bob@corp.io") == {"email"}
    assert families("host 52.14.88.201") == {"ip_address"}
    text = "a\n" + "b" * 5000 + "\nc\n"
    pieces = list(segments(text))
    covered = set()
    for offset, piece in pieces:
        assert text[offset : offset + len(piece)] == piece and len(piece) <= 2000
        covered.update(range(offset, offset + len(piece)))
    assert covered == set(range(len(text)))
