"""Deterministic sharded parquet output: the same rows give the same bytes on any runner.

Rows are grouped by (group, shard) where the shard comes from the id's hash
and the shard count from the group's total size, then sorted by id inside the
shard before writing. Nothing depends on bundle boundaries or worker count.
Empty shards are still written, so ``-of-NNNNN`` names are always complete.
"""

from __future__ import annotations

import io
import json
import math
import posixpath
from collections.abc import Callable, Iterable

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

LEDGER_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("repo", pa.string()),
        ("path", pa.string()),
        ("lang", pa.string()),
        ("size", pa.int64()),
        ("stage", pa.string()),
        ("reason", pa.string()),
        ("detail", pa.string()),
    ]
)
MODIFIED_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("repo", pa.string()),
        ("path", pa.string()),
        ("lang", pa.string()),
        ("stage", pa.string()),
        ("counts", pa.string()),
    ]
)
ARROW_TYPES = {
    "float64": pa.float64(),
    "int64": pa.int64(),
    "bool": pa.bool_(),
    "string": pa.string(),
}


def join(root: str, *parts: str) -> str:
    if "://" in root:
        return "/".join([root.rstrip("/"), *parts])
    return posixpath.join(root, *parts)


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
    with FileSystems.create(path) as handle:
        handle.write(buffer.getvalue())


class WriteSharded(beam.PTransform):
    """rows -> ``root/<group>/<prefix>-00000-of-000NN.parquet``, shard count from the group's weight.

    ``required_groups`` get at least one (possibly empty) file even when no row
    reaches them, so that e.g. every enabled stage has a ledger folder.
    """

    def __init__(
        self,
        root: str,
        schema: pa.Schema,
        group_of: Callable[[dict], str],
        weight_of: Callable[[dict], int],
        target_weight: int,
        prefix: str,
        required_groups: Iterable[str] = (),
    ):
        super().__init__()
        self._root = root
        self._schema = schema
        self._group_of = group_of
        self._weight_of = weight_of
        self._target = max(1, int(target_weight))
        self._prefix = prefix
        self._required = sorted(set(required_groups))

    def expand(self, rows: beam.PCollection) -> beam.PCollection:
        group_of, weight_of, target = self._group_of, self._weight_of, self._target
        keyed = rows | "Key" >> beam.Map(lambda row: (group_of(row), row))
        weights = keyed | "Weigh" >> beam.Map(lambda kv: (kv[0], weight_of(kv[1])))
        required = rows.pipeline | "Required" >> beam.Create([(g, 0) for g in self._required])
        totals = (weights, required) | "AllGroups" >> beam.Flatten() | "Total" >> beam.CombinePerKey(sum)
        shard_counts = totals | "Shards" >> beam.Map(lambda kv: (kv[0], max(1, math.ceil(kv[1] / target))))

        def assign(kv: tuple[str, dict], counts: dict[str, int]) -> tuple[tuple[str, int], dict]:
            group, row = kv
            return (group, int(row["id"][:15], 16) % counts[group]), row

        sharded = keyed | "Assign" >> beam.Map(assign, counts=beam.pvalue.AsDict(shard_counts))
        markers = shard_counts | "Markers" >> beam.FlatMap(
            lambda kv: [((kv[0], i), None) for i in range(kv[1])]
        )
        root, schema, prefix = self._root, self._schema, self._prefix

        def write(item: tuple[tuple[str, int], Iterable[dict | None]], counts: dict[str, int]) -> str:
            (group, shard), values = item
            batch = sorted((r for r in values if r is not None), key=lambda r: (r["id"], _tiebreak(r)))
            path = join(root, group, f"{prefix}-{shard:05d}-of-{counts[group]:05d}.parquet")
            write_parquet(path, batch, schema)
            return path

        return (
            (sharded, markers)
            | "WithMarkers" >> beam.Flatten()
            | "Group" >> beam.GroupByKey()
            | "Write" >> beam.Map(write, counts=beam.pvalue.AsDict(shard_counts))
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
