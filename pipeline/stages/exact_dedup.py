"""Beam wrappers of exact dedup (``dedup.exact``): keep one document per content hash.

In the batch pipeline only small records are grouped: (content hash -> keep
rank, position). Per hash the smallest rank wins and every other member
becomes a verdict for ``pipeline.rejoin``; the group's values are read twice
(Beam's grouped values are re-iterable), so a hash shared by a hundred
thousand files is streamed, never held. The rank is the keep rule (most
stars, then smallest id) made total by the rest of the row and, last, the
position, so identical rows are decided the same way on every runner.

:class:`ExactDedup` is the same decision for a pipeline of dicts.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator

import apache_beam as beam

from dedup.exact import SmallestAndCount, content_key, full_rank
from pipeline.batches import ROW, Piece, content_sizes, to_dicts
from pipeline.judging import report_progress
from pipeline.rejoin import verdict_record
from pipeline.stages.base import KEPT, REMOVED, StageConfig, StageContext, StageSpec, ledger_row

STAGE = "exact_dedup"
REASON = "exact_duplicate"


class ExactDedupConfig(StageConfig):
    pass


class _Ranks(beam.DoFn):
    """Piece -> (content hash, (keep rank..., position)) per document."""

    def __init__(self, progress: bool):
        self._progress = progress

    def setup(self) -> None:
        self._cpu_us = beam.metrics.Metrics.counter(STAGE, "cpu_us")

    def process(self, piece: Piece) -> Iterator[tuple[str, tuple]]:
        start = time.process_time()
        batch = piece.batch
        report_progress(
            self._progress, STAGE, batch.num_rows, int(content_sizes(batch).sum()) if self._progress else 0
        )
        rows = batch.column(ROW).to_pylist()
        out = [
            (content_key(doc["content"]), (*full_rank(doc), (piece.unit, piece.index, row)))
            for doc, row in zip(to_dicts(batch), rows, strict=True)
        ]
        self._cpu_us.inc(int((time.process_time() - start) * 1e6))
        return out


class _Losers(beam.DoFn):
    """(content hash, ranks) -> a verdict for every member but the smallest rank."""

    def setup(self) -> None:
        self._cpu_us = beam.metrics.Metrics.counter(STAGE, "cpu_us")

    def process(self, item: tuple[str, Iterable[tuple]]) -> Iterator[tuple]:
        start = time.process_time()
        _, ranks = item
        best, size = None, 0
        for rank in ranks:
            size += 1
            if best is None or rank < best:
                best = rank
        detail = {"duplicate_of": best[1], "group_size": size}
        out = [verdict_record(rank[-1], REASON, detail) for rank in ranks if rank != best] if size > 1 else []
        self._cpu_us.inc(int((time.process_time() - start) * 1e6))
        return out


class ExactVerdicts(beam.PTransform):
    """Pieces -> verdict records of the exact duplicates to remove."""

    def __init__(self, progress: bool = False):
        super().__init__()
        self._progress = progress

    def expand(self, pieces: beam.PCollection) -> beam.PCollection:
        return (
            pieces
            | "Ranks" >> beam.ParDo(_Ranks(self._progress))
            | "ByContent" >> beam.GroupByKey()
            | "Losers" >> beam.ParDo(_Losers())
        )


def batch_verdicts(cfg: ExactDedupConfig, ctx: StageContext, progress: bool) -> beam.PTransform:
    return ExactVerdicts(progress)


class _Split(beam.DoFn):
    def process(self, item: tuple[str, dict]) -> Iterable:
        _, grouped = item
        ((winner, size),) = grouped["winner"]
        kept_emitted = False
        for doc in grouped["docs"]:
            if not kept_emitted and full_rank(doc) == winner:
                kept_emitted = True
                yield doc
                continue
            detail = {"duplicate_of": winner[1], "group_size": size}
            yield beam.pvalue.TaggedOutput(REMOVED, ledger_row(doc, STAGE, REASON, detail))


class ExactDedup(beam.PTransform):
    """Dicts -> {kept, removed}: the winner of each hash from small rank tuples, then the documents
    streamed past it (for pipelines of dicts; the batch pipeline uses :class:`ExactVerdicts`)."""

    def expand(self, docs: beam.PCollection) -> dict[str, beam.PCollection]:
        keyed = docs | "KeyByContent" >> beam.Map(lambda d: (content_key(d["content"]), d))
        winners = (
            keyed
            | "Rank" >> beam.Map(lambda kv: (kv[0], full_rank(kv[1])))
            | "Winner" >> beam.CombinePerKey(SmallestAndCount())
        )
        out = (
            {"docs": keyed, "winner": winners}
            | "Join" >> beam.CoGroupByKey()
            | "Split" >> beam.ParDo(_Split()).with_outputs(REMOVED, main=KEPT)
        )
        return {KEPT: out[KEPT], REMOVED: out[REMOVED]}


def build(cfg: ExactDedupConfig, ctx: StageContext) -> ExactDedup:
    return ExactDedup()


SPEC = StageSpec(name=STAGE, config=ExactDedupConfig, build=build)
