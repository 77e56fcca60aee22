"""JavaScript comment characters from a regex scan: the fast path of ``filters.comments`` for JavaScript.

A comment is a ``//`` or ``/*`` outside a string, template or regex literal.
Strings and templates are lexical; a ``/`` starts a regex or divides
depending on the token before it, which is also lexical except after ``)``,
``}``, ``++`` and ``--`` (``if (x) /re/`` against ``f(x) / 2``). The scan
follows the tree-sitter grammar on everything it can tell apart, with the
token before each ``/`` deciding, and returns ``None`` (the caller then parses
with tree-sitter, or falls back to Pygments) where only a parse can tell:

* a ``/`` after ``)``, ``}``, ``++``, ``--`` or ``.``; a ``<`` where an
  expression starts and a name or ``>`` follows (JSX, whose text is neither
  code nor comment);
* an unterminated string, template, regex or block comment, a quote that
  starts no string, HTML-like comments (``<!--``), lone ``\\r`` and the
  Unicode line separators.

Counted as the reference counts: markers included, ``\\r\\n`` once, a hashbang
line not at all.
"""

from __future__ import annotations

import re

from filters.comments import has_lone_cr

# After the first character of a token (a leading character set lets re skip to them fast; a lookahead
# would not), each group without that character, which a lookbehind tells: comment, string, template start,
# slash, less-than (empty), bad (an unterminated comment or string); inside a template substitution also a
# brace (empty).
_COMMENT_REST = r"/[^\r\n]*|\*[^*]*\*+(?:[^/*][^*]*\*+)*/"
_STRING_REST = (
    r"""(?<=')[^'\\\r\n]*(?:\\(?:\r\n|[\s\S])[^'\\\r\n]*)*'"""
    r"""|(?<=")[^"\\\r\n]*(?:\\(?:\r\n|[\s\S])[^"\\\r\n]*)*\""""
)
_TOKENS = rf"""(?<=/)({_COMMENT_REST})|({_STRING_REST})|(?<=`)()|(?<=/)()|(?<=<)()|((?<=/)\*|(?<=['"]))"""
_SCAN = re.compile(rf"""[/"'`<](?:{_TOKENS})""")
_SCAN_SUBSTITUTION = re.compile(rf"""[/"'`<{{}}](?:{_TOKENS}|(?<=[{{}}])())""")
_TEMPLATE = re.compile(r"[^`\\$]*(?:(?:\\[\s\S]|\$(?!\{))[^`\\$]*)*")
_REGEX = re.compile(r"/(?:[^/\\\[\r\n]|\\[^\r\n]|\[(?:[^\]\\\r\n]|\\[^\r\n])*\])+/[\w$]*")
_WORD_TAIL = re.compile(r"(\.?)[\w$]+\Z")
_JSX_START = re.compile(r"<[A-Za-z_$>]")
_BEFORE_REGEX = frozenset(
    "return typeof instanceof in of new delete void throw case do else yield await".split()
)


def javascript_comment_chars_fast(content: str) -> int | None:
    """Comment characters by the reference's definition, or ``None`` when only a parse can settle them."""
    if has_lone_cr(content) or "<!--" in content:
        return None
    if "\u2028" in content or "\u2029" in content or re.search(r"^[ \t]*-->", content, re.MULTILINE):
        return None
    total = 0
    last = content.find("\n") if content.startswith("#!") else 0  # a hashbang line is no comment
    if last < 0:
        return 0
    previous = "start"  # what the last token was, when no code follows it: start, value, open
    braces: list[int] = []  # open braces inside each template substitution we are in
    pos = last
    while True:
        match = (_SCAN_SUBSTITUTION if braces else _SCAN).search(content, pos)
        if match is None:
            return None if braces else total
        start, kind = match.start(), match.lastindex
        code = content[last:start].rstrip()
        if code:
            previous = code
        if kind == 1:  # a comment leaves ``previous`` as it was
            comment = match.group(1)  # without its first "/"
            total += 1 + len(comment) - comment.count("\r\n")
            last = pos = match.end()
            continue
        if kind == 6:
            return None
        if kind == 2:
            previous, last = "value", match.end()
        elif kind == 3:
            after = _template_text(content, start, braces)
            if after is None:
                return None
            previous, last = after
        elif kind == 4 or kind == 5:
            allowed = _expression_starts(previous)
            if kind == 5:
                if allowed is not False and _JSX_START.match(content, start):
                    return None
                previous, last = "<", start + 1
            elif allowed is None:
                return None
            elif allowed:
                regex = _REGEX.match(content, start)
                if regex is None:
                    return None
                previous, last = "value", regex.end()
            else:
                previous, last = "/", start + 1
        else:  # a brace inside a template substitution
            if content[start] == "{":
                braces[-1] += 1
                previous = "open"
            elif braces[-1]:
                braces[-1] -= 1
                previous = "}"
            else:  # the substitution ends: the template goes on
                braces.pop()
                after = _template_text(content, start, braces)
                if after is None:
                    return None
                previous, last = after
                pos = last
                continue
            last = start + 1
        pos = last


def _template_text(content: str, start: int, braces: list[int]) -> tuple[str, int] | None:
    """Template text from ``start + 1`` (after a backtick, or the ``}`` that ends a substitution) on:
    ``(previous, where the scan goes on)`` past its closing backtick or into a ``${`` substitution (pushed
    on ``braces``), or ``None`` when the template is not terminated."""
    end = _TEMPLATE.match(content, start + 1).end()
    if content.startswith("`", end):
        return "value", end + 1
    if content.startswith("${", end):
        braces.append(0)
        return "open", end + 2
    return None


def _expression_starts(previous: str) -> bool | None:
    """Whether an expression may start after ``previous`` (then ``/`` opens a regex); ``None``: a parse
    would have to tell (after ``)``, ``}``, ``++``, ``--``, ``.``)."""
    if previous in ("start", "open"):
        return True
    if previous == "value":
        return False
    last = previous[-1]
    if last.isalnum() or last in "_$" or not last.isascii():
        word = _WORD_TAIL.search(previous)
        if word is None:
            return None
        return not word.group(1) and word.group()[len(word.group(1)) :] in _BEFORE_REGEX
    if last in ")}.":
        return None
    if last == "]":
        return False
    if previous.endswith(("++", "--")):
        return None
    return True
