"""Deterministic sharded parquet data: the same input and config give the same bytes on any runner.

Data (:class:`WriteData`): the kept documents are never shuffled. Each
language's shards are contiguous runs of input units (row groups, jsonl
files) in input order, cut so that each shard holds about
``shard_target_mb`` of kept content: N = ceil(kept bytes / target), the same
count as before, computed in the graph from small per-unit sizes. The
writer of a shard receives only the deltas of its units (row positions,
added columns), re-reads the units in order and streams row groups with
``pyarrow.parquet.ParquetWriter`` onto the ``FileSystems`` handle, so it
never holds a whole shard. Rows keep their input order. The shards that reach
one bundle share their reads (a unit whose rows go to several languages'
shards is read once for all of them), and shards that share units are keyed
to one writer while together they hold at most ``GROUP_BYTES`` of content
(:func:`write_groups`): with two workers and the sample's mixed-language
units, each worker read every unit before (0.7-0.9 CPU-s more at 200 MB).
A shard that no unit went to is written (empty) from the plan alone.

Ledger rows are written by ``pipeline.ledger_writer``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import apache_beam as beam
import pyarrow as pa
import pyarrow.compute as pc
from apache_beam.transforms.window import GlobalWindows
from apache_beam.utils.windowed_value import WindowedValue

from pipeline.batches import ROW, Piece, Unit, apply_delta, content_sizes, delta_of
from pipeline.read_ahead import read_units_ahead
from pipeline.shard_writer import RowGroupEncoder, ShardWriter
from pipeline.store import join

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


PENDING_BYTES = 64_000_000  # deltas of the shards written together (one read of each unit for all of them)
# Shards whose units overlap (input that mixes languages in a unit) are written by one writer, each unit read
# once, while together they hold at most this much content; past it they are written apart, in parallel.
GROUP_BYTES = 512_000_000
WriteRecord = tuple[
    tuple[str, Unit], tuple[int, bytes, bytes, int]
]  # (lang, unit), (index, rows, carried, bytes)


def write_records(piece: Piece, schema: pa.Schema) -> Iterator[WriteRecord]:
    """What the data writer needs of a piece, per language: its delta and its content bytes."""
    batch = piece.batch
    langs = batch.column("lang")
    sizes = content_sizes(batch)
    for lang in sorted(set(langs.to_pylist())):
        mask = pc.equal(langs, lang)
        rows, carried = delta_of(batch.filter(mask), schema)
        weight = int(sizes[mask.to_numpy(zero_copy_only=False)].sum())
        yield (lang, piece.unit), (piece.index, rows, carried, weight)


def shard_plan(totals: list[tuple[tuple[str, Unit], int]], target: int) -> dict[str, tuple[int, dict]]:
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


@dataclass(frozen=True)
class WritePlan:
    """The data writer's plan: ``shards`` from :func:`shard_plan`; ``groups``: (lang, shard) -> the writer
    (a GroupByKey key) that writes it, from :func:`write_groups`."""

    shards: dict[str, tuple[int, dict]]
    groups: dict[tuple[str, int], int]


def write_plan(totals: list[tuple[tuple[str, Unit], int]], target: int) -> WritePlan:
    plan = shard_plan(totals, target)
    return WritePlan(plan, write_groups(totals, plan, GROUP_BYTES))


NO_DATA = WritePlan({}, {})


class _PlanShards(SumsByKey):
    """((lang, unit), content bytes) pairs -> the :class:`WritePlan` (the same whatever their order)."""

    def __init__(self, target: int):
        self._target = target

    def extract_output(self, sizes: dict[tuple[str, Unit], int]) -> WritePlan:
        return write_plan(sorted(sizes.items()), self._target)


def write_groups(
    totals: list[tuple[tuple[str, Unit], int]], plan: dict[str, tuple[int, dict]], limit: int
) -> dict[tuple[str, int], int]:
    """(lang, shard) -> group: shards that share a unit go to one group (one writer reads the unit once for
    all of them, where separate writers would each read it whole) while the group holds at most ``limit``
    content bytes. Shards of one-language units share none and stay apart, each on its own writer."""
    weight: dict[tuple[str, int], int] = defaultdict(int)
    holders: dict[Unit, list[tuple[str, int]]] = defaultdict(list)
    for (lang, unit), size in sorted(totals):
        shard = (lang, plan[lang][1][unit])
        weight[shard] += size
        holders[unit].append(shard)
    every = [(lang, shard) for lang, (count, _) in sorted(plan.items()) for shard in range(count)]
    parent = {shard: shard for shard in every}

    def root(shard: tuple[str, int]) -> tuple[str, int]:
        while parent[shard] != shard:
            shard = parent[shard]
        return shard

    group_weight = {shard: weight[shard] for shard in every}
    for unit in sorted(holders):
        for other in holders[unit][1:]:
            a, b = root(holders[unit][0]), root(other)
            if a != b and group_weight[a] + group_weight[b] <= limit:
                a, b = min(a, b), max(a, b)
                parent[b] = a
                group_weight[a] += group_weight[b]
    number = {shard: n for n, shard in enumerate(every)}
    return {shard: number[root(shard)] for shard in every}


class _WriteShard(beam.DoFn):
    """((lang, shard), deltas of its units) -> the shard file, from the units re-read in order.

    The shards that reach one bundle are written together (up to ``PENDING_BYTES`` of their deltas at a
    time): each unit is read once for all of them, in unit order, and each shard's writer gets its
    batches in the same order as if written alone, so the files are the same bytes. Input whose units mix
    languages is then read once, not once per language. At most one shard per language is open at a
    time (a language's shards are disjoint runs of units). The units are decoded a few batches ahead on
    a thread (``pipeline.read_ahead``) while row groups are encoded on another (:class:`RowGroupEncoder`).
    """

    def __init__(self, root: str, input_schema: pa.Schema, schema: pa.Schema, prefix: str):
        self._root = root
        self._input_schema = input_schema
        self._schema = schema
        self._prefix = prefix

    def start_bundle(self) -> None:
        self._pending: list[tuple[str, dict[Unit, dict[int, list]]]] = []
        self._pending_bytes = 0

    def process(self, item: tuple[int, Iterable[tuple]], plan: WritePlan) -> Iterator[str]:
        # a group's shards: (lang, shard, unit, index, rows, carried) records
        _, values = item
        shards: dict[tuple[str, int], dict[Unit, dict[int, list]]] = {}
        for lang, shard, unit, index, rows, carried in values:
            wanted = shards.setdefault((lang, shard), defaultdict(lambda: defaultdict(list)))
            wanted[unit][index].append((rows, carried))
            self._pending_bytes += len(rows) + len(carried)
        for (lang, shard), wanted in sorted(shards.items()):
            count = plan.shards[lang][0]
            self._pending.append((shard_path(self._root, lang, self._prefix, shard, count), wanted))
        if self._pending_bytes >= PENDING_BYTES:
            yield from self._write_pending()

    def finish_bundle(self) -> Iterator[WindowedValue]:
        for path in self._write_pending():
            yield GlobalWindows.windowed_value(path)

    def _write_pending(self) -> Iterator[str]:
        shards, self._pending, self._pending_bytes = self._pending, [], 0
        encoder = RowGroupEncoder()
        try:
            yield from self._write_shards(shards, encoder)
        finally:
            encoder.close()

    def _write_shards(self, shards: list[tuple[str, dict]], encoder: RowGroupEncoder) -> Iterator[str]:
        last = {number: max(wanted) for number, (_, wanted) in enumerate(shards)}
        writers: dict[int, ShardWriter] = {}
        units = sorted({unit for _, wanted in shards for unit in wanted})
        takers = {
            unit: [number for number, (_, wanted) in enumerate(shards) if unit in wanted] for unit in units
        }
        for unit, index, batch in read_units_ahead(units, self._input_schema):
            for number in takers[unit]:
                if number not in writers:
                    writers[number] = ShardWriter(shards[number][0], self._schema, encoder)
            if batch is None:  # the unit's last batch was written: close the shards that end with it
                for number in takers[unit]:
                    if last[number] == unit:
                        writers.pop(number).close()
                        yield shards[number][0]
                continue
            for number in takers[unit]:
                deltas = shards[number][1][unit].get(index)
                if deltas:
                    writers[number].write(_applied(batch, deltas))


def _applied(batch: pa.RecordBatch, deltas: list[tuple[bytes, bytes]]) -> pa.RecordBatch:
    """A re-read batch with its deltas applied (several only when rows came back one by one: in row order)."""
    if len(deltas) == 1:
        return apply_delta(batch, *deltas[0])
    merged = pa.concat_batches([apply_delta(batch, *delta) for delta in deltas])
    return merged.take(pc.sort_indices(merged.column(ROW)))


def _assign(record: WriteRecord, plan: WritePlan) -> tuple[int, tuple]:
    """A write record keyed by its shard's group: (group, (lang, shard, unit, index, rows, carried))."""
    (lang, unit), (index, rows, carried, _) = record
    shard = plan.shards[lang][1][unit]
    return plan.groups[(lang, shard)], (lang, shard, unit, index, rows, carried)


def _write_empty_shards(plan: WritePlan, root: str, schema: pa.Schema, prefix: str) -> Iterator[str]:
    """The shards no unit went to (a language's units fewer or larger than its shard count): files with no
    row group, so a language always has all N of its ``-of-N`` files. A shard with a unit gets its records
    (the plan is made of them), so the writers never see an empty one, and these need no shuffle."""
    encoder = RowGroupEncoder()
    try:
        for lang, (count, shards) in sorted(plan.shards.items()):
            for shard in sorted(set(range(count)) - set(shards.values())):
                path = shard_path(root, lang, prefix, shard, count)
                ShardWriter(path, schema, encoder).close()
                yield path
    finally:
        encoder.close()


def shard_path(root: str, lang: str, prefix: str, shard: int, count: int) -> str:
    return join(root, lang, f"{prefix}-{shard:05d}-of-{count:05d}.parquet")


class WriteData(beam.PTransform):
    """Kept pieces -> ``root/<lang>/<prefix>-00000-of-000NN.parquet`` without shuffling their documents."""

    def __init__(
        self,
        root: str,
        input_schema: pa.Schema,
        schema: pa.Schema,
        target_bytes: int,
        prefix: str = "train",
    ):
        super().__init__()
        self._root = root
        self._input_schema = input_schema
        self._schema = schema
        self._target = max(1, int(target_bytes))
        self._prefix = prefix

    def expand(self, pieces: beam.PCollection) -> beam.PCollection:
        records = pieces | "Parts" >> beam.FlatMap(write_records, self._input_schema)
        plan = (
            records
            | "Weigh" >> beam.MapTuple(lambda key, value: (key, value[3]))
            | "Plan" >> beam.CombineGlobally(_PlanShards(self._target)).without_defaults()
        )
        # No Flatten of empty shards' markers with the records: a local runner runs a Flatten that feeds a
        # GroupByKey as a stage of its own (one more pass over the records; 0.16-0.24 s at 200 MB, two workers)
        _ = plan | "EmptyShards" >> beam.FlatMap(_write_empty_shards, self._root, self._schema, self._prefix)
        planned = beam.pvalue.AsSingleton(
            plan, default_value=NO_DATA
        )  # no record: no shard, nothing to write
        return (
            records
            | "Assign" >> beam.Map(_assign, plan=planned)
            | "ByShard" >> beam.GroupByKey()
            | "Write"
            >> beam.ParDo(
                _WriteShard(self._root, self._input_schema, self._schema, self._prefix),
                plan=planned,
            )
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
