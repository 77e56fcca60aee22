"""Presidio recognizers: the library's email and IP recognizers, detect-secrets plugins, and two of our own.

* Emails: Presidio's ``EmailRecognizer`` pattern, validated against the public
  suffix list *snapshot bundled with tldextract* (never fetched).
* IPs: Presidio's ``IpRecognizer`` (IPv4, IPv6, IPv4-mapped) as is.
* Keys: detect-secrets' plugin classes, run in-process line by line through
  ``DetectSecretsRecognizer`` (a Presidio ``EntityRecognizer``).
* Ours, because no library covers them: ``PrivateKeyBlockRecognizer`` (the
  detect-secrets plugin only flags the ``BEGIN ... PRIVATE KEY`` header line,
  the secret is the body under it) and ``ExtraTokenRecognizer`` (Google API
  keys, GitHub fine-grained tokens, Hugging Face tokens: formats
  detect-secrets 1.5 has no plugin for).
"""

from __future__ import annotations

import os

os.environ.setdefault(
    "TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", ""
)  # also in pii/__init__: before tldextract loads

import re  # noqa: E402
from collections.abc import Callable  # noqa: E402

import regex  # noqa: E402
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
from detect_secrets.plugins.jwt import JwtTokenDetector  # noqa: E402
from detect_secrets.plugins.keyword import KeywordDetector  # noqa: E402
from detect_secrets.plugins.mailchimp import MailchimpDetector  # noqa: E402
from detect_secrets.plugins.npm import NpmDetector  # noqa: E402
from detect_secrets.plugins.openai import OpenAIDetector  # noqa: E402
from detect_secrets.plugins.private_key import PrivateKeyDetector  # noqa: E402
from detect_secrets.plugins.pypi_token import PypiTokenDetector  # noqa: E402
from detect_secrets.plugins.sendgrid import SendGridDetector  # noqa: E402
from detect_secrets.plugins.slack import SlackDetector  # noqa: E402
from detect_secrets.plugins.softlayer import SoftlayerDetector  # noqa: E402
from detect_secrets.plugins.square_oauth import SquareOAuthDetector  # noqa: E402
from detect_secrets.plugins.stripe import StripeDetector  # noqa: E402
from detect_secrets.plugins.telegram_token import TelegramBotTokenDetector  # noqa: E402
from detect_secrets.plugins.twilio import TwilioKeyDetector  # noqa: E402
from presidio_analyzer import EntityRecognizer, Pattern, PatternRecognizer, RecognizerResult  # noqa: E402
from presidio_analyzer.predefined_recognizers import EmailRecognizer, IpRecognizer  # noqa: E402

EMAIL_ENTITY = "EMAIL_ADDRESS"
IP_ENTITY = "IP_ADDRESS"
KEY_ENTITY = "KEY"

# detect-secrets' default entropy limits: BigCode used them too; our guards do the rest.
BASE64_ENTROPY_LIMIT = 4.5
HEX_ENTROPY_LIMIT = 3.0
_HEURISTIC_PLUGINS = frozenset({"Base64HighEntropyString", "HexHighEntropyString", "KeywordDetector"})
_JWT_TAIL = re.compile(r"[A-Za-z0-9_\-+/=]*")
MAX_SECRET_CHARS = 1024  # longer "secrets" are blobs (a JWT or key past this is cut off by the window anyway)


def detect_secrets_plugins() -> list[BasePlugin]:
    """The detect-secrets plugins we run: BigCode's set, plus keyword, basic-auth and the newer token formats."""
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
        JwtTokenDetector(),
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
        Base64HighEntropyString(limit=BASE64_ENTROPY_LIMIT),
        HexHighEntropyString(limit=HEX_ENTROPY_LIMIT),
    ]


class OfflineEmailRecognizer(EmailRecognizer):
    """Presidio's email pattern, validated with tldextract's bundled suffix list (no download, no disk cache)."""

    def __init__(self) -> None:
        super().__init__()
        self._extract = tldextract.TLDExtract(cache_dir=None, suffix_list_urls=(), fallback_to_snapshot=True)

    def validate_result(self, pattern_text: str) -> bool:
        # The domain alone: the whole match would let "example.com/x.git@v1.0.0" pass on its local part.
        return self._extract(pattern_text.rpartition("@")[2]).fqdn != ""


def _plugin_values(plugin: BasePlugin, line: str) -> list[str]:
    """Raw secret values a plugin sees in one line (entropy limit applied, no network verification)."""
    values = []
    for raw in plugin.analyze_string(line):
        value = raw.strip().strip("\"'=:")
        if isinstance(plugin, NpmDetector) and "_authToken=" in value:
            value = value.split("_authToken=", 1)[1].strip()
        if not value or len(value) > MAX_SECRET_CHARS:
            continue
        if isinstance(plugin, HighEntropyStringsPlugin):
            if plugin.calculate_shannon_entropy(value) <= plugin.entropy_limit:
                continue
        values.append(value)
    return values


class DetectSecretsRecognizer(EntityRecognizer):
    """detect-secrets' plugins as a Presidio recognizer: every line, every plugin, every occurrence.

    detect-secrets yields secret *values*; we locate each occurrence in its
    line to get spans. The plugin's class name goes into the recognition
    metadata so guards can treat structured formats and entropy hits apart.
    """

    PLUGIN_KEY = "detect_secrets_plugin"

    def __init__(self, candidate_positions: Callable[[str], list[int]] | None = None) -> None:
        self._plugins = detect_secrets_plugins()
        self._candidate_positions = candidate_positions
        super().__init__(
            supported_entities=[KEY_ENTITY], name="DetectSecretsRecognizer", supported_language="en"
        )

    def load(self) -> None:
        """Nothing to load: plugins are built in ``__init__``."""

    def analyze(self, text: str, entities: list[str], nlp_artifacts=None) -> list[RecognizerResult]:
        """Every line holding a candidate (all lines without a pre-scan) through every plugin."""
        positions = self._candidate_positions(text) if self._candidate_positions else None
        results: list[RecognizerResult] = []
        offset = 0
        next_candidate = 0
        for line in text.splitlines(keepends=True):
            line_end = offset + len(line)
            if positions is None:
                results.extend(self._analyze_line(line, offset))
            else:
                while next_candidate < len(positions) and positions[next_candidate] < offset:
                    next_candidate += 1
                if next_candidate < len(positions) and positions[next_candidate] < line_end:
                    results.extend(self._analyze_line(line, offset))
            offset = line_end
        return results

    def _analyze_line(self, line: str, offset: int) -> list[RecognizerResult]:
        results = []
        seen: set[tuple[int, int]] = set()
        for plugin in self._plugins:
            for value in _plugin_values(plugin, line):
                pos = line.find(value)
                while pos >= 0:
                    end = pos + len(value)
                    if isinstance(plugin, JwtTokenDetector):
                        end = _JWT_TAIL.match(
                            line, end
                        ).end()  # the plugin's lazy regex stops before the signature
                    span = (offset + pos, offset + end)
                    if span not in seen:
                        seen.add(span)
                        results.append(self._result(span, type(plugin).__name__))
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


class PrivateKeyBlockRecognizer(EntityRecognizer):
    """The body of a PEM / OpenSSH / PGP private key block, found from detect-secrets' header list."""

    _HEADERS = "|".join(p.pattern for p in PrivateKeyDetector.denylist if p.pattern.startswith("BEGIN"))
    _BLOCK = re.compile(
        r"-----(?:"
        + _HEADERS
        + r")-----[ \t]*(?:\\[nr])*\r?\n?(?P<body>.{16,20000}?)(?=(?:\\[nr])*\r?\n?[ \t]*-----END )",
        re.DOTALL,
    )

    def __init__(self) -> None:
        super().__init__(
            supported_entities=[KEY_ENTITY], name="PrivateKeyBlockRecognizer", supported_language="en"
        )

    def load(self) -> None:
        """Nothing to load."""

    def analyze(self, text: str, entities: list[str], nlp_artifacts=None) -> list[RecognizerResult]:
        if "PRIVATE KEY" not in text:
            return []
        return [
            RecognizerResult(
                entity_type=KEY_ENTITY,
                start=match.start("body"),
                end=match.end("body"),
                score=1.0,
                recognition_metadata={
                    RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                    RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
                    DetectSecretsRecognizer.PLUGIN_KEY: "PrivateKeyBlock",
                },
            )
            for match in self._BLOCK.finditer(text)
        ]


class ExtraTokenRecognizer(PatternRecognizer):
    """Token formats with a fixed, documented prefix that detect-secrets 1.5 does not know."""

    PATTERNS = [
        Pattern("Google API key", r"(?<![\w-])AIza[0-9A-Za-z_\-]{35}(?![\w-])", 1.0),
        Pattern("GitHub fine-grained token", r"(?<!\w)github_pat_[0-9A-Za-z_]{82}(?!\w)", 1.0),
        Pattern("Hugging Face token", r"(?<![\w-])hf_[A-Za-z]{34}(?!\w)", 1.0),
    ]

    def __init__(self) -> None:
        super().__init__(
            supported_entity=KEY_ENTITY,
            patterns=self.PATTERNS,
            name="ExtraTokenRecognizer",
            supported_language="en",
            global_regex_flags=regex.DOTALL | regex.MULTILINE,
        )


def email_recognizer() -> OfflineEmailRecognizer:
    return OfflineEmailRecognizer()


def ip_recognizer() -> IpRecognizer:
    return IpRecognizer()
