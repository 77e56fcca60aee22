"""Signs that ``ast.parse`` rejects a Python file whose tokens are intact: the guard of the Python scan.

The scan (``filters/comments_python.py``) finds docstrings in the masked code
by ``ast.get_docstring``'s rule; the reference counts none when ``ast.parse``
fails. So before the scan trusts its docstrings, :func:`plain_python3` looks
for any sign of code that Python 3.11 rejects: Python 2 syntax, bad escapes
and f-strings, str and bytes literals concatenated, non-ASCII code, and the
shapes an edited or truncated file takes (two names no keyword joins, a bare
``name:`` statement, a header with no body, a stray decorator). A sign sends
the file to ``ast`` (exact, ~2 MB/s), so a false alarm costs time, never a
wrong count; a syntax error with no sign is the known difference
(``docs/filters.md``).

Every pattern starts with a literal or a small set, so that ``re`` skips to
the places worth trying: a pattern tried at every position costs more than
the rest of the scan.
"""

from __future__ import annotations

import keyword
import re

import numpy as np

from filters.comments_python_keywords import keyword_sign
from filters.comments_python_layout import keyword_table, layout_lines, name_pair_sign

LIT = "\x01"  # placeholder of a string literal in the masked code
PREFIXES = frozenset({"r", "u", "f", "b", "br", "rb", "fr", "rf"})
# parentheses nested up to four deep (any other character, ':' and newlines included, inside them)
PARENS = r"\((?:[^()]|\((?:[^()]|\((?:[^()]|\([^()]*\))*\))*\))*\)"
_GLUED = re.compile(r"\x01(?<=\w\x01)")  # a literal right after a word character: a prefix, or an error
_WORD_TAIL = re.compile(r"\w+\Z")
_INDENTED_START = re.compile(r"\n(?:[ \t]*\r?\n)*[ \t]+\S")  # the first statement indented
# Escapes left to right, so that an escaped backslash is one escape; group 1: a \x, \u, \U or \N that
# does not complete (a syntax error in a str literal; only \x in bytes).
_ESCAPE = re.compile(
    r"\\(?:[^xuUN]|x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|N\{[^}\n]+\}|([xuUN]))", re.DOTALL
)
_PREFIX_TAIL = re.compile(r"[A-Za-z]{0,2}\Z")
_KEYWORDS = frozenset(keyword.kwlist)
# the keywords that may follow a name: x if c else y, for x in y, x not in y, import x as y, raise E from e,
# from m import n, [x async for x in y] ("not" only before "in")
_AFTER_A_NAME = frozenset(
    {"if", "else", "for", "in", "is", "and", "or", "not[ \t]+in", "as", "async", "from", "import"}
)
_SOFT_KEYWORDS = frozenset(keyword.softkwlist) | {"type"}  # match x:, case y:, type X = (3.12, flagged)
_BEFORE_A_NAME_TABLE = keyword_table(_KEYWORDS | _SOFT_KEYWORDS)
_AFTER_A_NAME_TABLE = keyword_table(_AFTER_A_NAME - {"not[ \t]+in"})  # "not in": by hand
# Two names that no keyword joins: a space (or a tab: one pattern each, so that re skips to a literal) after
# a word that is no keyword (one lookbehind per keyword length) or a closing bracket, then a name that may
# not follow a name, a number, a literal or a brace. A number before the space is no name (checked on each
# hit). ASCII: on ASCII code only.
_KEYWORD_BEFORE = "".join(
    rf"(?<!\b(?:{'|'.join(sorted(words))})[ \t])"
    for length in sorted({len(word) for word in _KEYWORDS | _SOFT_KEYWORDS})
    for words in [[word for word in _KEYWORDS | _SOFT_KEYWORDS if len(word) == length]]
)
_NAME_PAIRS = tuple(
    re.compile(
        rf"{space}(?<=[\w)\]}}]{space}){_KEYWORD_BEFORE}[ \t]*(?!(?:{'|'.join(sorted(_AFTER_A_NAME))})\b)"
        r"(?=[A-Za-z_0-9\x01{])",
        re.ASCII,
    )
    for space in (" ", r"\t")
)
# One line with its brackets closed (nested one deep), the line break and blank lines after it.
_LINE = r"[^\r\n()\[\]{}]*+(?:(?:\([^\r\n()]*\)|\[[^\r\n\[\]]*\]|\{[^\r\n{}]*\})[^\r\n()\[\]{}]*+)*+"
_BLANKS = r"\r?\n(?:[ \t]*\r?\n)*+"
# The layout of a statement line (not after a backslash), one pattern tried once per line. Group 1: the
# indentation (spaces: a tab in one is a sign already); then one of
# - a compound statement's header on one line (its keyword first, a colon last) whose next line is not
#   indented deeper: "expected an indented block" (a body deleted);
# - a simple statement on one line (a keyword one, or an assignment to a name, spaced as statements are and
#   keyword arguments are not) followed by a line indented deeper: "unexpected indent" (a header deleted;
#   a line inside brackets rarely starts like these);
# - group 2: a name, maybe a parenthesised group (3), and a colon: else:, if(x):, match (x):, or an edited
#   keyword (a sign unless a keyword), matched up to the line break, so that the next line is tried too.
_LAYOUT = re.compile(
    r"\n(?<!\\\n)(?<!\\\r\n)([ ]*+)(?:"
    r"(?:(?:async[ \t]+)?(?:def|for|with)|class|if|elif|else|while|try|except|finally)\b"
    rf"(?=[^\r\n]*:[ \t]*\r?\n){_LINE}{_BLANKS}(?!\1[ \t])"
    r"|(?:(?:return|pass|break|continue|raise|import|from|del|global|nonlocal|assert)\b"
    rf"|[A-Za-z_][\w.]*+[ \t]+=[ \t]){_LINE}(?<!\\){_BLANKS}\1[ \t]"
    r"|([A-Za-z_]\w*+)[ \t]*(\([^\r\n()]*\))?[ \t]*:[ \t]*(?=\r?\n|$))"
)
# A decorator (its arguments may span lines) not followed by a decorator or a definition at its indentation.
_DECORATED = re.compile(
    rf"([ \t]*)@[^()\r\n]*(?:{PARENS}[^()\r\n]*)*{_BLANKS}(?!\1(?:@|(?:def|class|async)[ \t]))"
)
# a str literal next to a bytes literal (either order): "a" b"b" is a syntax error, b"a" b"b" is not
_STR_AFTER = re.compile(r"\s*(?!(?:[bB][rR]?|[rR][bB])\x01)\w{0,2}\x01")
_SPACES = re.compile(r"\s*")
# Signs that ast.parse may reject the file (then its docstrings come from ast). Each pattern starts with a
# literal, so that re skips to it: Python 2 print/exec statements, long numbers (octal ones: _OCTAL), except/raise
# commas, tuple parameters; async/await as names (keywords since 3.7); 3.12 syntax; a tab in an
# indentation (TabError).
_NOT_PY3 = tuple(
    re.compile(pattern)
    for pattern in (
        r"print(?<![\w.]print)(?!\w)(?![ \t]*(?:[()=.,\]};:\r\n]|$))",
        r"exec(?<![\w.]exec)(?!\w)(?![ \t]*(?:[()=.,\]};:\r\n]|$))",
        r"l(?<=\dl)(?!\w)",  # l and L apart: a one-character literal is found faster than a set
        r"L(?<=\dL)(?!\w)",
        r"except[ \t](?:[^:(\n]|\([^()\n]*\))*,",
        r"raise[ \t](?:[^\n(;]|\([^()\n]*\))*,",
        r"def[ \t]+\w+[ \t]*(?:\[|\((?:[^(),]*,)*\s*\()",
        r"lambda(?<!\wlambda)[ \t]*\(",  # not test_lambda(
        r"class(?<!\wclass)[ \t]+\w+[ \t]*\[",  # not some_class in [
        r"(?:async|await)(?<!\w(?:async|await))(?!\w)"
        r"(?:(?<=\.async)|(?<=\.await)|(?![ \t]+(?:def|for|with)\b)(?=[ \t]*(?:[=,)\]:;.\r\n]|$)))",
        rf"type(?<![\w.]type)[ \t]+(?!(?:{'|'.join(keyword.kwlist)})\b)\w+[ \t]*[=\[]",  # not type in [
        r"\n[ ]*\t",  # last: the one not compiled (keyword_sign), tried when the code holds a tab
    )
)
# an octal (a nonzero digit after a leading 0: 000 is valid Python 3) or long literal (Python 2), unless the
# digits are a decimal's exponent (1.5e-03, checked on each hit)
_OCTAL = re.compile(r"0(?<![\w.]0)(?:0*[1-9]\d*(?![\d.eEjJ])|[xX][0-9a-fA-F]+[lL])")
_EXPONENT_BEFORE = re.compile(r"(?<![\w.])(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)[eE][-+]\Z")


def plain_python3(code: str, literals: list[str]) -> bool:
    """No sign that ``ast.parse`` rejects the file: its masked code (``code``: comments removed, each string
    literal one ``\\x01``, a newline first) and its literals, in order."""
    if not code.isascii() or "`" in code or "\f" in code or "<>" in code or _INDENTED_START.match(code):
        return False
    index = position = 0
    for glued in _GLUED.finditer(code):  # a literal with a prefix, or a name glued to a literal (print"x")
        start = glued.start()
        word = _WORD_TAIL.search(code, max(0, start - 3), start).group().lower()
        if word not in PREFIXES:
            return False
        index += code.count(LIT, position, start)
        position = start
        token = literals[index]
        if "b" in word and (not token.isascii() or _next_to_str(code, start, len(word))):
            return False  # non-ASCII bytes, or str and bytes literals concatenated
        if "f" in word and not _plain_fstring(token):
            return False
    if any(_bad_escape(token) for token in literals if "\\" in token) and _bad_escapes(code, literals):
        return False  # a bad \x, \u, \U or \N escape fails the whole file
    data = np.frombuffer(code.encode("ascii"), dtype=np.uint8)
    if keyword_sign(data) or ("\t" in code and _NOT_PY3[-1].search(code)):  # _NOT_PY3 compiled
        return False
    for octal in _OCTAL.finditer(code):
        start = octal.start()
        if not _EXPONENT_BEFORE.search(code, max(0, start - 100), start):
            return False
    # an edited or truncated file, whose tokens are intact: two names that no keyword joins (serugi
    # insert(self), x def, x 0, x not y; print x too), a bare "name:" statement, a block with no body, a
    # line indented deeper for no reason, a decorator before anything but a definition
    # (the regexes _NAME_PAIRS and _LAYOUT, compiled by hand: name_pairs_sign_regex, layout_sign_regex)
    if name_pair_sign(data, _BEFORE_A_NAME_TABLE, _AFTER_A_NAME_TABLE):
        return False
    lines = layout_lines(data)
    if lines is None or any(_bare_name(code[start:end], paren) for start, end, paren in lines):
        return False
    return "@" not in code or not _bad_decorator(code)


def _bare_name(name: str, parenthesised: bool) -> bool:
    """A ``name:`` or ``name (...):`` line is a sign unless ``name`` is a keyword (``else:``) or a soft
    keyword with its subject in parentheses (``match (x):``)."""
    return name not in _KEYWORDS and not (parenthesised and name in _SOFT_KEYWORDS)


def keyword_sign_regex(code: str) -> bool:
    """The definition of :func:`keyword_sign`: the patterns of ``_NOT_PY3`` but the last."""
    return any(pattern.search(code) for pattern in _NOT_PY3[:-1])


def name_pairs_sign_regex(code: str) -> bool:
    """The definition of :func:`name_pair_sign`: two names that no keyword joins."""
    for pattern in _NAME_PAIRS if "\t" in code else _NAME_PAIRS[:1]:
        for pair in pattern.finditer(code):
            word = _WORD_TAIL.search(code, max(0, pair.start() - 100), pair.start())
            if word is None or not word.group()[0].isdigit():
                return True
    return False


def layout_sign_regex(code: str) -> bool:
    """The definition of :func:`layout_lines` with the keyword test."""
    return any(_bare_name(*line.group(2, 3)) for line in _LAYOUT.finditer(code))


def _bad_decorator(code: str) -> bool:
    """Whether a decorator at a line start is followed by anything but a decorator or a definition at its
    indentation (decorators are rare: each ``@`` is looked at)."""
    at = code.find("@")
    while at >= 0:
        start = code.rfind("\n", 0, at) + 1
        if not code[start:at].strip(" \t") and _DECORATED.match(code, start):
            return True
        at = code.find("@", at + 1)
    return False


def _next_to_str(code: str, at: int, prefix: int) -> bool:
    """Whether the bytes literal at ``at`` (its prefix ``prefix`` characters long) is concatenated with a str
    literal: only whitespace between it and a literal after it, or one before it, that is no bytes."""
    if _STR_AFTER.match(code, at + 1):
        return True
    start = at - prefix
    before = code.rfind(LIT, 0, start)
    if before < 0 or _SPACES.match(code, before + 1, start).end() != start:
        return False
    tail = code[before - 2 : before].lower()
    return not (tail.endswith("b") or tail == "br")


def _bad_escape(token: str, bytes_literal: bool = False) -> bool:
    return any(bad and (not bytes_literal or bad == "x") for bad in _ESCAPE.findall(token))


def _bad_escapes(code: str, literals: list[str]) -> bool:
    """Whether a literal that is not raw holds a bad escape (its prefix sits in the code before it)."""
    at = [match.start() for match in re.finditer(LIT, code)]
    for index, token in enumerate(literals):
        if "\\" in token:
            prefix = _PREFIX_TAIL.search(code, max(0, at[index] - 2), at[index]).group().lower()
            if "r" not in prefix and _bad_escape(token, "b" in prefix):
                return True
    return False


def _plain_fstring(token: str) -> bool:
    """No sign of an f-string that Python 3.11 rejects: a lone brace, an empty field, a backslash in a
    field, a ``#`` in a field's expression."""
    quotes = 3 if token[:3] in ('"""', "'''") else 1
    text, depth, field, i = token[quotes:-quotes], 0, [], 0
    while i < len(text):
        char = text[i]
        if depth == 0:
            if char in "{}" and text.startswith(char * 2, i):
                i += 2
                continue
            if char == "}":
                return False
            if char == "{":
                depth, field = 1, []
        else:
            if char == "\\":
                return False
            depth += {"{": 1, "}": -1}.get(char, 0)
            if depth == 0:
                expression = re.split(r"[!:]", "".join(field), maxsplit=1)[0]
                if not expression.strip() or "#" in expression:
                    return False
            else:
                field.append(char)
        i += 1
    return depth == 0
