"""The ledger's files: ``removed/<stage>/`` and ``modified/<stage>/``, deterministic on any runner.

Ledger rows (:class:`WriteSharded`, small records; removed and modified rows
through one writer) are grouped by (folder and stage, shard): the shard from
the id's hash, the count from the row count, sorted by id inside the shard.
Empty shards are still written, so ``-of-NNNNN`` names are always complete.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Callable, Iterable, Iterator

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.outputs import SumsByKey
from pipeline.stages.base import LEDGER_COLUMNS, MODIFIED_COLUMNS
from pipeline.store import join, write_bytes

# The ledger's columns are named once (pipeline.stages.base); every one is text but a removed file's size.
LEDGER_SCHEMA = pa.schema([(name, pa.int64() if name == "size" else pa.string()) for name in LEDGER_COLUMNS])
MODIFIED_SCHEMA = pa.schema([(name, pa.string()) for name in MODIFIED_COLUMNS])


def _tiebreak(row: dict) -> str:
    return json.dumps({k: v for k, v in row.items() if k != "content"}, sort_keys=True, default=str)


def write_parquet(path: str, rows: list[dict], schema: pa.Schema) -> None:
    """Write rows (sorted by the caller) with fixed writer settings, so bytes are reproducible."""
    try:
        table = pa.Table.from_pylist(rows, schema=schema)
    except (pa.ArrowException, TypeError) as exc:
        raise ValueError(f"{path}: rows do not fit the output schema: {exc}") from exc
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd", row_group_size=20_000, use_dictionary=True)
    write_bytes(path, buffer.getvalue())


class WriteSharded(beam.PTransform):
    """(group, row) -> ``root/<group>/<prefix>-00000-of-000NN.parquet``, shard count from the group's weight.

    A group is a folder path (``removed/<stage>``); its rows are written with the schema its first part
    names in ``schemas``, so one writer (one set of Beam stages) serves every ledger folder. A
    ``(group, None)`` entry is no row: it asks for the group's files even when no row reaches it (at least
    one, possibly empty), so that e.g. every enabled stage has a ledger folder.
    """

    def __init__(
        self,
        root: str,
        schemas: dict[str, pa.Schema],
        weight_of: Callable[[dict], int],
        target_weight: int,
        prefix: str,
    ):
        super().__init__()
        self._root = root
        self._schemas = dict(schemas)
        self._weight_of = weight_of
        self._target = max(1, int(target_weight))
        self._prefix = prefix

    def expand(self, keyed: beam.PCollection) -> beam.PCollection:
        weight_of = self._weight_of
        weights = keyed | "Weigh" >> beam.Map(lambda kv: (kv[0], 0 if kv[1] is None else weight_of(kv[1])))
        counts = weights | "Shards" >> beam.CombineGlobally(_ShardCounts(self._target)).without_defaults()
        shard_counts = beam.pvalue.AsSingleton(counts, default_value={})  # {}: no group, nothing to write

        def assign(
            kv: tuple[str, dict | None], counts: dict[str, int]
        ) -> Iterator[tuple[tuple[str, int], dict]]:
            group, row = kv
            if row is not None:
                yield (group, int(row["id"][:15], 16) % counts[group]), row

        sharded = keyed | "Assign" >> beam.FlatMap(assign, counts=shard_counts)
        markers = counts | "Markers" >> beam.FlatMap(
            lambda counts: [((group, i), None) for group, count in counts.items() for i in range(count)]
        )
        root, schemas, prefix = self._root, self._schemas, self._prefix

        def write(item: tuple[tuple[str, int], Iterable[dict | None]], counts: dict[str, int]) -> str:
            (group, shard), values = item
            batch = sorted((r for r in values if r is not None), key=lambda r: (r["id"], _tiebreak(r)))
            path = join(root, group, f"{prefix}-{shard:05d}-of-{counts[group]:05d}.parquet")
            write_parquet(path, batch, schemas[group.split("/", 1)[0]])
            return path

        return (
            (sharded, markers)
            | "WithMarkers" >> beam.Flatten()
            | "Group" >> beam.GroupByKey()
            | "Write" >> beam.Map(write, counts=shard_counts)
        )


class _ShardCounts(SumsByKey):
    """(group, weight) pairs -> {group: shard count}: ceil(weight / target), at least one."""

    def __init__(self, target: int):
        self._target = target

    def extract_output(self, weights: dict[str, int]) -> dict[str, int]:
        return {group: max(1, math.ceil(weight / self._target)) for group, weight in sorted(weights.items())}
