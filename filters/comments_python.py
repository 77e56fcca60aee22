"""Python comment characters from one regex scan: the fast path of ``filters.comments`` for Python.

The reference (``python_comment_chars_reference``) tokenizes the file with the
pure-Python ``tokenize`` and parses it with ``ast`` for docstrings (~2-4 MB/s).
A tree-sitter parse alone runs at ~6 MB/s on Python here, and its grammar
accepts Python 2 and much other input that ``ast.parse`` rejects (where the
reference counts no docstring at all), so it gives neither the speed nor the
exact result. This module computes the reference's number from one C-speed scan:

* comments: the scan follows ``tokenize``'s string and comment rules (a ``#``
  outside a string literal starts a comment that ends before ``\\r`` or
  ``\\n``), so on every file ``tokenize`` accepts it finds exactly its comment
  tokens;
* docstrings: in the code with comments removed and each string literal masked
  as one placeholder character, ``ast.get_docstring``'s rule: the first
  statement of the module, or of a ``def``/``class`` body (its header found at
  bracket depth 0), is a lone string literal; evaluated and cleaned as ``ast``
  does.

What the scan cannot settle exactly goes back to the reference's own means:
text where ``tokenize`` fails or emits an error token (an unterminated string,
brackets left open at the end, a lone ``\\r``) returns ``None`` (the caller
then uses the tree-sitter / reference path); and when docstrings were found but
the file shows any sign that ``ast.parse`` may reject it (Python 2 syntax,
``async`` as a name, a tab in an indentation, non-ASCII code, deep nesting,
3.12 syntax...) or the docstring has a rare shape (parenthesised, concatenated,
a tie in the reference's order at the edges of the text), the docstrings come
from ``ast``. ``docs/filters.md`` says what can still differ.
"""

from __future__ import annotations

import ast
import inspect
import keyword
import re
import warnings

from filters.comments import AST_LOCK, docstring_sort_key, python_docstrings_ast, python_text_length

# One alternation, tried only at '#' and quotes (the lookahead lets re skip to them): a comment; a complete
# triple-quoted string; an unterminated triple quote; a one-line string (a backslash-newline inside it is
# tokenize's continued string); a quote that starts no string (tokenize's ERRORTOKEN). Groups: comment,
# string, bad. A string prefix stays in the code, before the literal's placeholder.
_SCAN = re.compile(
    r"""(?=[\#'"])(?:
    (\#[^\r\n]*)
    |('''[^'\\]*(?:(?:\\.|'(?!''))[^'\\]*)*'''
     |\"\"\"[^"\\]*(?:(?:\\.|"(?!""))[^"\\]*)*\"\"\"
     |'[^\n'\\]*(?:\\.[^\n'\\]*)*'
     |"[^\n"\\]*(?:\\.[^\n"\\]*)*")
    |('''|\"\"\"|['"]))""",
    re.VERBOSE | re.DOTALL,
)
_LIT = "\x01"  # placeholder of a string literal in the masked code
_PREFIXES = frozenset({"r", "u", "f", "b", "br", "rb", "fr", "rf"})
_DOC_PREFIXES = frozenset({"", "r", "u"})  # f-strings and bytes are no docstrings
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
# the keywords that may follow a name: x if c else y, for x in y, x is not y, import x as y, raise E from e,
# from m import n, [x async for x in y]
_AFTER_A_NAME = frozenset(
    {"if", "else", "for", "in", "is", "and", "or", "not", "as", "async", "from", "import"}
)
_SOFT_KEYWORDS = frozenset(keyword.softkwlist) | {"type"}  # match x:, case y:, type X = (3.12, flagged)
# Two names that no keyword joins: a space (or a tab: one pattern each, so that re skips to a literal) after
# a word that is no keyword (one lookbehind per keyword length), then a name that may not follow a name. A
# number before the space is no name (checked on each hit). ASCII: used on ASCII code only.
_KEYWORD_BEFORE = "".join(
    rf"(?<!\b(?:{'|'.join(sorted(words))})[ \t])"
    for length in sorted({len(word) for word in _KEYWORDS | _SOFT_KEYWORDS})
    for words in [[word for word in _KEYWORDS | _SOFT_KEYWORDS if len(word) == length]]
)
_NAME_PAIRS = tuple(
    re.compile(
        rf"{space}(?<=\w{space}){_KEYWORD_BEFORE}[ \t]*(?!(?:{'|'.join(sorted(_AFTER_A_NAME))})\b)(?=[A-Za-z_])",
        re.ASCII,
    )
    for space in (" ", r"\t")
)
_BARE_NAME = re.compile(r"\n(?<!\\\n)(?<!\\\r\n)[ \t]*([A-Za-z_]\w*)[ \t]*:[ \t]*(?:\r?\n|$)")
_SURROGATE = re.compile("[\ud800-\udfff]")
# a str literal next to a bytes literal (either order): "a" b"b" is a syntax error, b"a" b"b" is not
_STR_AFTER = re.compile(r"\s*(?!(?:[bB][rR]?|[rR][bB])\x01)\w{0,2}\x01")
_SPACES = re.compile(r"\s*")
# def and class keywords with their names, found as literals (fast); _headers keeps those at a statement start
_DEF = re.compile(r"def[ \t]+(\w+)")
_CLASS = re.compile(r"class[ \t]+(\w+)")
# The rest of a header up to its colon: parameters or bases with parentheses nested up to four deep (any
# other character, ':' and newlines included, inside them), then a return annotation without a colon.
_PARENS = r"\((?:[^()]|\((?:[^()]|\((?:[^()]|\([^()]*\))*\))*\))*\)"
_SIGNATURE = re.compile(rf"[ \t]*(?:{_PARENS})?[ \t]*(?:->[^:]*)?:")
_BLANK = re.compile(r"[ \t\r\n]*")
_STATEMENT = re.compile(r"(\w{0,2})\x01[ \t]*(.?)")
_OPENING = re.compile(r"[(\s]*")
_LITERAL_START = re.compile(r"\\|\w{0,2}\x01")
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
        r"lambda[ \t]*\(",
        r"class[ \t]+\w+[ \t]*\[",
        r"(?:async|await)(?<!\w(?:async|await))(?!\w)"
        r"(?:(?<=\.async)|(?<=\.await)|(?![ \t]+(?:def|for|with)\b)(?=[ \t]*(?:[=,)\]:;.\r\n]|$)))",
        r"type(?<![\w.]type)[ \t]+\w+[ \t]*[=\[]",
        r"\n[ ]*\t",
    )
)


# an octal or long literal (Python 2), unless the digits are a decimal's exponent (1.5e-03, checked on each hit)
_OCTAL = re.compile(r"0(?<![\w.]0)(?:\d+(?![\d.eEjJ])|[xX][0-9a-fA-F]+[lL])")
_EXPONENT_BEFORE = re.compile(r"(?<![\w.])(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)[eE][-+]\Z")


def python_comment_chars_fast(content: str) -> int | None:
    """Comment characters by the reference's definition, or ``None`` when the scan cannot settle them."""
    if "\r" in content and content.count("\r") != content.count("\r\n"):
        return None  # a lone CR: tokenize's lines (split at \n only) and its comment rules part ways
    if not content.isascii() and _SURROGATE.search(content):
        return None  # text that is not valid Unicode: ast.parse fails on it
    parts = _SCAN.split(content)  # code, comment, string, bad, code, comment, ...
    bad = parts[3::4]
    if bad.count(None) != len(bad):
        return None
    comments = "".join(filter(None, parts[1::4]))
    strings = parts[2::4]
    literals = [token for token in strings if token is not None]
    parts[1::4] = parts[3::4] = [""] * len(bad)
    parts[2::4] = ["" if token is None else _LIT for token in strings]
    parts[0] = "\n" + parts[0]  # so that every line, the first too, starts after a newline
    code = "".join(parts)
    opens = code.count("(") + code.count("[") + code.count("{")
    if opens != code.count(")") + code.count("]") + code.count("}") or code.rstrip(" \t\r\n").endswith("\\"):
        return None  # tokenize: "EOF in multi-line statement"
    docstrings = _docstrings(code, literals) if literals else []
    if docstrings is None:  # the masked code cannot tell: the docstrings come from ast, as in the reference
        docstrings = python_docstrings_ast(content)
    return python_text_length(docstrings, [comments])


def _docstrings(code: str, literals: list[str]) -> list[str] | None:
    """Docstrings in the reference's order from the masked code, or ``None`` when ast must decide."""
    found: list[tuple[tuple[str, str], str]] = []
    module = _first_statement(code, 0, None, literals, 0)
    if module is False:
        return None
    if module is not None:
        found.append((docstring_sort_key("Module", None), module))
    index = position = 0  # literals before ``position``, counted as the headers go down the file
    for start, indent, kind, name, end in _headers(code):
        if code[max(0, start - 2) : start].endswith(("\\", "\\\r")):
            return None  # a header after a backslash continuation: invalid, or beyond these rules
        signature = _SIGNATURE.match(code, end)
        if signature is None:
            return None  # brackets nested deeper than the pattern follows
        body = signature.end()
        index += code.count(_LIT, position, body)
        position = body
        doc = _first_statement(code, body, indent, literals, index)
        if doc is False:
            return None
        if doc is not None:
            found.append((docstring_sort_key(kind, name), doc))
    if not found:
        return []
    if not _plain_python3(code, literals):
        return None
    found.sort(key=lambda item: item[0])
    if _edges_depend_on_order(found):
        return None
    return [doc for _, doc in found]


def _headers(code: str) -> list[tuple[int, str, str, str, int]]:
    """``def`` and ``class`` headers at the start of a line, in document order: (start of their line's
    newline, indentation, kind, name, end of the name). The same as ``\\n([ \\t]*)(?:async[ \\t]+)?(def|class)
    [ \\t]+(\\w+)``, found from the two keywords (a literal search) instead of trying every line."""
    found = []
    for pattern, kind in ((_DEF, "Function/Method"), (_CLASS, "Class")):
        for match in pattern.finditer(code):
            start = code.rfind("\n", 0, match.start())
            lead = code[start + 1 : match.start()]
            rest = lead.lstrip(" \t")
            if rest and not (rest.startswith("async") and len(rest) > 5 and not rest[5:].strip(" \t")):
                continue
            found.append((start, lead[: len(lead) - len(rest)], kind, match.group(1), match.end()))
    found.sort()
    return found


def _plain_python3(code: str, literals: list[str]) -> bool:
    """No sign that ``ast.parse`` rejects the file: its masked code (``_NOT_PY3``) and its literals."""
    if not code.isascii() or "`" in code or "\f" in code or "<>" in code or _INDENTED_START.match(code):
        return False
    index = position = 0
    for glued in _GLUED.finditer(code):  # a literal with a prefix, or a name glued to a literal (print"x")
        start = glued.start()
        word = _WORD_TAIL.search(code, max(0, start - 3), start).group().lower()
        if word not in _PREFIXES:
            return False
        index += code.count(_LIT, position, start)
        position = start
        token = literals[index]
        if "b" in word and (not token.isascii() or _next_to_str(code, start, len(word))):
            return False  # non-ASCII bytes, or str and bytes literals concatenated
        if "f" in word and not _plain_fstring(token):
            return False
    if any(_bad_escape(token) for token in literals if "\\" in token) and _bad_escapes(code, literals):
        return False  # a bad \x, \u, \U or \N escape fails the whole file
    if any(pattern.search(code) for pattern in _NOT_PY3):
        return False
    for octal in _OCTAL.finditer(code):
        start = octal.start()
        if not _EXPONENT_BEFORE.search(code, max(0, start - 100), start):
            return False
    # two names that no keyword joins (serugi insert(self), x def; print x too), a bare "name:" statement:
    # an edited or truncated file, whose tokens are intact
    for pattern in _NAME_PAIRS if "\t" in code else _NAME_PAIRS[:1]:
        for pair in pattern.finditer(code):
            if not _WORD_TAIL.search(code, max(0, pair.start() - 100), pair.start()).group()[0].isdigit():
                return False
    return all(name in _KEYWORDS for name in _BARE_NAME.findall(code))


def _next_to_str(code: str, at: int, prefix: int) -> bool:
    """Whether the bytes literal at ``at`` (its prefix ``prefix`` characters long) is concatenated with a str
    literal: only whitespace between it and a literal after it, or one before it, that is no bytes."""
    if _STR_AFTER.match(code, at + 1):
        return True
    start = at - prefix
    before = code.rfind(_LIT, 0, start)
    if before < 0 or _SPACES.match(code, before + 1, start).end() != start:
        return False
    tail = code[before - 2 : before].lower()
    return not (tail.endswith("b") or tail == "br")


def _bad_escape(token: str, bytes_literal: bool = False) -> bool:
    return any(bad and (not bytes_literal or bad == "x") for bad in _ESCAPE.findall(token))


def _bad_escapes(code: str, literals: list[str]) -> bool:
    """Whether a literal that is not raw holds a bad escape (its prefix sits in the code before it)."""
    at = [match.start() for match in re.finditer(_LIT, code)]
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


def _first_statement(
    code: str, pos: int, indent: str | None, literals: list[str], index: int
) -> str | None | bool:
    """The docstring of the body starting at ``pos``: its text, ``None`` (none) or ``False`` (ask ast).

    ``indent`` is the header's indentation (``None`` for the module); ``index`` the number of literals
    before ``pos``."""
    at = _BLANK.match(code, pos).end()
    if at == len(code):
        return None
    if code[at] == "\\":
        return False
    # a parenthesised string is a docstring too (rare: ast decides); a statement opened by any other atom is not
    if code[at] == "(":
        return False if _LITERAL_START.match(code, _OPENING.match(code, at).end()) else None
    statement = _STATEMENT.match(code, at)
    if statement is None:
        return None  # a name, a keyword, a number...
    prefix, after = statement.group(1).lower(), statement.group(2)
    if after not in ("", "\r", "\n", ";"):
        # pieces glued ("a" "b", "a" \): ast decides; "doc".format(), "a" + b: an expression, no docstring
        return False if after in (_LIT, "\\") or after.isalnum() else None
    line_start = code.rfind("\n", 0, at) + 1
    if line_start > pos:  # the docstring starts its own line: indented deeper than the header
        own = code[line_start:at]
        deeper = own == "" if indent is None else own.startswith(indent) and len(own) > len(indent)
        if not deeper:
            return False
    if prefix not in _DOC_PREFIXES:
        return None if prefix in _PREFIXES else False
    return _docstring_value(prefix, literals[index])


def _docstring_value(prefix: str, token: str) -> str | None | bool:
    """``ast.get_docstring(clean=True)`` of one literal: CPython reads CRLF as LF before decoding."""
    quotes = 3 if token[:3] in ('"""', "'''") else 1
    value = token[quotes:-quotes].replace("\r\n", "\n")
    if "\\" in value and prefix != "r":
        try:
            with AST_LOCK, warnings.catch_warnings():
                warnings.simplefilter("ignore")
                value = ast.literal_eval(token.replace("\r\n", "\n"))
        except (SyntaxError, ValueError):
            return False  # a bad escape fails the whole file in ast
    return inspect.cleandoc(value) or None


def _edges_depend_on_order(found: list[tuple[tuple[str, str], str]]) -> bool:
    """Whether ties in the sort key meet the final ``strip()``: then the reference's walk order matters."""
    first = [doc for key, doc in found if key == found[0][0]]
    last = [doc for key, doc in found if key == found[-1][0]]
    return (len(first) > 1 and any(doc[0].isspace() for doc in first)) or (
        len(last) > 1 and any(doc[-1].isspace() for doc in last)
    )
