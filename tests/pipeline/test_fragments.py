"""A shard from its fragments: in order whatever order the reads finish in, a missing fragment fails it,
its fragments removed once it is whole (a retried bundle writes it again or leaves it whole)."""

from __future__ import annotations

import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline import fragments, store
from pipeline.fragments import assemble_shard, encode, fragment_path, write_shard
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


def _fragments(tmp_path, count: int = 5) -> list[str]:
    paths = []
    for k in range(count):
        paths.append(str(tmp_path / "fragments" / f"f{k}.parquet"))
        write_bytes(paths[-1], encode(_batch(10 * k, 2 + k), SCHEMA))
    return paths


def test_assembling_a_shard_removes_its_fragments_and_makes_the_same_bytes(tmp_path):
    paths = _fragments(tmp_path)
    write_shard(str(tmp_path / "reference.parquet"), paths)
    assert assemble_shard(str(tmp_path / "shard.parquet"), paths) is True
    assert (tmp_path / "shard.parquet").read_bytes() == (tmp_path / "reference.parquet").read_bytes()
    assert list((tmp_path / "fragments").iterdir()) == []


def test_a_retry_after_the_first_fragment_went_leaves_the_whole_shard_alone(tmp_path):
    """The earlier attempt wrote the shard and removed the first fragment, then failed: the shard is whole."""
    paths = _fragments(tmp_path)
    assert assemble_shard(str(tmp_path / "shard.parquet"), paths) is True
    whole = (tmp_path / "shard.parquet").read_bytes()
    for path in paths[2:]:  # as if removing the others had stopped after the second
        write_bytes(path, b"left by the failed attempt")
    assert assemble_shard(str(tmp_path / "shard.parquet"), paths) is False
    assert (tmp_path / "shard.parquet").read_bytes() == whole


def test_a_retry_after_a_failed_write_writes_the_shard_again_from_every_fragment(tmp_path, monkeypatch):
    paths = _fragments(tmp_path)
    write_shard(str(tmp_path / "reference.parquet"), paths)
    read = store.read_bytes

    def fail_on_the_fourth(path):
        if path == paths[3]:
            raise OSError("the worker went away")
        return read(path)

    monkeypatch.setattr(store, "read_bytes", fail_on_the_fourth)
    with pytest.raises(OSError):
        assemble_shard(str(tmp_path / "shard.parquet"), paths)
    assert all(store.exists(p) for p in paths)  # nothing removed: the shard may be partial
    monkeypatch.setattr(store, "read_bytes", read)
    assert assemble_shard(str(tmp_path / "shard.parquet"), paths) is True
    assert (tmp_path / "shard.parquet").read_bytes() == (tmp_path / "reference.parquet").read_bytes()
    assert list((tmp_path / "fragments").iterdir()) == []
