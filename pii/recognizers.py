"""Presidio recognizers backed by libraries: Presidio's email and IP recognizers, detect-secrets plugins.

* Emails: Presidio's ``EmailRecognizer`` pattern, validated against the public
  suffix list *snapshot bundled with tldextract* (never fetched).
* IPs: Presidio's ``IpRecognizer`` (IPv4, IPv6, IPv4-mapped) as is.
* Keys: detect-secrets' plugin classes, run in-process line by line through
  ``DetectSecretsRecognizer`` (a Presidio ``EntityRecognizer``); a plugin runs
  on a piece only when one of its own patterns (or keywords) occurs in it.
  Our own key recognizers (key-name context, JWT, private-key armor, newer
  token formats) are in ``pii.keys``.
"""

from __future__ import annotations

import os

os.environ.setdefault(
    "TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", ""
)  # also in pii/__init__: before tldextract loads

import bisect  # noqa: E402
import math  # noqa: E402
import re  # noqa: E402
from collections import Counter  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from itertools import accumulate  # noqa: E402

from pii.detect import import_presidio  # noqa: E402

import_presidio()

import tldextract  # noqa: E402
from detect_secrets.plugins.artifactory import ArtifactoryDetector  # noqa: E402
from detect_secrets.plugins.aws import AWSKeyDetector  # noqa: E402
from detect_secrets.plugins.azure_storage_key import AzureStorageKeyDetector  # noqa: E402
from detect_secrets.plugins.base import BasePlugin  # noqa: E402
from detect_secrets.plugins.basic_auth import BasicAuthDetector  # noqa: E402
from detect_secrets.plugins.cloudant import CloudantDetector  # noqa: E402
from detect_secrets.plugins.discord import DiscordBotTokenDetector  # noqa: E402
from detect_secrets.plugins.github_token import GitHubTokenDetector  # noqa: E402
from detect_secrets.plugins.gitlab_token import GitLabTokenDetector  # noqa: E402
from detect_secrets.plugins.high_entropy_strings import (  # noqa: E402
    Base64HighEntropyString,
    HexHighEntropyString,
    HighEntropyStringsPlugin,
)
from detect_secrets.plugins.ibm_cloud_iam import IbmCloudIamDetector  # noqa: E402
from detect_secrets.plugins.ibm_cos_hmac import IbmCosHmacDetector  # noqa: E402
from detect_secrets.plugins.keyword import KeywordDetector  # noqa: E402
from detect_secrets.plugins.mailchimp import MailchimpDetector  # noqa: E402
from detect_secrets.plugins.npm import NpmDetector  # noqa: E402
from detect_secrets.plugins.openai import OpenAIDetector  # noqa: E402
from detect_secrets.plugins.pypi_token import PypiTokenDetector  # noqa: E402
from detect_secrets.plugins.sendgrid import SendGridDetector  # noqa: E402
from detect_secrets.plugins.slack import SlackDetector  # noqa: E402
from detect_secrets.plugins.softlayer import SoftlayerDetector  # noqa: E402
from detect_secrets.plugins.square_oauth import SquareOAuthDetector  # noqa: E402
from detect_secrets.plugins.stripe import StripeDetector  # noqa: E402
from detect_secrets.plugins.telegram_token import TelegramBotTokenDetector  # noqa: E402
from detect_secrets.plugins.twilio import TwilioKeyDetector  # noqa: E402
from presidio_analyzer import EntityRecognizer, RecognizerResult  # noqa: E402
from presidio_analyzer.predefined_recognizers import EmailRecognizer  # noqa: E402

from pii.key_guards import BASE64_ENTROPY_LIMIT  # noqa: E402
from pii.keys import KEY_ENTITY, SOURCE_KEY  # noqa: E402

# detect-secrets' default entropy limits: BigCode used them too; our guards do the rest.
HEX_ENTROPY_LIMIT = 3.0
_HEURISTIC_PLUGINS = frozenset({"Base64HighEntropyString", "HexHighEntropyString", "KeywordDetector"})
MAX_SECRET_CHARS = 1024  # longer "secrets" are blobs (a JWT or key past this is cut off by the window anyway)


class _OrderedEntropy(HighEntropyStringsPlugin):
    """detect-secrets' Shannon entropy, same sum in the same order (bit-identical), from one ``Counter``.

    The library counts every character of its 64-character set with ``str.count``;
    this visits only the characters present, in charset order.
    """

    def calculate_shannon_entropy(self, data: str) -> float:
        if not data:
            return 0
        order = _CHARSET_ORDER.get(self.charset)
        if order is None:
            order = _CHARSET_ORDER[self.charset] = {c: i for i, c in enumerate(self.charset)}
        counts = Counter(data)
        entropy = 0.0
        for x in sorted((c for c in counts if c in order), key=order.__getitem__):
            p_x = float(counts[x]) / len(data)
            entropy += -p_x * math.log(p_x, 2)
        return entropy


_CHARSET_ORDER: dict[str, dict[str, int]] = {}


class _Base64Entropy(Base64HighEntropyString, _OrderedEntropy):
    """``Base64HighEntropyString`` with the faster, identical entropy."""


class _HexEntropy(HexHighEntropyString, _OrderedEntropy):
    """``HexHighEntropyString`` (all-digit adjustment included) with the faster, identical entropy."""


def detect_secrets_plugins() -> list[BasePlugin]:
    """The detect-secrets plugins we run: BigCode's set, plus keyword, basic-auth and the newer token formats.

    Not ``JwtTokenDetector``: ``pii.keys.JwtRecognizer`` finds JWTs by shape anywhere, a superset.
    """
    return [
        ArtifactoryDetector(),
        AWSKeyDetector(),
        AzureStorageKeyDetector(),
        BasicAuthDetector(),
        CloudantDetector(),
        DiscordBotTokenDetector(),
        GitHubTokenDetector(),
        GitLabTokenDetector(),
        IbmCloudIamDetector(),
        IbmCosHmacDetector(),
        KeywordDetector(),
        MailchimpDetector(),
        NpmDetector(),
        OpenAIDetector(),
        PypiTokenDetector(),
        SendGridDetector(),
        SlackDetector(),
        SoftlayerDetector(),
        SquareOAuthDetector(),
        StripeDetector(),
        TelegramBotTokenDetector(),
        TwilioKeyDetector(),
        _Base64Entropy(limit=BASE64_ENTROPY_LIMIT),
        _HexEntropy(limit=HEX_ENTROPY_LIMIT),
    ]


class OfflineEmailRecognizer(EmailRecognizer):
    """Presidio's email pattern, validated with tldextract's bundled suffix list (no download, no disk cache)."""

    def __init__(self) -> None:
        super().__init__()
        self._extract = tldextract.TLDExtract(cache_dir=None, suffix_list_urls=(), fallback_to_snapshot=True)

    def validate_result(self, pattern_text: str) -> bool:
        # The domain alone: the whole match would let "example.com/x.git@v1.0.0" pass on its local part.
        return self._extract(pattern_text.rpartition("@")[2]).fqdn != ""


def _value_rule(plugin: BasePlugin) -> str:
    """How to read a plugin's output (decided once: ``isinstance`` on detect-secrets' ABCs is slow per line)."""
    if isinstance(plugin, (GitHubTokenDetector, GitLabTokenDetector)):
        return "whole_match"  # their patterns capture only the prefix ("ghp", "glpat")
    if isinstance(plugin, NpmDetector):
        return "npm"
    if isinstance(plugin, HighEntropyStringsPlugin):
        return "entropy"
    return "plain"


def _plugin_values(plugin: BasePlugin, rule: str, line: str) -> list[str]:
    """Raw secret values a plugin sees in one line (entropy limit applied, no network verification)."""
    if rule == "whole_match":
        return [m.group(0) for pattern in plugin.denylist for m in pattern.finditer(line)]
    values = []
    for raw in plugin.analyze_string(line):
        value = raw.strip().strip("\"'=:")
        if rule == "npm" and "_authToken=" in value:
            value = value.split("_authToken=", 1)[1].strip()
        if not value or len(value) > MAX_SECRET_CHARS:
            continue
        if rule == "entropy" and plugin.calculate_shannon_entropy(value) <= plugin.entropy_limit:
            continue
        values.append(value)
    return values


# Every entry of detect-secrets' keyword DENYLIST holds one of these (tests/pii check it).
KEYWORD_LITERALS = ("key", "pass", "pwd", "secret", "contrase")
_LONG_RUN = re.compile(r"[\w\-]{24,}")  # the values of detect-secrets' assignment-style plugins are such runs
_RUN_CHARS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"  # [\w-] in an ASCII text
_RUN_MASK = bytes(1 if byte in _RUN_CHARS else 0 for byte in range(256))
_LONG_RUN_MASK = b"\x01" * 24
_QUOTED_WORD = re.compile(r"['\"`]\w")


@dataclass(frozen=True)
class _Gate:
    """A cheap necessary condition for a plugin to find anything in a piece (never a sufficient one).

    ``literals``: one must occur in the lower-cased piece; ``run``: one of the
    piece's long ``[\\w-]`` runs must match it; ``min_run``: the longest run must
    be at least this long; ``patterns``: one must occur in the piece. The assignment-style plugins (Cloudant, IBM, SoftLayer) and the
    keyword plugin have slow regexes; their gates are literals and runs.
    """

    literals: tuple[str, ...] = ()
    run: re.Pattern[str] | None = None
    min_run: int = 0
    patterns: tuple[re.Pattern[str], ...] = ()
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
        return not self.patterns or any(p.search(text) for p in self.patterns)


def _literal_gate(
    literals: tuple[str, ...],
    run: re.Pattern[str] | None = None,
    also: re.Pattern[str] | None = None,
    min_run: int = 0,
) -> _Gate:
    line = re.compile("|".join(re.escape(literal) for literal in literals))
    return _Gate(literals=literals, run=run, min_run=min_run, line=line, line_lowered=True, line_also=also)


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


def _library_name(plugin: BasePlugin) -> str:
    """The detect-secrets class name (``HexHighEntropyString``, not our faster subclass): guards use it."""
    return next(c.__name__ for c in type(plugin).__mro__ if c.__module__.startswith("detect_secrets"))


def _gate(plugin: BasePlugin) -> _Gate:
    if isinstance(plugin, KeywordDetector):
        # Each of its (quotes-required) patterns has an opening quote right before a word character.
        return _literal_gate(KEYWORD_LITERALS, also=_QUOTED_WORD)
    if isinstance(plugin, HighEntropyStringsPlugin):
        # A value of n characters has entropy <= log2(n): a line needs a run of 2 ** limit of them (rounded
        # down, so a run whose entropy equals the limit up to rounding is still looked at).
        # It reads quoted values only: an opening quote, then such a run.
        length = int(2**plugin.entropy_limit)
        run = re.compile("['\"][" + re.escape(plugin.charset) + "]{" + str(length) + ",}")
        return _Gate(patterns=(plugin.regex,), line=run)
    if isinstance(plugin, CloudantDetector):
        return _literal_gate(("cl",), run=re.compile(r"[0-9a-f]{64}|[a-z]{24}", re.I))
    if isinstance(plugin, IbmCloudIamDetector):
        return _literal_gate(
            ("key", "pwd", "pass", "token"), min_run=44
        )  # run ``.{44}``: no run has a newline
    if isinstance(plugin, IbmCosHmacDetector):
        return _literal_gate(("secret",), run=re.compile(r"[0-9a-f]{48}", re.I))
    if isinstance(plugin, SoftlayerDetector):
        return _literal_gate(("sl", "softlayer"), run=re.compile(r"[a-z0-9]{64}", re.I))
    if isinstance(plugin, ArtifactoryDetector):
        return _Gate(patterns=(re.compile(r"AKC|AP[\dA-F]"),))
    if isinstance(plugin, MailchimpDetector):
        return _Gate(run=re.compile(r"[0-9a-z]{32}-us\d"))
    needs, run, literals = _PATTERN_NEEDS.get(type(plugin), ((), 0, ()))
    return _Gate(
        patterns=tuple(plugin.denylist),
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
    BasicAuthDetector: (("://",), 0, ()),
    GitLabTokenDetector: (("gl", "GR1348941"), 25, ()),
    TelegramBotTokenDetector: ((), 35, ()),
    DiscordBotTokenDetector: ((), 27, ()),
    GitHubTokenDetector: ((), 40, ()),
    TwilioKeyDetector: ((), 34, ()),
    SlackDetector: ((), 0, ("xox", "://hoo")),
}


def _lines_of(
    active: list[tuple[BasePlugin, _Gate]], text: str, lowered: str, starts: list[int]
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


class DetectSecretsRecognizer(EntityRecognizer):
    """detect-secrets' plugins as a Presidio recognizer: every line, every plugin, every occurrence.

    detect-secrets yields secret *values*; we locate each occurrence in its
    line to get spans. The plugin's class name goes into the recognition
    metadata so guards can treat structured formats and entropy hits apart.
    A plugin whose gate (its own patterns) does not occur in the piece is
    skipped for the whole piece: same results, a fraction of the calls.
    """

    PLUGIN_KEY = SOURCE_KEY

    def __init__(self) -> None:
        self._plugins = [(plugin, _gate(plugin)) for plugin in detect_secrets_plugins()]
        self._names = {id(plugin): _library_name(plugin) for plugin, _ in self._plugins}
        self._rules = {id(plugin): _value_rule(plugin) for plugin, _ in self._plugins}
        super().__init__(
            supported_entities=[KEY_ENTITY], name="DetectSecretsRecognizer", supported_language="en"
        )

    def load(self) -> None:
        """Nothing to load: plugins are built in ``__init__``."""

    def analyze(self, text: str, entities: list[str], nlp_artifacts=None) -> list[RecognizerResult]:
        """Every line of ``text`` through every plugin whose gate opens on ``text`` (and, for literal
        gates, whose literal is in the line: the plugins' patterns need it on the line)."""
        lowered = text.lower()
        runs = long_runs(text)
        longest = max(map(len, runs), default=0)
        active = [(plugin, gate) for plugin, gate in self._plugins if gate.open(text, lowered, runs, longest)]
        if not active:
            return []
        lines = text.splitlines(keepends=True)
        starts = [0, *accumulate(map(len, lines))]
        results: list[RecognizerResult] = []
        for index, numbers in sorted(_lines_of(active, text, lowered, starts).items()):
            line = lines[index]
            line_lower = line.lower() if any(active[n][1].literals for n in numbers) else line
            plugins = [active[n][0] for n in numbers if active[n][1].line_open(line, line_lower)]
            results.extend(self._analyze_line(line, starts[index], plugins))
        return results

    def _analyze_line(self, line: str, offset: int, plugins: list[BasePlugin]) -> list[RecognizerResult]:
        results = []
        seen: set[tuple[int, int]] = set()
        for plugin in plugins:
            for value in _plugin_values(plugin, self._rules[id(plugin)], line):
                pos = line.find(value)
                while pos >= 0:
                    end = pos + len(value)
                    span = (offset + pos, offset + end)
                    if span not in seen:
                        seen.add(span)
                        results.append(self._result(span, self._names[id(plugin)]))
                    pos = line.find(value, end)
        return results

    def _result(self, span: tuple[int, int], plugin_name: str) -> RecognizerResult:
        return RecognizerResult(
            entity_type=KEY_ENTITY,
            start=span[0],
            end=span[1],
            # A structured format beats an entropy / keyword hit on the same span in Presidio's de-duplication.
            score=0.6 if plugin_name in _HEURISTIC_PLUGINS else 0.95,
            recognition_metadata={
                RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
                self.PLUGIN_KEY: plugin_name,
            },
        )
