"""The one way to declare a stage.

A stage is a pure core (no Beam) plus a thin Beam wrapper. Every stage's Beam
wrapper is a ``PTransform`` that takes a PCollection of documents (plain dicts
in The Stack schema plus ``id`` and ``lang``) and returns a dict of
PCollections:

* ``"kept"``: the documents that go on to the next stage (possibly with new
  score columns or new content);
* ``"removed"``: one ledger row per removed document (see :func:`ledger_row`);
* ``"modified"`` (optional): one row per changed document (see
  :func:`modified_row`).

Per-document stages only write a judge (``setup`` + ``judge``) and wrap it
with :class:`JudgeDocs`; stages that need grouping (dedup) write their own
``PTransform`` and use :func:`ledger_row` for the ledger.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import apache_beam as beam
from pydantic import BaseModel, ConfigDict

KEPT = "kept"
REMOVED = "removed"
MODIFIED = "modified"

LEDGER_COLUMNS = ("id", "repo", "path", "lang", "size", "stage", "reason", "detail")
MODIFIED_COLUMNS = ("id", "repo", "path", "lang", "stage", "counts")


class StageConfig(BaseModel):
    """Base of every stage's config section: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = False


@dataclass(frozen=True)
class StageContext:
    """Run-wide settings a stage may need (paths given on the command line)."""

    benchmarks_dir: str | None = None
    optout_list: str | None = None
    tokenizer: str | None = None
    temp_dir: str | None = None


@dataclass
class Verdict:
    """What a per-document judge says about one document.

    ``scores`` are set as columns on the document whether it is kept or not
    (so thresholds can be re-decided later); ``content`` replaces the content
    (redaction); ``modified`` holds counts for the ``modified/`` ledger.
    """

    keep: bool = True
    reason: str | None = None
    detail: dict[str, Any] | None = None
    scores: dict[str, Any] = field(default_factory=dict)
    content: str | None = None
    modified: dict[str, int] | None = None


class Judge(Protocol):
    """A per-document core. ``setup`` runs once per worker."""

    def setup(self) -> None: ...

    def judge(self, docs: Sequence[dict]) -> list[Verdict]: ...


def content_bytes(doc: dict) -> int:
    content = doc.get("content")
    if isinstance(content, bytes):
        return len(content)
    return len(content.encode("utf-8", "surrogatepass")) if isinstance(content, str) else 0


def _text(value: Any) -> str | None:
    """Ledger text that always encodes (undecodable input names stay readable, with U+FFFD)."""
    if value is None:
        return None
    return str(value).encode("utf-8", "replace").decode("utf-8")


def ledger_row(doc: dict, stage: str, reason: str, detail: dict[str, Any] | None = None) -> dict:
    """One row of ``removed/<stage>/``: enough to audit the decision."""
    return {
        "id": doc["id"],
        "repo": _text(doc.get("max_stars_repo_name")),
        "path": _text(doc.get("max_stars_repo_path")),
        "lang": doc.get("lang"),
        "size": content_bytes(doc),
        "stage": stage,
        "reason": reason,
        "detail": json.dumps(detail or {}, sort_keys=True),
    }


def modified_row(doc: dict, stage: str, counts: dict[str, int]) -> dict:
    """One row of ``modified/<stage>/``: counts only, never the changed values."""
    return {
        "id": doc["id"],
        "repo": _text(doc.get("max_stars_repo_name")),
        "path": _text(doc.get("max_stars_repo_path")),
        "lang": doc.get("lang"),
        "stage": stage,
        "counts": json.dumps(counts, sort_keys=True),
    }


class _JudgeFn(beam.DoFn):
    def __init__(self, stage: str, make_judge: Callable[[], Judge]):
        self._stage = stage
        self._make_judge = make_judge
        self._counters: dict[str, Any] = {}

    def setup(self) -> None:
        self._judge = self._make_judge()
        self._judge.setup()
        self._cpu_us = beam.metrics.Metrics.counter(self._stage, "cpu_us")

    def _count(self, name: str) -> None:
        counter = self._counters.get(name)
        if counter is None:
            counter = self._counters[name] = beam.metrics.Metrics.counter(self._stage, name)
        counter.inc()

    def process(self, batch: list[dict]) -> Iterable[Any]:
        start = time.process_time()
        verdicts = self._judge.judge(batch)
        self._cpu_us.inc(int((time.process_time() - start) * 1e6))
        if len(verdicts) != len(batch):
            raise RuntimeError(
                f"stage {self._stage}: judge returned {len(verdicts)} verdicts for {len(batch)} docs"
            )
        for doc, verdict in zip(batch, verdicts, strict=True):
            doc = dict(doc)
            doc.update(verdict.scores)
            if verdict.content is not None:
                doc["content"] = verdict.content
            if verdict.modified:
                self._count("modified")
                yield beam.pvalue.TaggedOutput(MODIFIED, modified_row(doc, self._stage, verdict.modified))
            if verdict.keep:
                self._count("kept")
                yield doc
            else:
                reason = verdict.reason or "removed"
                self._count(f"removed_{reason}")
                yield beam.pvalue.TaggedOutput(REMOVED, ledger_row(doc, self._stage, reason, verdict.detail))


class JudgeDocs(beam.PTransform):
    """Beam wrapper for a per-document judge: batches, judges, splits kept / removed / modified.

    ``make_judge`` must be picklable (a class or ``functools.partial``); it is
    called once per worker in ``DoFn.setup``, where heavy state is built.
    """

    def __init__(self, stage: str, make_judge: Callable[[], Judge], batch_size: int = 64):
        super().__init__(label=f"Judge_{stage}")
        self._stage = stage
        self._make_judge = make_judge
        self._batch_size = batch_size

    def expand(self, docs: beam.PCollection) -> dict[str, beam.PCollection]:
        outputs = (
            docs
            | "Batch" >> beam.BatchElements(min_batch_size=1, max_batch_size=self._batch_size)
            | "Judge"
            >> beam.ParDo(_JudgeFn(self._stage, self._make_judge)).with_outputs(REMOVED, MODIFIED, main=KEPT)
        )
        return {KEPT: outputs[KEPT], REMOVED: outputs[REMOVED], MODIFIED: outputs[MODIFIED]}


@dataclass(frozen=True)
class StageSpec:
    """How the pipeline finds a stage: its config model, its builder and the columns it adds.

    ``columns`` maps each score column the stage writes onto kept documents to
    its pyarrow type name ("float64", "int64", "bool", "string"), so every
    output shard has the same schema.
    """

    name: str
    config: type[StageConfig]
    build: Callable[[Any, StageContext], beam.PTransform]
    columns: dict[str, str] = field(default_factory=dict)
