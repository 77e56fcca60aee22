"""Cheap pre-scan: which lines of a text could hold an email, an IP address or a key.

Presidio and detect-secrets run dozens of regexes per line. Most lines of
source code hold no candidate at all, so one pass of a few linear-time anchors
(regexes that start with a literal or a small character set, and one
Aho-Corasick automaton for key prefixes and key-name words, compiled for
ASCII texts: ``pii.literal_scan``) finds the lines
worth the slow detectors; ``windows`` groups them into the pieces the
detectors analyse. Nothing else of the file reaches Presidio.

A line longer than ``LONG_LINE`` is not analysed whole (several library regexes
backtrack quadratically on long runs of word characters): only a window around
each anchor in it, ``WINDOW_BEFORE`` characters before and ``WINDOW_AFTER``
after, longer than any email or IP and than the keys we look for.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator

import ahocorasick
import numpy as np

from pii.entities import EMAIL, IP_ADDRESS, KEY
from pii.key_names import NAME_FIELD
from pii.literal_scan import KeyScanner

FAMILIES: tuple[str, ...] = (EMAIL, IP_ADDRESS, KEY)

_EMAIL_ANCHOR = re.compile(r"@[\w-]+\.")
# Alternatives kept apart: each starts with a literal, which ``re`` scans for several times faster.
_IP_ANCHORS = (
    re.compile(r"\.\d{1,3}\.\d{1,3}\.\d"),
    re.compile("::"),
    re.compile(r":[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}:"),
)
# A quoted run of 16+ key characters: what detect-secrets' entropy plugins (and most quoted tokens) need.
_KEY_RUN = r"[A-Za-z0-9+/=_\-]"
_QUOTED_RUN, _COLON_RUN_CHARS = 16, 20
_QUOTED_RUNS = tuple(re.compile(quote + _KEY_RUN + f"{{{_QUOTED_RUN},}}") for quote in "\"'`")
# ``://[^\s/@:]*:[^\s@]+@`` (the user may be empty: ``redis://:password@host``), possessive: a run never
# holds the character that ends it, so backtracking (which cost a pass over the rest of a line at every "://"
# without credentials) could find nothing.
_URL_CREDENTIALS = re.compile(r"://[^\s/@:]*+:[^\s@]++@")
# A name ending in "key" / "pass" before an assignment (``signing_key =``, ``smtpPass:``, ``<appKey>``), and an
# unquoted run after a colon (YAML values, ``// label: value`` in comments): what the key-name words miss.
_NAME_END = tuple(  # run on the lower-cased text; each starts with a literal, which ``re`` scans for fast
    re.compile(word + r"[\"'`]?\]?\s*(?:[:=,>]|\.=|\?=)") for word in ("key", "pass", "passcode")
)
_COLON_RUN = re.compile(r":[ \t]*" + _KEY_RUN + f"{{{_COLON_RUN_CHARS},}}")
# Known key prefixes (lower-cased), private-key armor, key-name words (ours and detect-secrets' keywords).
KEY_LITERALS: tuple[str, ...] = (
    "akia", "asia", "abia", "acca", "a3t", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "xoxa-", "xoxb-",
    "xoxp-", "xoxo-", "xoxs-", "xoxr-", "xoxe-", "xapp-", "hooks.slack.com", "sk_live_", "rk_live_", "sk_test_",
    "rk_test_", "sk_prod_", "rk_prod_", "sg.", "eyj", "aiza", "hf_", "glpat-", "gldt-", "glft-", "glsoat-", "glrt-",
    "glcbt-", "glimt-", "glptt-", "glagent-", "gloas-", "gr1348941", "npm_", "_authtoken", "sq0csp-",
    "accountkey=", "pypi-", "private key", "putty-user-key", "t3blbkfj", "akc", "pmak-", "sk-ant-", "shpat_",
    "shpss_", "shpca_", "shppa_", "age-secret-key-", "hrku-", "q~",
    "apikey", "api_key", "api-key", "authkey", "auth_key", "servicekey", "service_key", "accountkey",
    "account_key", "dbkey", "db_key", "databasekey", "database_key", "privkey", "priv_key", "privatekey",
    "private_key", "private-key", "clientkey", "client_key", "accesskey", "access_key", "secretkey", "dbpass",
    "db_pass", "databasepass", "database_pass", "keypass", "key_pass", "_pass", "pass_", "password", "passwd",
    "passphrase", "pwd", "secret", "token", "auth", "credential", "creds", "bearer", "jwt", "contraseña",
    "contrasena",
)  # fmt: skip


def _build_automaton() -> ahocorasick.Automaton:
    automaton = ahocorasick.Automaton()
    for literal in KEY_LITERALS:
        automaton.add_word(literal, literal)
    automaton.make_automaton()
    return automaton


_KEY_AUTOMATON = _build_automaton()
# The same anchors as the automaton and the key regexes above, several times faster, for ASCII texts.
_KEY_SCANNER = KeyScanner(KEY_LITERALS, _KEY_RUN, _QUOTED_RUN, _COLON_RUN_CHARS)
_ASCII_LOWER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}


def _lower(text: str) -> str:
    """Lower-case with the same length (a few non-ASCII letters grow under ``str.lower``)."""
    lowered = text.lower()
    return lowered if len(lowered) == len(text) else text.translate(_ASCII_LOWER)


def anchors(text: str, family: str) -> list[int]:
    """Sorted offsets of every anchor of ``family`` in ``text``."""
    if family == EMAIL:
        return [m.start() for m in _EMAIL_ANCHOR.finditer(text)] if "@" in text else []
    if family == IP_ADDRESS:
        return sorted(m.start() for pattern in _IP_ANCHORS for m in pattern.finditer(text))
    if text.isascii():
        positions = _KEY_SCANNER.anchors(text)
    else:
        positions = _key_anchors_not_ascii(text)
    return _with_url_credentials(text, positions)


def anchors_by_family(text: str) -> dict[str, list[int]]:
    """``{family: anchors(text, family)}``, in one compiled pass over an ASCII text; a text whose non-ASCII
    characters cannot be part of a key or IP anchor takes it over its ``_ascii_stand_in`` (its email
    anchors are the regex's: ``[\\w-]`` takes non-ASCII letters)."""
    ascii_only = text.isascii()
    stand_in = text if ascii_only else _ascii_stand_in(text)
    if stand_in is None:
        return {family: anchors(text, family) for family in FAMILIES}
    key, ip, email = _KEY_SCANNER.all_anchors(stand_in)
    return {EMAIL: email if ascii_only else anchors(text, EMAIL), IP_ADDRESS: ip, KEY: key}


_LITERAL_NON_ASCII = frozenset(c for literal in KEY_LITERALS for c in literal if not c.isascii())


def _inert(char: str) -> bool:
    """A non-ASCII character no key or IP anchor can hold: lower-cased, it is one non-ASCII character
    in no key literal (so ``_lower`` keeps the text's length, and no literal passes through it); not a
    blank (``\\s`` after a key word) nor a decimal digit (``\\d`` of the dotted IP anchor)."""
    lowered = char.lower()
    return (
        len(lowered) == 1
        and not lowered.isascii()
        and lowered not in _LITERAL_NON_ASCII
        and not char.isspace()
        and not char.isdecimal()
    )


def _ascii_stand_in(text: str) -> np.ndarray | None:
    """The text's ASCII codes, each non-ASCII character replaced by NUL (inert like them, one character
    each), or ``None`` where one of them is not ``_inert``. Most non-ASCII code is ASCII but for a name
    or a symbol."""
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    others = codes > 127
    if not all(_inert(chr(code)) for code in np.unique(codes[others]).tolist()):
        return None
    return np.where(others, 0, codes).astype(np.uint8)


def _key_anchors_not_ascii(text: str) -> list[int]:
    """The key family's anchors by ``pyahocorasick`` and the regexes (``_KEY_SCANNER`` reads ASCII only)."""
    lowered = _lower(text)
    positions = _literal_anchors(lowered)
    for pattern in _NAME_END:
        positions += [m.start() for m in pattern.finditer(lowered)]
    for pattern in _QUOTED_RUNS:
        positions += [m.start() for m in pattern.finditer(text)]
    positions += [m.start() for m in _COLON_RUN.finditer(text)]
    return positions


def _with_url_credentials(text: str, positions: list[int]) -> list[int]:
    """``positions`` and the URL-credential anchors, sorted."""
    if "://" in text and "@" in text:
        positions += [m.start() for m in _URL_CREDENTIALS.finditer(text)]
    positions.sort()
    return positions


def _literal_anchors(lowered: str) -> list[int]:
    """Where key literals end (one pass of the automaton; it copies the text on every ``iter`` call)."""
    return [end for end, _ in _KEY_AUTOMATON.iter(lowered)]


_ARMOR = "PRIVATE KEY"  # in every private-key block's armor; "private key" is a key literal


def has_private_key(text: str, key_anchors: list[int]) -> bool:
    """``"PRIVATE KEY" in text``, read off the key family's anchors (every occurrence ends where the key
    literal "private key" does), so without another pass over the text."""
    last = len(_ARMOR) - 1
    return any(end >= last and text[end - last : end + 1] == _ARMOR for end in key_anchors)


def families(text: str) -> set[str]:
    """The entity families with at least one anchor in ``text``."""
    return {family for family, positions in anchors_by_family(text).items() if positions}


LONG_LINE = 2000  # lines longer than this are analysed in windows around their anchors
WINDOW_BEFORE = 300
WINDOW_AFTER = 1200  # a JWT or PEM-free key is at most this long after its anchor
BLOCK_CHARS = 32_000  # consecutive candidate lines are analysed together up to about this size
# A key-family line ending like this continues on the next line (``key =\n "value"``, ``<token>\n value``).
_CONTINUED = re.compile(r"(?:[=:(]|=>|:[ \t]*[|>][-+]?|<[A-Za-z_][\w.\-]*>)[ \t]*\r?\n?$")
_CONTINUATION_ENDS = frozenset("=:(>|-+")  # the last character of each alternative of ``_CONTINUED``
_MAX_CONTINUED = 2  # lines a candidate line may bring along
# A line ending in a name field's value brings the next line too: its value field may be there
# (``- name: DB_PASSWORD`` / ``value: ...``, ``.withName("X")`` / ``.withValue("...")``; ``pii.keys``).
_NAMED_FIELD_LINE = re.compile(NAME_FIELD + r"[\w./\-]{1,80}[\"'`]?\)?[ \t]*,?$")


def windows(text: str, family: str, positions: list[int] | None = None) -> list[tuple[int, str]]:
    """``(offset, piece)``: the lines holding an anchor of ``family``, consecutive ones joined.

    A key-family line that ends in ``=``, ``:``, ``(``, an opening tag or a name field's value
    (``- name: DB_PASSWORD``) brings the next line with it. Every anchor is in a piece; a match of an email, IP or key
    around an anchor is whole in its piece.
    """
    if positions is None:
        positions = anchors(text, family)
    spans: list[list[int]] = []
    length = len(text)
    line_end = -1
    for pos in positions:
        if pos < line_end:
            continue
        line_start = text.rfind("\n", 0, pos) + 1
        newline = text.find("\n", pos)
        line_end = length if newline < 0 else newline + 1
        if family == KEY:
            line_end = _continued(text, line_end)
        if line_end - line_start > LONG_LINE:
            _long_line_windows(spans, positions, pos, line_start, line_end)
            continue
        if spans and spans[-1][1] >= line_start and line_end - spans[-1][0] <= BLOCK_CHARS:
            spans[-1][1] = max(spans[-1][1], line_end)
        else:
            spans.append([line_start, line_end])
    return [(start, text[start:end]) for start, end in spans]


def _continued(text: str, line_end: int) -> int:
    """``line_end`` moved past the lines that continue the line ending there (at most ``_MAX_CONTINUED``)."""
    for _ in range(_MAX_CONTINUED):
        if line_end >= len(text):
            break
        last_start = text.rfind("\n", 0, line_end - 1) + 1
        tail = text[max(last_start, line_end - 100) : line_end].rstrip(" \t\r\n")
        if not tail:
            break
        # cheap first: every ``_CONTINUED`` match ends so, before blanks and the line break
        continues = tail[-1] in _CONTINUATION_ENDS and _CONTINUED.search(
            text, max(last_start, line_end - 100), line_end
        )
        if not continues and not _NAMED_FIELD_LINE.search(tail):
            break
        following = text.find("\n", line_end)
        line_end = len(text) if following < 0 else following + 1
    return line_end


def _long_line_windows(
    spans: list[list[int]], positions: list[int], first: int, line_start: int, line_end: int
) -> None:
    """Windows around each anchor of one long line, overlapping ones merged."""
    index = bisect.bisect_left(positions, first)
    while index < len(positions) and positions[index] < line_end:
        pos = positions[index]
        start, end = max(line_start, pos - WINDOW_BEFORE), min(line_end, pos + WINDOW_AFTER)
        if spans and spans[-1][1] >= start and end - spans[-1][0] <= LONG_LINE * 2:
            spans[-1][1] = max(spans[-1][1], end)
        else:
            spans.append([start, end])
        index += 1


def segments(text: str) -> Iterator[tuple[int, str]]:
    """``(offset, piece)`` covering all of ``text`` (the no-pre-scan mode): blocks of whole short lines,
    overlapping windows of long lines; a match of at most ``WINDOW_BEFORE`` characters is whole in a piece."""
    block_start = pos = 0
    length = len(text)
    while pos < length:
        newline = text.find("\n", pos)
        line_end = length if newline < 0 else newline + 1
        if line_end - pos > LONG_LINE:
            if pos > block_start:
                yield block_start, text[block_start:pos]
            start = pos
            while True:
                end = min(start + LONG_LINE, line_end)
                yield start, text[start:end]
                if end >= line_end:
                    break
                start += LONG_LINE - WINDOW_BEFORE
            block_start = line_end
        elif line_end - block_start >= BLOCK_CHARS:
            yield block_start, text[block_start:line_end]
            block_start = line_end
        pos = line_end
    if block_start < length:
        yield block_start, text[block_start:length]
