"""The comment scans' compiled kernels equal the regexes they stand for (which stay as the definition):
the Java scan, the Python scan's split into code, comments and literals, and the signs of ``plain_python3``
(keywords, name pairs, layout)."""

from __future__ import annotations

import random

import numpy as np

from filters.comments_java import java_comment_chars_fast, java_comment_chars_regex
from filters.comments_python import split_tokens_regex
from filters.comments_python_keywords import keyword_sign
from filters.comments_python_layout import layout_lines, name_pair_sign
from filters.comments_python_syntax import (
    _AFTER_A_NAME_TABLE,
    _BEFORE_A_NAME_TABLE,
    _bare_name,
    keyword_sign_regex,
    layout_sign_regex,
    name_pairs_sign_regex,
)
from filters.comments_python_tokens import split_tokens


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


def test_compiled_python_tokens_equal_the_regex_split() -> None:
    """Random strings of quotes (single, triple, unterminated), comments, escapes, line breaks (CRLF, a lone
    CR), non-ASCII and the placeholder: same masked code, comments and literals as ``_SCAN.split``, or the
    same hand-back."""
    pieces = [
        "'",
        '"',
        "'''",
        '"""',
        "#",
        "\\",
        "\n",
        "\r\n",
        "\r",
        " ",
        "x",
        "\u00e9",
        "\U0001f600",
        "\x01",
        "(",
    ]
    rng = random.Random(6)
    handed_back = with_literals = 0
    for _ in range(20_000):
        content = "".join(rng.choice(pieces) for _ in range(rng.randrange(0, 16)))
        expected = split_tokens_regex(content)
        assert split_tokens(content) == expected, content
        handed_back += expected is None
        with_literals += bool(expected and expected[2])
    assert (handed_back, with_literals) == (11171, 2990)
    code, comments, literals = split_tokens("x = 'a' + \"\"\"b\n'c'\"\"\"  # d#e\nr'\\'' # \u00e9\n")
    assert (code, comments, literals) == (
        "\nx = \x01 + \x01  \nr\x01 \n",
        " d#e \u00e9",
        ["'a'", '"""b\n\'c\'"""', "'\\''"],
    )


def test_compiled_keyword_signs_equal_their_regexes() -> None:
    """Random runs of the keywords the Python 2 / 3.12 signs start with, names, numbers, brackets, commas,
    blanks (a vertical tab and \\x1c too: str patterns' \\s) and line breaks: same answer as the regexes."""
    pieces = ["print", "exec", "except", "raise", "def", "lambda", "class", "async", "await", "type", " ", " ",
              "\t", "\n", "\r\n", "x", "_", "1", "0", "l", "L", ".", ",", "(", ")", "[", "]", "=", ":", ";", "}",
              "\x01", "\x0b", "\x1c", "for", "with", "None", "if"]  # fmt: skip
    rng = random.Random(8)
    signs = 0
    for _ in range(20_000):
        code = "\n" + "".join(rng.choice(pieces) for _ in range(rng.randrange(1, 14)))
        expected = keyword_sign_regex(code)
        assert keyword_sign(np.frombuffer(code.encode("ascii"), dtype=np.uint8)) == expected, code
        signs += expected
    assert signs == 2190
    for code, expected in [
        ("\nprint x", True), ("\nprint(x)", False), ("\nx.print y", False), ("\n10L", True), ("\n10l + 1", True),
        ("\nexcept E, e:", True), ("\nexcept (A, B):", False), ("\nraise E, 'x'", True), ("\nraise E(a, b)", False),
        ("\ndef f(a, (b, c)):", True), ("\ndef f[T](x):", True), ("\ndef f(a, b):", False),
        ("\nlambda (x): x", True), ("\nclass A[T]:", True), ("\nasync = 1", True), ("\nx.await", True),
        ("\nasync def f():", False), ("\ntype X = int", True), ("\ntype(x)", False), ("\ntype None = 1", False),
    ]:  # fmt: skip
        assert keyword_sign(np.frombuffer(code.encode("ascii"), dtype=np.uint8)) == expected, code
        assert keyword_sign_regex(code) == expected, code
