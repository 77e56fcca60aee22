"""Beam wrapper of exact dedup (``dedup.exact``).

The winner of each content hash is found by combining small (rank, id)
tuples, then the documents are streamed past it: a hash shared by a hundred
thousand files never needs them all in memory at once.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

import apache_beam as beam

from dedup.exact import SmallestAndCount, content_key, full_rank
from pipeline.stages.base import KEPT, REMOVED, StageConfig, StageContext, StageSpec, ledger_row


class ExactDedupConfig(StageConfig):
    pass


class _Split(beam.DoFn):
    def setup(self) -> None:
        self._cpu_us = beam.metrics.Metrics.counter("exact_dedup", "cpu_us")
        self._removed = beam.metrics.Metrics.counter("exact_dedup", "removed_exact_duplicate")

    def process(self, item: tuple[str, dict]) -> Iterable:
        start = time.process_time()
        _, grouped = item
        ((winner, size),) = grouped["winner"]
        kept_emitted = False
        for doc in grouped["docs"]:
            if not kept_emitted and full_rank(doc) == winner:
                kept_emitted = True
                yield doc
                continue
            self._removed.inc()
            detail = {"duplicate_of": winner[1], "group_size": size}
            yield beam.pvalue.TaggedOutput(REMOVED, ledger_row(doc, "exact_dedup", "exact_duplicate", detail))
        self._cpu_us.inc(int((time.process_time() - start) * 1e6))


class ExactDedup(beam.PTransform):
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


SPEC = StageSpec(name="exact_dedup", config=ExactDedupConfig, build=build)
