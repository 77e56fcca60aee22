"""The stage framework's per-document side, and the one way a stage's work is timed.

A per-document stage declares ``make_judge`` in its ``StageSpec``
(``pipeline.stages.base``); :class:`JudgeStage` runs that judge on a
:class:`~pipeline.batches.Piece`: the batch becomes dicts once, the judge
decides, and the piece goes on as the kept rows with the stage's score columns
(and replaced content) set. Removed documents become ledger rows, changed ones
``modified/`` rows, and the stage's counts are one small record per (language,
kind, reason) and batch. The judge is built once per worker process
(``apache_beam.utils.shared``) and its CPU time is the stage's ``cpu_us``.

Grouping stages' steps are timed the same way through :class:`Timed`, so no
stage measures itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import apache_beam as beam
import numpy as np
import pyarrow as pa
from apache_beam.utils.shared import Shared

from pipeline import stats as stats_mod
from pipeline.batches import CHANGED, DIGEST, RAW, Piece, content_sizes, to_dicts, with_column
from pipeline.outputs import ARROW_TYPES
from pipeline.progress import record
from pipeline.stages.base import KEPT, MODIFIED, REMOVED, Judge, content_bytes, ledger_row, modified_row

COUNTS = "counts"
CPU_US = "cpu_us"  # the counter every stage's CPU time goes to (stats.json: cpu_s)


def report_progress(show: bool, stage: str, docs: int, nbytes: int, removed: int = 0) -> None:
    """Documents and bytes reaching ``stage`` (and how many it removed) for the local progress display."""
    if show:
        record(stage, docs, nbytes, removed)


class Timed(beam.DoFn):
    """``fn(element, *args)`` (an iterable of outputs) with its CPU time added to ``stage``'s ``cpu_us``:
    the steps of grouping stages run through this, so no stage measures itself."""

    def __init__(
        self, stage: str, fn: Callable[..., Iterable[Any]], *args: Any, warm: Callable[[], Any] | None = None
    ):
        self._stage = stage
        self._fn = fn
        self._args = args
        self._warm = warm

    def setup(self) -> None:
        self._cpu_us = beam.metrics.Metrics.counter(self._stage, CPU_US)

    def warm(self) -> None:
        """Load what ``fn`` needs once per process (``warm``, e.g. compiled kernels) ahead of Beam."""
        if self._warm is not None:
            self._warm()

    def process(self, element: Any) -> Iterable[Any]:
        start = time.process_time()
        out = list(self._fn(element, *self._args))
        self._cpu_us.inc(int((time.process_time() - start) * 1e6))
        return out


class _Held:
    """One worker process's judge. ``Shared`` keeps only a weak reference, so the judge sits in a plain object."""

    def __init__(self, judge: Judge):
        self.judge = judge


class JudgeBatches(beam.DoFn):
    """Piece -> kept piece; tagged: ledger rows, modified rows, counts."""

    def __init__(self, stage: str, make_judge: Callable[[], Judge], columns: dict[str, str], progress: bool):
        self._stage = stage
        self._make_judge = make_judge
        self._columns = dict(columns)
        self._progress = progress
        self._shared = Shared()  # made at graph construction: every copy of this DoFn in a process shares it

    def _build(self) -> _Held:
        judge = self._make_judge()
        judge.setup()
        return _Held(judge)

    def setup(self) -> None:
        # Held until Beam drops this DoFn; no teardown clears it: when a run is interrupted, Beam's harness
        # tears DoFns down while a bundle may still be running in another thread, and that bundle's next
        # element then found no judge (an AttributeError logged over the interrupted run's quiet exit).
        self._held = self.warm()
        self._cpu_us = beam.metrics.Metrics.counter(self._stage, CPU_US)

    def warm(self) -> _Held:
        """This process's judge, set up on first call (``pipeline.warm_workers`` calls it ahead of Beam)."""
        return self._shared.acquire(self._build)

    def process(self, piece: Piece) -> Iterator[Any]:
        batch, stage = piece.batch, self._stage
        docs = to_dicts(batch)
        sizes = content_sizes(batch)
        langs = [doc.get("lang") or "unknown" for doc in docs]
        start = time.process_time()
        verdicts = self._held.judge.judge(docs)
        self._cpu_us.inc(int((time.process_time() - start) * 1e6))
        if len(verdicts) != len(docs):
            raise RuntimeError(f"stage {stage}: judge returned {len(verdicts)} verdicts for {len(docs)} docs")
        keep = np.ones(len(docs), dtype=bool)
        replaced = np.zeros(len(docs), dtype=bool)
        scores = {name: batch.column(name).to_pylist() if name in batch.schema.names else [None] * len(docs)
                  for name in self._columns}  # fmt: skip
        removed, reasons, modified = [], [], []
        for row, (doc, verdict) in enumerate(zip(docs, verdicts, strict=True)):
            if verdict.scores:
                doc.update(verdict.scores)
                for name in self._columns.keys() & verdict.scores.keys():
                    scores[name][row] = verdict.scores[name]
            if verdict.content is not None:
                doc["content"] = verdict.content
                replaced[row] = True
                sizes[row] = content_bytes(doc)
            if verdict.modified:
                modified.append(row)
                yield beam.pvalue.TaggedOutput(MODIFIED, modified_row(doc, stage, verdict.modified))
            if not verdict.keep:
                keep[row] = False
                reason = verdict.reason or "removed"
                removed.append(row)
                reasons.append(reason)
                yield beam.pvalue.TaggedOutput(REMOVED, ledger_row(doc, stage, reason, verdict.detail))
        report_progress(self._progress, stage, len(docs), int(sizes.sum()), len(removed))
        kept = np.flatnonzero(keep)
        counts = stats_mod.batch_counts(stage, "out", [langs[r] for r in kept], sizes[kept])
        counts += stats_mod.batch_counts(
            stage, "removed", [langs[r] for r in removed], sizes[removed], reasons
        )
        counts += stats_mod.batch_counts(stage, "modified", [langs[r] for r in modified], [0] * len(modified))
        for pair in counts:
            yield beam.pvalue.TaggedOutput(COUNTS, pair)
        for name, values in scores.items():
            batch = with_column(batch, name, pa.array(values, ARROW_TYPES[self._columns[name]]))
        if replaced.any():
            batch = _replace_content(batch, docs, replaced)
        yield Piece(piece.unit, piece.index, kept_rows(batch, keep))


def kept_rows(batch: pa.RecordBatch, keep: np.ndarray) -> pa.RecordBatch:
    """``batch`` filtered by ``keep``; the batch itself when every row stays (no copy of its content)."""
    return batch if keep.all() else batch.filter(pa.array(keep))


def _replace_content(batch: pa.RecordBatch, docs: list[dict], replaced: np.ndarray) -> pa.RecordBatch:
    """The content column from the (changed) dicts; ``__sc_changed`` marks the rows a stage rewrote (the
    reader's ``__sc_digest`` no longer matches them, so it goes)."""
    if DIGEST in batch.schema.names:
        batch = batch.drop_columns([DIGEST])
    values = [doc["content"] if isinstance(doc["content"], str) else None for doc in docs]
    batch = with_column(batch, "content", pa.array(values, pa.string()))
    if RAW in batch.schema.names:  # a rewritten row's content is text now
        raws = [None if replaced[row] else raw for row, raw in enumerate(batch.column(RAW).to_pylist())]
        batch = with_column(batch, RAW, pa.array(raws, pa.binary()))
    before = batch.column(CHANGED).to_numpy(zero_copy_only=False) if CHANGED in batch.schema.names else False
    return with_column(batch, CHANGED, pa.array(replaced | before))


class JudgeStage(beam.PTransform):
    """A per-document stage over pieces: {kept: pieces, removed: ledger rows, modified: rows, counts: pairs}."""

    def __init__(self, stage: str, make_judge: Callable[[], Judge], columns: dict[str, str], progress: bool):
        super().__init__()
        self._fn = JudgeBatches(stage, make_judge, columns, progress)

    def expand(self, pieces: beam.PCollection) -> dict[str, beam.PCollection]:
        judge = beam.ParDo(self._fn).with_output_types(Piece)
        out = pieces | "Judge" >> judge.with_outputs(REMOVED, MODIFIED, COUNTS, main=KEPT)
        return {KEPT: out[KEPT], REMOVED: out[REMOVED], MODIFIED: out[MODIFIED], COUNTS: out[COUNTS]}
