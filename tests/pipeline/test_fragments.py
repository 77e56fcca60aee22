"""A shard from its fragments: in order whatever order the reads finish in, a missing fragment fails it."""

from __future__ import annotations

import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline import fragments, store
from pipeline.fragments import encode, fragment_path, write_shard
from pipeline.store import write_bytes

SCHEMA = pa.schema([("id", pa.string()), ("content", pa.string()), ("score", pa.float64())])


def _batch(start: int, n: int) -> pa.RecordBatch:
    ids = [f"{i:040x}" for i in range(start, start + n)]  # no score column: the fragment gets nulls
    return pa.RecordBatch.from_pydict(
        {"id": ids, "content": [f"print({i})\n" for i in range(start, start + n)]}
    )


def test_fragment_paths_name_the_piece_and_language_only():
    unit = ("gs://bucket/in/part-00001.parquet", 3)
    path = fragment_path("gs://bucket/out/_work/fragments", "python", unit, 7)
    assert path == fragment_path("gs://bucket/out/_work/fragments", "python", unit, 7)
    assert path.startswith("gs://bucket/out/_work/fragments/python/") and path.endswith("-3-000007.parquet")
    others = {
        fragment_path("gs://bucket/out/_work/fragments", "java", unit, 7),
        fragment_path("gs://bucket/out/_work/fragments", "python", (unit[0], 4), 7),
        fragment_path(
            "gs://bucket/out/_work/fragments", "python", ("gs://bucket/in/part-00002.parquet", 3), 7
        ),
    }
    assert path not in others and len(others) == 3


def test_a_shard_holds_its_fragments_in_order_whatever_order_their_reads_end_in(tmp_path, monkeypatch):
    paths = []
    for k in range(7):
        paths.append(str(tmp_path / f"f{k}.parquet"))
        write_bytes(paths[-1], encode(_batch(10 * k, 3 + k), SCHEMA))
    read = store.read_bytes

    def slow_first(path):  # earlier fragments take longer: the reads end in reverse order
        time.sleep(0.02 * (7 - int(path[-9])))
        return read(path)

    monkeypatch.setattr(store, "read_bytes", slow_first)
    monkeypatch.setattr(fragments, "READ_AHEAD", 3)
    assert write_shard(str(tmp_path / "shard.parquet"), paths) == sum(3 + k for k in range(7))
    table = pq.read_table(tmp_path / "shard.parquet")
    assert table.schema.equals(SCHEMA)
    assert table.column("id").to_pylist() == [
        f"{i:040x}" for k in range(7) for i in range(10 * k, 11 * k + 3)
    ]
    assert table.column("score").null_count == table.num_rows


def test_a_missing_fragment_fails_the_shard(tmp_path):
    good = str(tmp_path / "good.parquet")
    write_bytes(good, encode(_batch(0, 2), SCHEMA))
    with pytest.raises(OSError):
        write_shard(str(tmp_path / "shard.parquet"), [good, str(tmp_path / "missing.parquet"), good])
