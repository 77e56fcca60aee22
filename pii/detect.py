"""PII detection: one Presidio ``AnalyzerEngine`` (no NLP model), the pre-scan, and the guards.

``PiiDetector`` is built once per worker (building the engine compiles a few
hundred regexes). ``detect(text)`` returns the findings to redact and, for the
evaluation, the candidates each guard left alone.
"""

from __future__ import annotations

import bisect
import logging
from collections import Counter
from dataclasses import dataclass, field

import regex
from presidio_analyzer import AnalyzerEngine, RecognizerRegistry, RecognizerResult
from presidio_analyzer.context_aware_enhancers import ContextAwareEnhancer
from presidio_analyzer.nlp_engine import NoOpNlpEngine
from presidio_analyzer.predefined_recognizers import IpRecognizer

from pii import guards, prescan
from pii.recognizers import (
    EMAIL_ENTITY,
    IP_ENTITY,
    KEY_ENTITY,
    DetectSecretsRecognizer,
    ExtraTokenRecognizer,
    OfflineEmailRecognizer,
    PrivateKeyBlockRecognizer,
)

EMAIL, IP_ADDRESS, KEY = prescan.EMAIL, prescan.IP_ADDRESS, prescan.KEY
PRIVATE_KEY_ENTITY = "PRIVATE_KEY_BLOCK"
_ENTITY_TO_FAMILY = {EMAIL_ENTITY: EMAIL, IP_ENTITY: IP_ADDRESS, KEY_ENTITY: KEY, PRIVATE_KEY_ENTITY: KEY}
_FAMILY_ENTITIES = {EMAIL: [EMAIL_ENTITY], IP_ADDRESS: [IP_ENTITY], KEY: [KEY_ENTITY]}
_REGEX_FLAGS = regex.DOTALL | regex.MULTILINE  # case-sensitive: token prefixes (AKIA, ghp_) are
_SCORE_THRESHOLD = 0.3  # drops Presidio's low-confidence bare "::" match
_MIN_PROPAGATED_CHARS = 8  # a detected value this long is redacted wherever else it occurs in the file


@dataclass(frozen=True, order=True)
class Finding:
    """One span to redact. ``value`` stays in memory only; it is never written out."""

    start: int
    end: int
    entity: str  # "email" | "ip_address" | "key"
    value: str = field(repr=False)
    source: str = ""  # recognizer or detect-secrets plugin


@dataclass
class Detection:
    findings: list[Finding]
    guarded: Counter = field(default_factory=Counter)  # (entity, guard reason) -> candidates left alone
    guarded_spans: list[tuple[int, int, str, str]] = field(default_factory=list)  # start, end, entity, reason


class _NoContextEnhancer(ContextAwareEnhancer):
    """Context words need NLP tokens, which the no-op engine does not produce: skip the (costly) pass."""

    def __init__(self) -> None:
        super().__init__(0.0, 0.0, 0, 0)

    def enhance_using_context(self, text, raw_results, nlp_artifacts, recognizers, context=None):
        return raw_results


def build_engine(use_prescan: bool = True) -> AnalyzerEngine:
    """A Presidio engine with our recognizers and the no-op NLP engine (no spaCy model is loaded)."""
    nlp_engine = NoOpNlpEngine(models=[{"lang_code": "en", "model_name": "none"}])
    nlp_engine.load()
    registry = RecognizerRegistry(supported_languages=["en"])
    key_lines = prescan.key_candidate_positions if use_prescan else None
    for recognizer in (
        OfflineEmailRecognizer(),
        IpRecognizer(),
        DetectSecretsRecognizer(candidate_positions=key_lines),
        ExtraTokenRecognizer(),
    ):
        registry.add_recognizer(recognizer)
    block = PrivateKeyBlockRecognizer()
    block.supported_entities = [PRIVATE_KEY_ENTITY]
    registry.add_recognizer(block)
    logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
    engine = AnalyzerEngine(
        registry=registry,
        nlp_engine=nlp_engine,
        supported_languages=["en"],
        context_aware_enhancer=_NoContextEnhancer(),
    )
    # Warm up: compiles every pattern and loads tldextract's bundled suffix list now, not on the first document.
    engine.analyze(text="a.b@c.com 52.1.2.3 key='AKIAABCDEFGHIJKLMNOP'", language="en")
    return engine


class PiiDetector:
    """Emails, IP addresses and keys in one text, guards applied, overlaps resolved."""

    def __init__(self, use_prescan: bool = True) -> None:
        self.use_prescan = use_prescan
        self.engine = build_engine(use_prescan)

    def _analyze(self, text: str, entities: list[str]) -> list[RecognizerResult]:
        return self.engine.analyze(
            text=text,
            language="en",
            entities=entities,
            score_threshold=_SCORE_THRESHOLD,
            regex_flags=_REGEX_FLAGS,
        )

    def candidates(self, text: str) -> list[tuple[int, int, str, str]]:
        """Every raw detector hit as ``(start, end, family, source)``, before guards."""
        families = prescan.families(text) if self.use_prescan else set(prescan.FAMILIES)
        spans: set[tuple[int, int, str, str]] = set()
        for family in prescan.FAMILIES:
            if family not in families:
                continue
            for offset, piece in prescan.candidate_segments(text, family, self.use_prescan):
                for result in self._analyze(piece, _FAMILY_ENTITIES[family]):
                    spans.add((offset + result.start, offset + result.end, family, _source(result)))
        if KEY in families and (not self.use_prescan or "PRIVATE KEY" in text):
            for result in self._analyze(text, [PRIVATE_KEY_ENTITY]):
                spans.add((result.start, result.end, KEY, _source(result)))
        return sorted(spans)

    def detect(self, text: str) -> Detection:
        """Findings to redact (non-overlapping, sorted) and the guard decisions."""
        detection = Detection(findings=[])
        accepted: list[Finding] = []
        for start, end, family, source in self.candidates(text):
            value = text[start:end]
            reason = _guard(family, value, text, start, end, source)
            if reason:
                detection.guarded[(family, reason)] += 1
                detection.guarded_spans.append((start, end, family, reason))
                continue
            accepted.append(Finding(start, end, family, value, source))
        accepted.extend(_other_occurrences(text, accepted))
        detection.findings = _non_overlapping(accepted)
        return detection


def _source(result: RecognizerResult) -> str:
    metadata = result.recognition_metadata or {}
    return metadata.get(DetectSecretsRecognizer.PLUGIN_KEY) or metadata.get(
        RecognizerResult.RECOGNIZER_NAME_KEY, ""
    )


def _guard(family: str, value: str, text: str, start: int, end: int, source: str) -> str | None:
    if family == EMAIL:
        return guards.email_guard(value, text, start, end)
    if family == IP_ADDRESS:
        return guards.ip_guard(value, text, start, end)
    return guards.key_guard(value, text, start, end, source)


def _other_occurrences(text: str, accepted: list[Finding]) -> list[Finding]:
    """The same secret value elsewhere in the file (outside quotes, in a comment ...) is redacted too."""
    extra = []
    seen = {(f.start, f.end) for f in accepted}
    for value, entity in sorted({(f.value, f.entity) for f in accepted if f.entity != IP_ADDRESS}):
        if len(value) < _MIN_PROPAGATED_CHARS:
            continue
        pos = text.find(value)
        while pos >= 0:
            if (pos, pos + len(value)) not in seen:
                extra.append(Finding(pos, pos + len(value), entity, value, "same_value"))
            pos = text.find(value, pos + len(value))
    return extra


_PRIORITY = {KEY: 0, EMAIL: 1, IP_ADDRESS: 2}


def _non_overlapping(findings: list[Finding]) -> list[Finding]:
    """Where findings overlap keep keys first, then emails, then IPs; then the earliest, then the longest.

    (``postgres://user:s3cret@db.host.com``: the password is a key, not the start of an email.)
    """
    starts: list[int] = []
    kept: list[Finding] = []
    for finding in sorted(findings, key=lambda f: (_PRIORITY[f.entity], f.start, -(f.end - f.start))):
        index = bisect.bisect_left(starts, finding.start)
        if index > 0 and kept[index - 1].end > finding.start:
            continue
        if index < len(kept) and kept[index].start < finding.end:
            continue
        starts.insert(index, finding.start)
        kept.insert(index, finding)
    return kept
