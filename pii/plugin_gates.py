"""Cheap necessary conditions for detect-secrets' plugins: where in a piece each one can find anything.

``DetectSecretsRecognizer`` (``pii.recognizers``) runs a plugin on a piece only
where its ``Gate`` opens (a literal, a long enough run, one of its own
patterns) and only on the lines its line gate picks; the keyword plugin's
patterns run only on lines holding what each needs. Every condition is
necessary, never sufficient: the results are the plugins' own, found faster.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from detect_secrets.plugins import keyword as keyword_plugin
from detect_secrets.plugins.artifactory import ArtifactoryDetector
from detect_secrets.plugins.aws import AWSKeyDetector
from detect_secrets.plugins.azure_storage_key import AzureStorageKeyDetector
from detect_secrets.plugins.base import BasePlugin
from detect_secrets.plugins.basic_auth import BasicAuthDetector
from detect_secrets.plugins.cloudant import CloudantDetector
from detect_secrets.plugins.discord import DiscordBotTokenDetector
from detect_secrets.plugins.github_token import GitHubTokenDetector
from detect_secrets.plugins.gitlab_token import GitLabTokenDetector
from detect_secrets.plugins.high_entropy_strings import HighEntropyStringsPlugin
from detect_secrets.plugins.ibm_cloud_iam import IbmCloudIamDetector
from detect_secrets.plugins.ibm_cos_hmac import IbmCosHmacDetector
from detect_secrets.plugins.keyword import KeywordDetector
from detect_secrets.plugins.mailchimp import MailchimpDetector
from detect_secrets.plugins.npm import NpmDetector
from detect_secrets.plugins.openai import OpenAIDetector
from detect_secrets.plugins.pypi_token import PypiTokenDetector
from detect_secrets.plugins.sendgrid import SendGridDetector
from detect_secrets.plugins.slack import SlackDetector
from detect_secrets.plugins.softlayer import SoftlayerDetector
from detect_secrets.plugins.square_oauth import SquareOAuthDetector
from detect_secrets.plugins.stripe import StripeDetector
from detect_secrets.plugins.telegram_token import TelegramBotTokenDetector
from detect_secrets.plugins.twilio import TwilioKeyDetector

# What each of the keyword plugin's patterns needs in a line: a colon, an equals sign, a comparison, a semicolon.
_KEYWORD_NEEDS = {
    keyword_plugin.FOLLOWED_BY_COLON_QUOTES_REQUIRED_REGEX: (":",),
    keyword_plugin.PRECEDED_BY_EQUAL_COMPARISON_SIGNS_QUOTES_REQUIRED_REGEX: ("==", "!=", "=!", "!!"),
    keyword_plugin.FOLLOWED_BY_EQUAL_SIGNS_QUOTES_REQUIRED_REGEX: ("=",),
    keyword_plugin.FOLLOWED_BY_QUOTES_AND_SEMICOLON_REGEX: (";",),
    keyword_plugin.FOLLOWED_BY_ARROW_FUNCTION_SIGN_QUOTES_REQUIRED_REGEX: ("=",),
}
_KEYWORD_PATTERNS = [  # a KeyError here: detect-secrets changed its patterns; derive their needs anew
    (pattern, group, _KEYWORD_NEEDS[pattern])
    for pattern, group in keyword_plugin.QUOTES_REQUIRED_DENYLIST_REGEX_TO_GROUP.items()
]


def keyword_matches(line: str) -> list[str]:
    """``KeywordDetector().analyze_string(line)``: its patterns in its order, each searched only where the
    line holds what it needs (most lines of code have no semicolon, many no colon)."""
    found = []
    for pattern, group, needs in _KEYWORD_PATTERNS:
        if any(need in line for need in needs):
            match = pattern.search(line)
            if match:
                found.append(match.group(group))
    return found


# Every entry of detect-secrets' keyword DENYLIST holds one of these (tests/pii check it).
KEYWORD_LITERALS = ("key", "pass", "pwd", "secret", "contrase")
_LONG_RUN = re.compile(r"[\w\-]{24,}")  # the values of detect-secrets' assignment-style plugins are such runs
_RUN_CHARS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"  # [\w-] in an ASCII text
_RUN_MASK = bytes(1 if byte in _RUN_CHARS else 0 for byte in range(256))
_LONG_RUN_MASK = b"\x01" * 24
_QUOTED_WORD = re.compile(r"['\"`]\w")


@dataclass(frozen=True)
class Gate:
    """A cheap necessary condition for a plugin to find anything in a piece (never a sufficient one).

    ``literals``: one must occur in the lower-cased piece; ``run``: one of the
    piece's long ``[\\w-]`` runs must match it; ``min_run``: the longest run must
    be at least this long; ``patterns``: one must occur in the piece. The
    assignment-style plugins (Cloudant, IBM, SoftLayer) and the keyword plugin
    have slow regexes; their gates are literals and runs.
    """

    literals: tuple[str, ...] = ()
    run: re.Pattern[str] | None = None
    min_run: int = 0
    patterns: tuple[re.Pattern[str], ...] = ()
    # Beside each pattern (where given): ``(first, lowered)``, a cheaper pattern every match of it holds a
    # match of (in the lower-cased piece where ``lowered``); the pattern is searched only where ``first`` occurs.
    firsts: tuple[tuple[re.Pattern[str] | None, bool], ...] = ()
    needs: tuple[str, ...] = ()  # one must occur in the piece as is (checked before the slower patterns)
    # A line the plugin can find something in holds a match of this (never across lines); None: any line.
    line: re.Pattern[str] | None = None
    line_lowered: bool = False  # ``line`` is searched in the lower-cased text
    line_also: re.Pattern[str] | None = None  # and, if set, this one in the line too

    def line_open(self, line: str, line_lower: str) -> bool:
        """The line holds a literal (in its own lower case) and ``line_also``, where the gate has them."""
        if self.literals and not any(literal in line_lower for literal in self.literals):
            return False
        return self.line_also is None or self.line_also.search(line) is not None

    def open(self, text: str, lowered: str, runs: list[str], longest: int) -> bool:
        if self.min_run > longest:
            return False
        if self.needs and not any(literal in text for literal in self.needs):
            return False
        if self.literals and not any(literal in lowered for literal in self.literals):
            return False
        if self.run is not None and not any(self.run.search(r) for r in runs):
            return False
        if not self.firsts:
            return not self.patterns or any(p.search(text) for p in self.patterns)
        for pattern, (first, in_lowered) in zip(self.patterns, self.firsts, strict=True):
            if (first is None or first.search(lowered if in_lowered else text)) and pattern.search(text):
                return True
        return False


def _literal_gate(
    literals: tuple[str, ...],
    run: re.Pattern[str] | None = None,
    also: re.Pattern[str] | None = None,
    min_run: int = 0,
) -> Gate:
    line = re.compile("|".join(re.escape(literal) for literal in literals))
    return Gate(literals=literals, run=run, min_run=min_run, line=line, line_lowered=True, line_also=also)


def long_runs(text: str) -> list[str]:
    """``_LONG_RUN.findall(text)``: the maximal ``[\\w-]`` runs of 24 or more characters, in order.

    An ASCII text takes a faster path: its bytes mapped to run / not-run, then
    the leftmost 24 run bytes at or after the last run's end (so a maximal
    run's start), and the next non-run byte, found by ``bytes.find``.
    """
    if not text.isascii():
        return _LONG_RUN.findall(text)
    mask = text.encode("ascii").translate(_RUN_MASK)
    runs = []
    start = mask.find(_LONG_RUN_MASK)
    while start >= 0:
        end = mask.find(0, start)
        if end < 0:
            runs.append(text[start:])
            break
        runs.append(text[start:end])
        start = mask.find(_LONG_RUN_MASK, end)
    return runs


def plugin_gate(plugin: BasePlugin) -> Gate:
    if isinstance(plugin, KeywordDetector):
        # Each of its (quotes-required) patterns has an opening quote right before a word character.
        return _literal_gate(KEYWORD_LITERALS, also=_QUOTED_WORD)
    if isinstance(plugin, HighEntropyStringsPlugin):
        # A value of n characters has entropy <= log2(n): a line needs a run of 2 ** limit of them (rounded
        # down, so a run whose entropy equals the limit up to rounding is still looked at).
        # It reads quoted values only: an opening quote, then such a run.
        length = int(2**plugin.entropy_limit)
        run = re.compile("['\"][" + re.escape(plugin.charset) + "]{" + str(length) + ",}")
        return Gate(patterns=(plugin.regex,), line=run)
    if isinstance(plugin, CloudantDetector):
        return _literal_gate(("cl",), run=re.compile(r"[0-9a-f]{64}|[a-z]{24}", re.I))
    if isinstance(plugin, IbmCloudIamDetector):
        # Its run is ``.{44}``: a run holds no line break, so that is its length.
        return _literal_gate(("key", "pwd", "pass", "token"), min_run=44)
    if isinstance(plugin, IbmCosHmacDetector):
        return _literal_gate(("secret",), run=re.compile(r"[0-9a-f]{48}", re.I))
    if isinstance(plugin, SoftlayerDetector):
        return _literal_gate(("sl", "softlayer"), run=re.compile(r"[a-z0-9]{64}", re.I))
    if isinstance(plugin, ArtifactoryDetector):
        # Each of its patterns holds one of these (never across a line break), so it is a line gate too:
        # "APACHE" in a licence header opens the piece, not every line of it.
        prefix = re.compile(r"AKC|AP[\dA-F]")
        return Gate(patterns=(prefix,), line=prefix)
    if isinstance(plugin, BasicAuthDetector):  # detect-secrets' and ours (pii.recognizers): both need "://"
        return Gate(patterns=tuple(plugin.denylist), needs=("://",))
    if isinstance(plugin, MailchimpDetector):
        return Gate(run=re.compile(r"[0-9a-z]{32}-us\d"))
    needs, run, literals = _PATTERN_NEEDS.get(type(plugin), ((), 0, ()))
    firsts = _PATTERN_FIRSTS.get(type(plugin), ())
    return Gate(
        patterns=tuple(plugin.denylist),
        firsts=tuple((re.compile(first) if first else None, lowered) for first, lowered in firsts),
        needs=needs,
        min_run=run,  # ``.{run}`` in a run (which has no newline)
        literals=literals,
    )


# Cheaper necessary conditions ahead of a plugin's own patterns: ``(needs, run, literals)``, a literal every
# match holds (as is); the length of the ``[\w-]`` run every match lies in; a literal every match holds in
# lower case (Slack's patterns ignore case; no other letter folds to x, o, h, so it is exact).
_PATTERN_NEEDS: dict[type, tuple[tuple[str, ...], int, tuple[str, ...]]] = {
    StripeDetector: (("k_live_",), 0, ()),
    SquareOAuthDetector: (("sq0csp-",), 0, ()),
    OpenAIDetector: (("T3BlbkFJ",), 0, ()),
    PypiTokenDetector: (("pypi-",), 0, ()),
    SendGridDetector: (("SG.",), 0, ()),
    AzureStorageKeyDetector: (("AccountKey=",), 0, ()),
    NpmDetector: (("_authToken=",), 0, ()),
    GitLabTokenDetector: (("gl", "GR1348941"), 25, ()),
    TelegramBotTokenDetector: ((), 35, ()),
    DiscordBotTokenDetector: ((), 27, ()),
    GitHubTokenDetector: ((), 40, ()),
    TwilioKeyDetector: ((), 34, ()),
    SlackDetector: ((), 0, ("xox", "://hoo")),
}
# A part of a pattern (same flags) ahead of its slow start, per denylist pattern: Telegram's
# ``\d{8,10}:[0-9A-Za-z_-]{35}``, Discord's ``[MNO][a-zA-Z\d_-]{23,25}\.[a-zA-Z\d_-]{6}\.[a-zA-Z\d_-]{27}``;
# AWS's second pattern starts with ``aws`` and ignores case, and only A, W, S and the long s fold to a, w, s,
# so the lower-cased piece holds "aws" or "awſ" (tests/pii check each pattern still holds its part).
_PATTERN_FIRSTS: dict[type, tuple[tuple[str | None, bool], ...]] = {
    TelegramBotTokenDetector: ((r":[0-9A-Za-z_-]{35}", False),),
    DiscordBotTokenDetector: ((r"\.[a-zA-Z\d_-]{6}\.[a-zA-Z\d_-]{27}", False),),
    AWSKeyDetector: ((None, False), ("aw[sſ]", True)),
}


def lines_of(
    active: list[tuple[BasePlugin, Gate]], text: str, lowered: str, starts: list[int]
) -> dict[int, list[int]]:
    """Line index -> the numbers (in ``active``, ascending) of the plugins whose line gate matches there.

    A plugin without a line gate (or with a lower-case one on a non-ASCII text,
    where lower-casing may move characters) is listed on every line.
    """
    hits: dict[int, set[int]] = {}
    every_line = []
    for number, (_, gate) in enumerate(active):
        if gate.line is None or (gate.line_lowered and not text.isascii()):
            every_line.append(number)
            continue
        for match in gate.line.finditer(lowered if gate.line_lowered else text):
            hits.setdefault(bisect.bisect_right(starts, match.start()) - 1, set()).add(number)
    if every_line:
        for index in range(len(starts) - 1):
            hits.setdefault(index, set()).update(every_line)
    return {index: sorted(numbers) for index, numbers in hits.items()}
