"""Encoded data: the three kinds of runs at their minimum lengths, the two drop rules, what is not data."""

from __future__ import annotations

import base64
import random

import pytest

from filters.encoded import EncodedScanner, encoded_failure

SCAN = EncodedScanner()
B64 = base64.b64encode(random.Random(0).randbytes(3000)).decode()  # letters, digits, + and /


def kinds(text: str) -> list[tuple[str, int]]:
    return sorted((kind, end - start) for start, end, kind in SCAN.spans(text))


def test_base64_needs_64_characters_with_a_letter_and_a_digit() -> None:
    assert kinds(f'k = "{B64[:64]}"\n') == [("base64", 64)]
    assert kinds(f'k = "{B64[:63]}"\n') == []
    assert kinds("# " + "=" * 80 + "\n" + "/" * 80 + "\n") == []  # separator lines
    assert kinds("x = '" + "abcdefgh" * 10 + "'\n") == []  # letters only: a long identifier, not data
    assert kinds("\n" * 100) == []


def test_base64_runs_cross_line_breaks_but_not_their_ends() -> None:
    pem = "\n".join(B64[i : i + 64] for i in range(0, 640, 64))
    text = f'CERT = """\n{pem}\n"""\n'
    assert kinds(text) == [("base64", 640 + 9)]  # ten lines and the nine breaks between them


def test_hex_runs() -> None:
    eight = ", ".join(f"0x{i:02x}" for i in range(8))
    assert kinds(f"t = [{eight}]\n") == [("hex", len(eight))]
    seven = ", ".join(f"0x{i:02x}" for i in range(7))
    assert kinds(f"t = [{seven}]\n") == []
    escaped = "".join(f"\\x{i:02x}" for i in range(8))
    assert ("hex", len(escaped)) in kinds(f'b = b"{escaped}"\n')
    assert kinds("crc = [0x77073096, 0xee0e612c, 0x990951ba, 0x076dc419, 0x706af48f, 0xe963a535, 0x9e6495a3, "
                 "0x0edb8832]\n")[0][0] == "hex"  # fmt: skip
    # bare pairs count when one of them has a letter: a hex dump, not a list of numbers
    assert kinds("// de ad be ef 00 11 22 33\n") == [("hex", 23)]
    assert kinds("t = [10, 20, 30, 40, 50, 60, 70, 80, 90]\n") == []
    assert kinds("mac = 00:1a:2b:3c:4d:5e:6f:70\n") == [("hex", 23)]
    assert kinds("de ad be ef" + " " * 17 + "00 11 22 33\n") == []  # more than 16 separators: two short runs


def test_escape_runs_across_string_concatenation() -> None:
    eight = "".join(f"\\u{0x4E00 + i:04x}" for i in range(8))
    assert kinds(f's = "{eight}"\n') == [("escapes", 48)]
    assert kinds(f's = "{eight[:-6]}"\n') == []
    table = '    "\\u007D\\u004A\\u004B\\u004C" +      // 0xd0 - 0xd3\n    "\\u0051\\u0052\\n\\uFEE7\\uFE85\\u0000";\n'
    [(kind, length)] = kinds(table)
    assert kind == "escapes" and length == len(table) - len('    "') - len('";\n')
    assert kinds('s = "\\000\\020\\040\\060\\100\\120\\140\\160"\n') == [("escapes", 32)]  # octal tables
    assert kinds('print("a\\n")\nprint("b\\n")\n' * 10) == []  # newlines in strings are not data


def test_drop_rules_and_scores() -> None:
    code = "def f(x):\n    return x + 1\n" * 80
    long = f'BLOB = "{B64[:1100]}"\n'
    score = SCAN.score(code + long)
    assert (score.longest, score.longest_kind) == (1100, "base64")
    assert 0 < score.fraction < 0.5
    assert encoded_failure(score) == "long_encoded_match"
    assert encoded_failure(score, max_match_chars=2000) is None
    many = "".join(f'K{i} = "{B64[i * 100 : i * 100 + 100]}"\n' for i in range(20))
    score = SCAN.score(many)
    assert score.longest == 100 and score.fraction > 0.5 and score.matches == 20
    assert encoded_failure(score) == "high_encoded_fraction"
    assert encoded_failure(SCAN.score(code)) is None
    assert SCAN.score("") == SCAN.score(code)  # no runs: fraction 0, longest 0


def test_fraction_is_over_utf8_bytes() -> None:
    text = f'x = "{B64[:100]}"  # ' + "é" * 50 + "\n"  # 100 run bytes of 6 + 100 + 4 + 100 + 1
    assert SCAN.score(text).fraction == pytest.approx(100 / len(text.encode()))


def test_minimum_lengths_are_settable() -> None:
    assert kinds(f'k = "{B64[:40]}"\n') == []
    assert EncodedScanner(min_base64=32).score(f'k = "{B64[:40]}"\n').longest == 40
    assert EncodedScanner(min_hex_tokens=4).score("t = [0x01, 0x02, 0x03, 0x04]\n").longest_kind == "hex"
