"""Presidio recognizers backed by libraries: Presidio's email and IP recognizers, detect-secrets plugins.

* Emails: Presidio's ``EmailRecognizer`` pattern, validated against the public
  suffix list *snapshot bundled with tldextract* (never fetched).
* IPs: Presidio's ``IpRecognizer`` (IPv4, IPv6, IPv4-mapped) as is.
* Keys: detect-secrets' plugin classes, run in-process line by line through
  ``DetectSecretsRecognizer`` (a Presidio ``EntityRecognizer``); a plugin runs
  on a piece only when one of its own patterns (or keywords) occurs in it
  (``pii.plugin_gates``).
  Our own key recognizers (key-name context, JWT, private-key armor, newer
  token formats) are in ``pii.keys``.
"""

from __future__ import annotations

import os

os.environ.setdefault(
    "TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", ""
)  # also in pii/__init__: before tldextract loads

import math  # noqa: E402
import re  # noqa: E402
from collections import Counter  # noqa: E402
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
from pii.plugin_gates import keyword_matches, lines_of, long_runs, plugin_gate  # noqa: E402

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
    """The detect-secrets plugins we run: BigCode's set, plus keyword, URL credentials and the newer token formats.

    Not ``JwtTokenDetector``: ``pii.keys.JwtRecognizer`` finds JWTs by shape anywhere, a superset.
    """
    return [
        ArtifactoryDetector(),
        AWSKeyDetector(),
        AzureStorageKeyDetector(),
        UrlCredentialsDetector(),
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


# RFC 3986 userinfo (unreserved, percent-encoded, sub-delims), less the quotes that end a string literal in
# code, and without a second ":" (RFC-valid, but in code ``://h1:123,user:pass@h2`` is a host list: pydantic's
# ``MultiHostUrl`` docs). ``://`` and the host's first character around it.
_USERINFO_USER = r"[A-Za-z0-9\-._~%!$&()*+,;=]*+"
_USERINFO_PASSWORD = r"[A-Za-z0-9\-._~%!$&()*+,;=]++"
URL_CREDENTIALS = re.compile(f"://{_USERINFO_USER}:({_USERINFO_PASSWORD})@(?=[A-Za-z0-9\\[])")


class UrlCredentialsDetector(BasicAuthDetector):
    """The password of ``scheme://user:password@host``, as RFC 3986 allows it.

    detect-secrets' ``BasicAuthDetector`` leaves out every sub-delimiter (``!$&'()*+,;=``) and an empty
    user, which real URLs have: ``postgres://app:Xy7+kQ2=pL9m@db``, base64 passwords ending in ``=``,
    ``redis://:password@cache``. Placeholders and templates (``<password>``, ``${DB_PASS}``, ``%s``)
    are left to the keyword guard, as before.
    """

    denylist = [URL_CREDENTIALS]


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
    if isinstance(plugin, UrlCredentialsDetector):
        return "exact"  # the password as captured: a trailing "=" is part of it (base64 padding)
    if isinstance(plugin, KeywordDetector) and plugin.keyword_exclude is None:
        return "keyword"
    if isinstance(plugin, HighEntropyStringsPlugin):
        return "entropy"
    return "plain"


def _plugin_values(plugin: BasePlugin, rule: str, line: str) -> list[str]:
    """Raw secret values a plugin sees in one line (entropy limit applied, no network verification)."""
    if rule == "whole_match":
        return [m.group(0) for pattern in plugin.denylist for m in pattern.finditer(line)]
    values = []
    for raw in keyword_matches(line) if rule == "keyword" else plugin.analyze_string(line):
        value = raw if rule == "exact" else raw.strip().strip("\"'=:")
        if rule == "npm" and "_authToken=" in value:
            value = value.split("_authToken=", 1)[1].strip()
        if not value or len(value) > MAX_SECRET_CHARS:
            continue
        if rule == "entropy" and plugin.calculate_shannon_entropy(value) <= plugin.entropy_limit:
            continue
        values.append(value)
    return values


def _library_name(plugin: BasePlugin) -> str:
    """The detect-secrets class name (``HexHighEntropyString``, not our faster subclass): guards use it."""
    return next(c.__name__ for c in type(plugin).__mro__ if c.__module__.startswith("detect_secrets"))


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
        self._plugins = [(plugin, plugin_gate(plugin)) for plugin in detect_secrets_plugins()]
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
        for index, numbers in sorted(lines_of(active, text, lowered, starts).items()):
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
