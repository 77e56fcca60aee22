"""Deterministic sharded parquet data: the same input and config give the same bytes on any runner.

Data (:class:`WriteData`): the kept documents are never shuffled, nor read
twice. Where the last stage judged a piece, its kept rows of each language
are encoded as a small parquet *fragment* in ``_work/fragments/``
(``pipeline.fragments``), on every worker at once; what travels on is one
record per fragment (language, unit, index, path, content bytes). Each
language's shards are contiguous runs of input units (row groups, jsonl
files) in input order, cut so that each shard holds about
``shard_target_mb`` of kept content: N = ceil(kept bytes / target),
computed in the graph from those records. A shard's writer copies its
fragments' row groups in order into one file (``pipeline.parquet_concat``):
no decoding, no encoding, one fragment held at a time, each shard on a
writer of its own, which then removes those fragments (a run's scratch
space stays about its output's size: ``pipeline.fragments.assemble_shard``).
Rows keep their input order; a row group is one piece's rows of one
language. A shard that no unit went to is written (empty) from the plan
alone.

Before, each shard's writer re-read its units from the input, applied the
deltas and encoded the rows: one worker decoding and encoding after every
other step had finished (about 1 s of the 200 MB sample's 12-13 s with two
workers; docs/dataflow.md §4).

Ledger rows are written by ``pipeline.ledger_writer``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

import apache_beam as beam
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.batches import Piece, Unit, content_sizes
from pipeline.fragments import assemble_shard, encode, fragment_path, write_empty
from pipeline.store import join, write_bytes

ARROW_TYPES = {
    "float64": pa.float64(),
    "int64": pa.int64(),
    "bool": pa.bool_(),
    "string": pa.string(),
}


class SumsByKey(beam.CombineFn):
    """(key, number) pairs -> {key: sum}, in one global combine; subclasses turn the sums into what they
    plan. One combine rather than a per-key sum and a list of it: each is a few Beam stages, and a local
    run pays ~25-50 ms of serial time per stage (docs/dataflow.md §4)."""

    def create_accumulator(self) -> dict:
        return {}

    def add_input(self, sums: dict, pair: tuple[Any, int]) -> dict:
        sums[pair[0]] = sums.get(pair[0], 0) + pair[1]
        return sums

    def merge_accumulators(self, accumulators: Iterable[dict]) -> dict:
        merged: dict = {}
        for sums in accumulators:
            for key, value in sums.items():
                merged[key] = merged.get(key, 0) + value
        return merged


FragmentRecord = tuple[tuple[str, Unit], tuple[int, str, int]]  # (lang, unit), (index, fragment, bytes)
ShardPlan = dict[str, tuple[int, dict]]  # lang -> (shard count, unit -> shard)


class _WriteFragments(beam.DoFn):
    """A kept piece -> its fragment of each language, written here; the fragments' records."""

    def __init__(self, scratch: str, schema: pa.Schema):
        self._scratch = scratch
        self._schema = schema

    def process(self, piece: Piece) -> Iterator[FragmentRecord]:
        batch = piece.batch
        langs = batch.column("lang")
        sizes = content_sizes(batch)
        for lang in sorted(set(langs.to_pylist())):
            mask = pc.equal(langs, lang)
            path = fragment_path(self._scratch, lang, piece.unit, piece.index)
            write_bytes(path, encode(batch.filter(mask), self._schema))
            weight = int(sizes[mask.to_numpy(zero_copy_only=False)].sum())
            yield (lang, piece.unit), (piece.index, path, weight)


def shard_plan(totals: list[tuple[tuple[str, Unit], int]], target: int) -> ShardPlan:
    """lang -> (shard count, unit -> shard): contiguous runs of units in input order, about ``target``
    content bytes each, ceil(total / target) of them (a unit is never split, so a shard may be empty)."""
    by_lang: dict[str, list[tuple[Unit, int]]] = defaultdict(list)
    for (lang, unit), weight in totals:
        by_lang[lang].append((unit, weight))
    plan = {}
    for lang, units in sorted(by_lang.items()):
        units.sort()
        total = sum(w for _, w in units)
        count = max(1, math.ceil(total / target))
        shards, before = {}, 0
        for unit, weight in units:
            shards[unit] = min(count - 1, before * count // total) if total else 0
            before += weight
        plan[lang] = (count, shards)
    return plan


class _PlanShards(SumsByKey):
    """((lang, unit), content bytes) pairs -> the :func:`shard_plan` (the same whatever their order)."""

    def __init__(self, target: int):
        self._target = target

    def extract_output(self, sizes: dict[tuple[str, Unit], int]) -> ShardPlan:
        return shard_plan(sorted(sizes.items()), self._target)


def shard_path(root: str, lang: str, prefix: str, shard: int, count: int) -> str:
    return join(root, lang, f"{prefix}-{shard:05d}-of-{count:05d}.parquet")


def _assign(record: FragmentRecord, plan: ShardPlan) -> tuple[tuple[str, int], tuple[Unit, int, str]]:
    """A fragment's record keyed by its shard: ((lang, shard), (unit, index, fragment))."""
    (lang, unit), (index, path, _) = record
    return (lang, plan[lang][1][unit]), (unit, index, path)


class _WriteShard(beam.DoFn):
    """((lang, shard), its fragments) -> the shard file, their row groups in (unit, index) order."""

    def __init__(self, root: str, prefix: str):
        self._root = root
        self._prefix = prefix

    def process(self, item: tuple[tuple[str, int], Iterable[tuple]], plan: ShardPlan) -> Iterator[str]:
        (lang, shard), fragments = item
        path = shard_path(self._root, lang, self._prefix, shard, plan[lang][0])
        assemble_shard(path, [fragment for _, _, fragment in sorted(fragments)])
        yield path


def _write_empty_shards(plan: ShardPlan, root: str, schema: pa.Schema, prefix: str) -> Iterator[str]:
    """The shards no unit went to (a language's units fewer or larger than its shard count): files with no
    row group, so a language always has all N of its ``-of-N`` files. A shard with a unit gets fragments
    (the plan is made of their records), so the writers never see an empty one, and these need no shuffle."""
    for lang, (count, shards) in sorted(plan.items()):
        for shard in sorted(set(range(count)) - set(shards.values())):
            path = shard_path(root, lang, prefix, shard, count)
            write_empty(path, schema)
            yield path


class WriteData(beam.PTransform):
    """Kept pieces -> ``root/<lang>/<prefix>-00000-of-000NN.parquet`` without shuffling their documents;
    the fragments go to ``scratch`` and each shard's writer removes its own (the run removes the folder)."""

    def __init__(self, root: str, schema: pa.Schema, target_bytes: int, scratch: str, prefix: str = "train"):
        super().__init__()
        self._root = root
        self._schema = schema
        self._target = max(1, int(target_bytes))
        self._scratch = scratch
        self._prefix = prefix

    def expand(self, pieces: beam.PCollection) -> beam.PCollection:
        records = pieces | "Fragments" >> beam.ParDo(_WriteFragments(self._scratch, self._schema))
        plan = (
            records
            | "Weigh" >> beam.MapTuple(lambda key, value: (key, value[2]))
            | "Plan" >> beam.CombineGlobally(_PlanShards(self._target)).without_defaults()
        )
        # No Flatten of empty shards' markers with the records: a local runner runs a Flatten that feeds a
        # GroupByKey as a stage of its own (one more pass over the records)
        _ = plan | "EmptyShards" >> beam.FlatMap(_write_empty_shards, self._root, self._schema, self._prefix)
        planned = beam.pvalue.AsSingleton(plan, default_value={})  # no record: no shard, nothing to write
        return (
            records
            | "Assign" >> beam.Map(_assign, plan=planned)
            | "ByShard" >> beam.GroupByKey()
            | "Write" >> beam.ParDo(_WriteShard(self._root, self._prefix), plan=planned)
        )


def data_schema(input_schema: pa.Schema, stage_columns: dict[str, str]) -> pa.Schema:
    """The schema of ``data/``: input columns, then each enabled stage's score columns."""
    fields = list(input_schema)
    names = set(input_schema.names)
    for name, type_name in stage_columns.items():
        if name not in names:
            fields.append(pa.field(name, ARROW_TYPES[type_name]))
            names.add(name)
    return pa.schema(fields)
