"""The comment scans' compiled kernels equal the regexes they stand for (which stay as the definition):
the Java scan, and the two signs of ``plain_python3`` tried at every space and line."""

from __future__ import annotations

import random

import numpy as np

from filters.comments_java import java_comment_chars_fast, java_comment_chars_regex
from filters.comments_python_layout import layout_lines, name_pair_sign
from filters.comments_python_syntax import (
    _AFTER_A_NAME_TABLE,
    _BEFORE_A_NAME_TABLE,
    _bare_name,
    layout_sign_regex,
    name_pairs_sign_regex,
)


def test_compiled_java_scan_equals_its_regex() -> None:
    """The compiled scan is the regex ``_SCAN`` by hand: same count or same hand-back on random strings of
    the characters that matter (quotes, text blocks, escapes, octal/unicode digits, markers, CR/LF,
    non-ASCII, a lone surrogate)."""
    pieces = ['"', "'", "/", "*", "\\", "\r\n", "\n", " ", "u", "0", "7", "8", "F", "\u00e9", "\U0001f600",
              "\f", '"""', "\ud800", "//", "/*", "*/"]  # fmt: skip
    rng = random.Random(3)
    handed_back = counted = 0
    for _ in range(20_000):
        source = "".join(rng.choice(pieces) for _ in range(rng.randrange(0, 14)))
        expected = java_comment_chars_regex(source)
        assert java_comment_chars_fast(source) == expected, source
        handed_back += expected is None
        counted += bool(expected)
    assert (handed_back, counted) == (10187, 3463)
    for source, expected in [
        ("char c = '\\uuu0041'; /* \u00e9\r\n */", 8),  # u+ then four hex digits; CRLF once, é once
        ("char c = '\\1234'; // x", None),  # more than three octal digits
        ("char c = '\\12'; // x", 4),
        ('String t = """  \n a \\""" "" """; // y', 4),  # an escaped quote does not close the block
        ('String t = """ x"; // z', 4),  # no line break after the opening quotes: "" then " x"
        ("int a = 1 / 2; /**/ /*/ */", 10),
    ]:
        assert java_comment_chars_fast(source) == expected == java_comment_chars_regex(source), source


def _compiled_signs(code: str) -> tuple[bool, bool]:
    data = np.frombuffer(code.encode("ascii"), dtype=np.uint8)
    lines = layout_lines(data)
    layout = lines is None or any(_bare_name(code[start:end], paren) for start, end, paren in lines)
    return name_pair_sign(data, _BEFORE_A_NAME_TABLE, _AFTER_A_NAME_TABLE), layout


_HEADS = [
    "if x", "else", "elif y", "def f(a, b)", "async def g()", "async  for x in y", "class A(B)", "try",
    "except E", "while True", "with a as b", "return x", "return", "pass", "import os", "from a import b",
    "x = 1", "self.x = f(1)", "x == 1", "y = [1,", "z = (1, 2)", "foo(x)", "match (x)", "case y", "name",
    "name (a)", "name (a(b))", "print x", "x y", "x not in y", "x not  y", "1 x", "f() g", "a[1] b",
    "\x01 x", "_ x", "lambda: 0", "type X", "x = {a: b}", "x = 1  \\", "async", "await x", "f(a)(b)",
]  # fmt: skip
_TAILS = ["", ":", ":", " :", ":  ", ")", "(", "]", "[x]", "{", "\\", ":\\", " x", "\tx"]


def test_compiled_python_signs_equal_their_regexes() -> None:
    """Masked code made of statement lines (headers with and without bodies, simple statements before deeper
    lines, bare names with colons, name pairs joined by keywords or not, CRLF, blank lines, tabs): the
    compiled name-pair and layout signs give the regexes' answers."""
    rng = random.Random(4)
    signs = [0, 0]
    for _ in range(6_000):
        lines = []
        for _ in range(rng.randrange(1, 9)):
            if rng.random() < 0.15:
                lines.append(rng.choice(["", "   ", "\t"]))
                continue
            indent = " " * (4 * rng.randrange(0, 3)) + rng.choice(["", "", "", " ", "\t"])
            lines.append(indent + rng.choice(_HEADS) + rng.choice(_TAILS))
        newline = rng.choice(["\n", "\n", "\r\n"])
        code = "\n" + newline.join(lines) + rng.choice(["", newline, "  "])
        expected = (name_pairs_sign_regex(code), layout_sign_regex(code))
        assert _compiled_signs(code) == expected, code
        signs[0] += expected[0]
        signs[1] += expected[1]
    assert signs == [3224, 1487]  # both kinds of answer, many times
