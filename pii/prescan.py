"""Cheap pre-scan: which entity families could be in a text, and where.

Presidio and detect-secrets run dozens of regexes per line. Most source files
hold no email, IP or key candidate at all, so one pass of a few simple,
linear-time patterns decides which families are worth the slow detectors
(``families``) and which pieces of the text they must look at (``segments``).

Long lines are cut into overlapping windows so that no detector regex ever
runs on a 200 KB line (several library regexes backtrack quadratically on long
runs of word characters); only windows holding an anchor are analysed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import ahocorasick

EMAIL = "email"
IP_ADDRESS = "ip_address"
KEY = "key"
FAMILIES: tuple[str, ...] = (EMAIL, IP_ADDRESS, KEY)

# Each anchor starts with a literal or a small character set, so ``re`` skips ahead quickly.
_EMAIL_ANCHOR = re.compile(r"@[\w-]+\.")
_IP_ANCHOR = re.compile(r"\.\d{1,3}\.\d{1,3}\.\d|::|:[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}:")
# A quoted run of 16+ key characters: what detect-secrets' entropy plugins (and most quoted tokens) need.
_QUOTED_RUN = re.compile(r"[\"'`][A-Za-z0-9+/=_\-]{16,}|:[A-Za-z0-9_\-]{35}")  # + Telegram's id:token
_URL_CREDENTIALS = re.compile(r"://[^\s/@:]+:[^\s/@]+@")
# Known key prefixes (lower-cased), private-key headers, and detect-secrets' KeywordDetector words.
KEY_LITERALS: tuple[str, ...] = (
    "akia", "asia", "abia", "acca", "a3t", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "xoxa-", "xoxb-",
    "xoxp-", "xoxo-", "xoxs-", "xoxr-", "hooks.slack.com", "sk_live_", "rk_live_", "sg.", "eyj", "aiza", "hf_",
    "glpat-", "gldt-", "glft-", "glsoat-", "glrt-", "glcbt-", "glimt-", "glptt-", "glagent-", "gloas-", "gr1348941",
    "npm_", "_authtoken", "sq0csp-", "accountkey=", "pypi-", "private key", "putty-user-key", "t3blbkfj", "akc",
    "apikey", "api_key", "authkey", "auth_key", "servicekey", "service_key", "accountkey", "account_key", "dbkey",
    "db_key", "databasekey", "database_key", "privkey", "priv_key", "privatekey", "private_key", "clientkey",
    "client_key", "dbpass", "db_pass", "databasepass", "database_pass", "keypass", "key_pass", "password",
    "passwd", "pwd", "secret", "contraseña", "contrasena",
)  # fmt: skip


def _build_automaton():
    automaton = ahocorasick.Automaton()
    for literal in KEY_LITERALS:
        automaton.add_word(literal, literal)
    automaton.make_automaton()
    return automaton


_KEY_AUTOMATON = _build_automaton()


def _lower(text: str) -> str:
    """Lower-case with the same length (a few non-ASCII letters grow under ``str.lower``)."""
    lowered = text.lower()
    return lowered if len(lowered) == len(text) else text.translate(_ASCII_LOWER)


_ASCII_LOWER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}


def has_key_candidate(text: str) -> bool:
    """A known key prefix or secret keyword, a long quoted run, or credentials in a URL."""
    for _ in _KEY_AUTOMATON.iter(_lower(text)):
        return True
    if _QUOTED_RUN.search(text):
        return True
    return "://" in text and "@" in text and bool(_URL_CREDENTIALS.search(text))


def key_candidate_positions(text: str) -> list[int]:
    """Sorted offsets of every key anchor in ``text`` (to pick the lines worth the detect-secrets plugins)."""
    positions = [end for end, _ in _KEY_AUTOMATON.iter(_lower(text))]
    positions += [m.start() for m in _QUOTED_RUN.finditer(text)]
    if "://" in text and "@" in text:
        positions += [m.start() for m in _URL_CREDENTIALS.finditer(text)]
    positions.sort()
    return positions


class _Anchor:
    """The ``search`` interface of a compiled pattern, for the key family's non-regex check."""

    def __init__(self, check) -> None:
        self._check = check

    def search(self, text: str) -> bool:
        return self._check(text)


ANCHORS: dict[str, re.Pattern[str] | _Anchor] = {
    EMAIL: _EMAIL_ANCHOR,
    IP_ADDRESS: _IP_ANCHOR,
    KEY: _Anchor(has_key_candidate),
}

LONG_LINE = 2000  # lines longer than this are analysed in windows
WINDOW_OVERLAP = 300  # longer than any email / IP / key we look for
BLOCK_CHARS = 32_000  # short lines are grouped into blocks of about this size


def families(text: str) -> set[str]:
    """The entity families with at least one anchor in ``text``."""
    return {family for family, anchor in ANCHORS.items() if anchor.search(text)}


def segments(text: str) -> Iterator[tuple[int, str]]:
    """``(offset, piece)`` covering ``text``: blocks of whole short lines, overlapping windows of long lines.

    Every character is in at least one piece; a match of at most
    ``WINDOW_OVERLAP`` characters is whole in at least one piece.
    """
    block_start = 0
    pos = 0
    length = len(text)
    while pos < length:
        newline = text.find("\n", pos)
        line_end = length if newline < 0 else newline + 1
        if line_end - pos > LONG_LINE:
            if pos > block_start:
                yield block_start, text[block_start:pos]
            step = LONG_LINE - WINDOW_OVERLAP
            start = pos
            while True:
                end = min(start + LONG_LINE, line_end)
                yield start, text[start:end]
                if end >= line_end:
                    break
                start += step
            block_start = line_end
        elif line_end - block_start >= BLOCK_CHARS:
            yield block_start, text[block_start:line_end]
            block_start = line_end
        pos = line_end
    if block_start < length:
        yield block_start, text[block_start:length]


def candidate_segments(text: str, family: str, use_prescan: bool = True) -> Iterator[tuple[int, str]]:
    """The segments a family's detectors must analyse (all of them when the pre-scan is off)."""
    anchor = ANCHORS[family]
    for offset, piece in segments(text):
        if not use_prescan or anchor.search(piece):
            yield offset, piece
