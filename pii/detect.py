"""PII detection: one shared Presidio ``AnalyzerEngine`` (no NLP model), the pre-scan, and the guards.

``PiiDetector.detect(text)`` returns the findings to redact and, for the
evaluation, the candidates each guard left alone. Presidio only sees the lines
the pre-scan picked (``pii.prescan.windows``): for each entity family, all of a
file's candidate lines go to the engine in one call, joined by a separator no
pattern crosses, and the spans are mapped back.

Start-up is paid once per process: ``shared_engine()`` builds the engine on
first use and every detector in the process reuses it. Importing Presidio
would also import ``transformers`` and ``torch`` (for NLP engines we never use,
several seconds); ``import_presidio`` hides them during that one import where
nothing has loaded them yet.
"""

from __future__ import annotations

import bisect
import logging
import sys
import threading
from collections import Counter
from dataclasses import dataclass, field

from cli.imports import hidden_while_importing
from pii import key_guards, prescan
from pii.key_names import SOURCE_KEY

EMAIL, IP_ADDRESS, KEY = prescan.EMAIL, prescan.IP_ADDRESS, prescan.KEY
EMAIL_ENTITY, IP_ENTITY, KEY_ENTITY = "EMAIL_ADDRESS", "IP_ADDRESS", "KEY"
PRIVATE_KEY_ENTITY = "PRIVATE_KEY_BLOCK"
_FAMILY_ENTITY = {EMAIL: EMAIL_ENTITY, IP_ADDRESS: IP_ENTITY, KEY: KEY_ENTITY}
_ALL_ENTITIES = (EMAIL_ENTITY, IP_ENTITY, KEY_ENTITY, PRIVATE_KEY_ENTITY)
_SCORE_THRESHOLD = 0.3  # drops Presidio's low-confidence bare "::" match
_MIN_PROPAGATED_CHARS = 8  # a detected value this long is redacted wherever else it occurs in the file
_SEPARATOR = "\n\x00\n"  # between joined candidate lines: no email, IP or key pattern crosses it
_HIDDEN_FROM_PRESIDIO = ("transformers", "torch")


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


def import_presidio() -> None:
    """Import Presidio without the NLP stacks it loads eagerly (it runs with its no-op NLP engine here).

    Presidio's ``nlp_engine`` package imports ``transformers`` (and through it
    and spaCy's thinc, ``torch``) at import time, for NLP engines we never
    use; both are optional to it and several seconds to load. Each one not
    loaded yet is hidden during this one import, in this thread only
    (``cli.imports``); a later ``import torch`` anywhere works as usual.
    """
    if "presidio_analyzer" in sys.modules:
        return
    with hidden_while_importing(_HIDDEN_FROM_PRESIDIO):
        import presidio_analyzer  # noqa: F401


def build_engine():
    """A Presidio engine with our recognizers and the no-op NLP engine (no spaCy model is loaded)."""
    import_presidio()
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.context_aware_enhancers import ContextAwareEnhancer
    from presidio_analyzer.nlp_engine import NoOpNlpEngine
    from presidio_analyzer.predefined_recognizers import IpRecognizer

    from pii.keys import ExtraTokenRecognizer, JwtRecognizer, KeyContextRecognizer, PrivateKeyBlockRecognizer
    from pii.recognizers import DetectSecretsRecognizer, OfflineEmailRecognizer

    class NoContextEnhancer(ContextAwareEnhancer):
        """Context words need NLP tokens, which the no-op engine does not produce: skip the (costly) pass."""

        def __init__(self) -> None:
            super().__init__(0.0, 0.0, 0, 0)

        def enhance_using_context(self, text, raw_results, nlp_artifacts, recognizers, context=None):
            return raw_results

    nlp_engine = NoOpNlpEngine(models=[{"lang_code": "en", "model_name": "none"}])
    nlp_engine.load()
    registry = RecognizerRegistry(supported_languages=["en"])
    for recognizer in (
        OfflineEmailRecognizer(),
        IpRecognizer(),
        DetectSecretsRecognizer(),
        KeyContextRecognizer(),
        JwtRecognizer(),
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
        context_aware_enhancer=NoContextEnhancer(),
    )
    # Warm up: compiles every pattern and loads tldextract's bundled suffix list now, not on the first document.
    engine.analyze(text="a.b@c.com 52.1.2.3 key='AKIAABCDEFGHIJKLMNOP'", language="en")
    return engine


_ENGINE = None
_ENGINE_LOCK = threading.Lock()


def shared_engine():
    """The process's engine, built on first use (Beam builds one judge per thread; they share it)."""
    global _ENGINE
    with _ENGINE_LOCK:
        if _ENGINE is None:
            _ENGINE = build_engine()
        return _ENGINE


class PiiDetector:
    """Emails, IP addresses and keys in one text, guards applied, overlaps resolved."""

    def __init__(self, use_prescan: bool = True) -> None:
        self.use_prescan = use_prescan
        self.engine = shared_engine()
        self._recognizers = {entity: _recognizers_of(self.engine, entity) for entity in _ALL_ENTITIES}
        self._artifacts = self.engine.nlp_engine.process_text("", "en")  # the no-op engine's: always empty

    def _analyze(self, text: str, entity: str) -> list:
        """What ``AnalyzerEngine.analyze(text, entities=[entity], score_threshold=...)`` returns, without
        its per-call overhead (tens of microseconds, paid once per family per file): the engine's
        recognizers for ``entity``, the score threshold, then Presidio's own de-duplication."""
        results = []
        for recognizer in self._recognizers[entity]:
            for result in recognizer.analyze(text=text, entities=[entity], nlp_artifacts=self._artifacts):
                if result.score >= _SCORE_THRESHOLD:
                    results.append(result)
        return _remove_duplicates(results)

    def candidates(self, text: str) -> list[tuple[int, int, str, str]]:
        """Every raw detector hit as ``(start, end, family, source)``, before guards."""
        spans: set[tuple[int, int, str, str]] = set()
        positions = prescan.anchors_by_family(text) if self.use_prescan else {}
        for family in prescan.FAMILIES:
            if self.use_prescan:
                pieces = prescan.windows(text, family, positions[family])
            else:
                pieces = list(prescan.segments(text))
            if not pieces:
                continue
            joined, starts, offsets = _join(pieces)
            for result in self._analyze(joined, _FAMILY_ENTITY[family]):
                index = bisect.bisect_right(starts, result.start) - 1
                piece_end = starts[index] + len(pieces[index][1])
                if result.end <= piece_end:
                    shift = offsets[index] - starts[index]
                    spans.add((result.start + shift, result.end + shift, family, _source(result)))
        if prescan.has_private_key(text, positions[KEY]) if self.use_prescan else "PRIVATE KEY" in text:
            for result in self._analyze(text, PRIVATE_KEY_ENTITY):
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
        replaced = [
            (start, end) for start, end, _, reason in detection.guarded_spans if reason == "replacement"
        ]
        if replaced:  # a piece of a replacement (one line of a redacted key block) is redacted already
            accepted = [f for f in accepted if not any(f.start < e and s < f.end for s, e in replaced)]
        accepted.extend(_other_occurrences(text, accepted))
        detection.findings = _non_overlapping(accepted)
        return detection


def _recognizers_of(engine, entity: str) -> list:
    """The registry's recognizers for ``entity``, as ``RecognizerRegistry.get_recognizers`` selects them.

    Presidio orders them as a set does; no two of ours give one span the same score (which Presidio's
    de-duplication would settle by that order), so the order decides nothing.
    """
    return [
        recognizer
        for recognizer in engine.registry.recognizers
        if entity in recognizer.supported_entities and recognizer.supported_language == "en"
    ]


def _remove_duplicates(results: list) -> list:
    """Presidio's de-duplication; one result (its score is over the threshold, so not zero) stays as is."""
    if len(results) < 2:
        return results
    from presidio_analyzer import EntityRecognizer

    return EntityRecognizer.remove_duplicates(results)


def _join(pieces: list[tuple[int, str]]) -> tuple[str, list[int], list[int]]:
    """The pieces as one text, with each piece's start in it and in the original text."""
    starts, offsets, parts = [], [], []
    position = 0
    for offset, piece in pieces:
        starts.append(position)
        offsets.append(offset)
        parts.append(piece)
        position += len(piece) + len(_SEPARATOR)
    return _SEPARATOR.join(parts), starts, offsets


def _source(result) -> str:
    metadata = result.recognition_metadata or {}
    return metadata.get(SOURCE_KEY) or metadata.get("recognizer_name", "")


def _guard(family: str, value: str, text: str, start: int, end: int, source: str) -> str | None:
    from pii import guards

    if family == EMAIL:
        return guards.email_guard(value, text, start, end)
    if family == IP_ADDRESS:
        return guards.ip_guard(value, text, start, end)
    return key_guards.key_guard(value, text, start, end, source)


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
