"""The data writer: shard plans, fragments written where the pieces are, shards made of their row groups."""

from __future__ import annotations

import apache_beam as beam
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.runners.portability.fn_api_runner import FnApiRunner

from pipeline import batches
from pipeline.batches import list_units, read_unit, to_dicts
from pipeline.inputs import input_schema
from pipeline.outputs import WriteData, data_schema, shard_plan
from tests.pipeline.helpers import code_rows


def _pieces(path: str, drop_every: int = 4) -> tuple[list[batches.Piece], pa.Schema]:
    """The pieces of every unit of ``path``, with every ``drop_every``-th row (from the second) removed."""
    schema = input_schema([path])
    pieces = [
        batches.Piece(unit, index, batch.filter(pa.array(np.arange(batch.num_rows) % drop_every != 1)))
        for unit in list_units(path)
        for index, batch in enumerate(read_unit(unit, schema))
    ]
    return pieces, schema


def _write_data(
    tmp_path, name: str, pieces: list, schema: pa.Schema, target: int = 3_000
) -> dict[str, bytes]:
    root = tmp_path / name
    with beam.Pipeline(runner=FnApiRunner()) as pipeline:
        _ = (
            pipeline
            | beam.Create(pieces)
            | WriteData(str(root), data_schema(schema, {}), target, str(tmp_path / f"{name}-fragments"))
        )
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.parquet"))}


def test_shard_plan_is_contiguous_and_sized_like_before():
    units = [(f"f{i:02d}.parquet", 0) for i in range(10)]
    totals = [(("python", u), 30) for u in units] + [(("java", units[3]), 5)]
    plan = shard_plan(totals, target=100)
    count, shards = plan["python"]
    assert count == 3  # ceil(300 / 100), as the writer always counted
    assert [shards[u] for u in units] == sorted(shards[u] for u in units)  # contiguous runs in input order
    assert set(shards.values()) == {0, 1, 2}
    assert plan["java"] == (1, {units[3]: 0})
    assert shard_plan(list(reversed(totals)), target=100) == plan


def test_shards_hold_the_kept_rows_in_input_order_without_reading_the_input_again(tmp_path, monkeypatch):
    path = str(tmp_path / "in.parquet")
    pq.write_table(
        pa.Table.from_pylist(code_rows(240, size=40)), path, row_group_size=40
    )  # 6 units, py and js
    pieces, schema = _pieces(path)

    def no_read(*args, **kwargs):
        raise AssertionError("the data writer read the input")

    monkeypatch.setattr(batches, "read_unit", no_read)
    written = _write_data(tmp_path, "out", pieces, schema)
    assert sum(name.startswith("python/") for name in written) >= 2  # several shards per language
    scratch = tmp_path / "out-fragments"
    assert scratch.is_dir() and list(scratch.rglob("*.parquet")) == []  # each shard's writer removed its own
    kept = [doc for piece in pieces for doc in to_dicts(piece.batch)]
    for lang in ("python", "javascript"):
        files = [tmp_path / "out" / name for name in written if name.startswith(f"{lang}/")]
        table = pa.concat_tables([pq.read_table(f) for f in files])
        assert table.schema.equals(data_schema(schema, {}))
        expected = [d for d in kept if d["lang"] == lang]
        assert table.column("id").to_pylist() == [d["id"] for d in expected]  # input order, across shards
        assert table.column("content").to_pylist() == [d["content"] for d in expected]
        groups = sum(pq.ParquetFile(f).metadata.num_row_groups for f in files)
        assert groups == sum(any(d["lang"] == lang for d in to_dicts(p.batch)) for p in pieces)  # one a piece


def test_shards_are_the_same_bytes_whatever_the_order_the_pieces_arrive_in(tmp_path):
    path = str(tmp_path / "in.parquet")
    pq.write_table(pa.Table.from_pylist(code_rows(240, size=40)), path, row_group_size=40)
    pieces, schema = _pieces(path)
    forward = _write_data(tmp_path, "forward", pieces, schema)
    backward = _write_data(tmp_path, "backward", list(reversed(pieces)), schema)
    assert forward == backward and len(forward) >= 3


def test_a_language_gets_all_its_shards_even_those_no_unit_went_to(tmp_path):
    """One unit, more content than the shard target: N = ceil(content / target) files, the unit's rows
    in the first, the others with no row group but the data schema (a reader of ``-of-N`` finds all N)."""
    path = str(tmp_path / "in.parquet")
    pq.write_table(
        pa.Table.from_pylist(code_rows(40, size=200, langs=("py",))), path
    )  # one row group: one unit
    pieces, schema = _pieces(path, drop_every=10**9)
    content = sum(len(d["content"].encode()) for p in pieces for d in to_dicts(p.batch))
    written = _write_data(tmp_path, "out", pieces, schema)
    count = -(-content // 3_000)
    assert count >= 3
    assert sorted(written) == [f"python/train-{n:05d}-of-{count:05d}.parquet" for n in range(count)]
    files = [pq.ParquetFile(tmp_path / "out" / name) for name in sorted(written)]
    assert files[0].read().column("id").to_pylist() == [d["id"] for p in pieces for d in to_dicts(p.batch)]
    assert [f.metadata.num_row_groups for f in files[1:]] == [0] * (count - 1)
    assert all(f.schema_arrow.equals(files[0].schema_arrow) for f in files)


def test_data_writer_writes_nothing_when_no_document_is_kept(tmp_path):
    """No piece reaches the writer (every document removed): no plan, no shard, no file, no error."""
    path = str(tmp_path / "in.parquet")
    pq.write_table(pa.Table.from_pylist(code_rows(10, size=40)), path)
    assert _write_data(tmp_path, "none", [], input_schema([path])) == {}
