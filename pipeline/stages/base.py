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
from apache_beam.utils.shared import Shared
from pydantic import BaseModel, ConfigDict

KEPT = "kept"
REMOVED = "removed"
MODIFIED = "modified"

LEDGER_COLUMNS = ("id", "repo", "path", "lang", "size", "stage", "reason", "detail")
MODIFIED_COLUMNS = ("id", "repo", "path", "lang", "stage", "counts")


class ConfigError(ValueError):
    """A configuration problem the user must fix, with the offending key or option in the message
    (the command line prints it as one line, exit 2). Re-exported by ``pipeline.config``."""


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
    """A per-document core.

    ``setup`` runs once per worker process; ``judge`` is then called from every
    thread of that process at once, so it must be thread-safe (state that is
    not, such as tree-sitter parsers, goes per thread or behind a lock).
    """

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


class _Held:
    """One worker process's judge. ``Shared`` keeps only a weak reference, so the judge sits in a plain object."""

    def __init__(self, judge: Judge):
        self.judge = judge


class _JudgeFn(beam.DoFn):
    """Runners make one DoFn instance per thread (Dataflow: per thread of each SDK process); the judge
    behind them is built once per process through ``Shared`` and called from all those threads."""

    def __init__(self, stage: str, make_judge: Callable[[], Judge]):
        self._stage = stage
        self._make_judge = make_judge
        # The key is made here, at graph construction, so every unpickled copy of this DoFn shares it.
        self._shared = Shared()
        self._counters: dict[str, Any] = {}

    def _build(self) -> _Held:
        judge = self._make_judge()
        judge.setup()
        return _Held(judge)

    def setup(self) -> None:
        self._held = self._shared.acquire(self._build)  # this strong reference keeps it alive
        self._judge = self._held.judge
        self._cpu_us = beam.metrics.Metrics.counter(self._stage, "cpu_us")

    def teardown(self) -> None:
        self._held = self._judge = None

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

    ``make_judge`` must be picklable (a class or ``functools.partial``) and small: it
    is pickled into the job and unpickled in every worker thread. It is called, and
    the judge's ``setup`` run, once per worker process (``apache_beam.utils.shared``),
    where heavy state is built; the judge then serves all threads of the process.
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


_LOCAL_RUNNERS = frozenset(
    {"DirectRunner", "FnApiRunner", "BundleBasedDirectRunner", "SwitchingDirectRunner", "PrismRunner"}
)


def workers_run_here(pipeline: beam.Pipeline) -> bool:
    """Whether the runner's workers read this machine's files: local runners, and Flink / Spark on a local
    master with workers in this process or on this host (LOOPBACK, PROCESS, EXTERNAL on localhost).

    Stages that can only point workers at a path (the score model) check this at graph construction.
    """
    from apache_beam.options.pipeline_options import (
        FlinkRunnerOptions,
        PortableOptions,
        SparkRunnerOptions,
        StandardOptions,
    )

    options = pipeline.options
    name = str(options.view_as(StandardOptions).runner or type(pipeline.runner).__name__).rsplit(".", 1)[-1]
    if name in _LOCAL_RUNNERS:
        return True
    portable = options.view_as(PortableOptions)
    master_here = (
        name == "FlinkRunner" and options.view_as(FlinkRunnerOptions).flink_master in ("[auto]", "[local]")
    ) or (name == "SparkRunner" and options.view_as(SparkRunnerOptions).spark_master_url.startswith("local"))
    env = (portable.environment_type or "LOOPBACK").upper()
    config = portable.environment_config or ""
    on_host = env in ("LOOPBACK", "PROCESS") or (
        env == "EXTERNAL" and config.startswith(("localhost:", "127.0.0.1:"))
    )
    return master_here and on_host


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
