"""The ledger writer: shard counts from row counts, rows sorted by id, every asked-for folder written."""

from __future__ import annotations

import hashlib
from pathlib import Path

import apache_beam as beam
import pyarrow.parquet as pq
from apache_beam.runners.portability.fn_api_runner import FnApiRunner

from pipeline.ledger_writer import LEDGER_SCHEMA, WriteSharded


def _row(number: int, stage: str) -> dict:
    doc_id = hashlib.sha256(f"doc {number}".encode()).hexdigest()
    return {
        "id": doc_id,
        "repo": "owner/repo",
        "path": f"src/file_{number}.py",
        "lang": "python",
        "size": number,
        "stage": stage,
        "reason": "too_long",
        "detail": "{}",
    }


def _write(root: Path, entries: list[tuple[str, dict | None]], rows_per_shard: int) -> None:
    with beam.Pipeline(runner=FnApiRunner()) as p:
        _ = (
            p
            | beam.Create(entries, reshuffle=False)
            | WriteSharded(str(root), {"removed": LEDGER_SCHEMA}, lambda row: 1, rows_per_shard, "part")
        )


def test_shards_follow_the_row_count_and_asked_folders_get_an_empty_file(tmp_path: Path):
    rows = [("removed/long_files", _row(n, "long_files")) for n in range(25)]
    asked = [("removed/long_files", None), ("removed/optout", None)]  # optout removed nothing
    _write(tmp_path, rows + asked, rows_per_shard=10)

    long_files = sorted((tmp_path / "removed/long_files").iterdir())
    assert [f.name for f in long_files] == [f"part-0000{i}-of-00003.parquet" for i in range(3)]
    tables = [pq.read_table(f) for f in long_files]
    assert sum(t.num_rows for t in tables) == 25
    for index, table in enumerate(tables):  # each id in the shard its hash names, ids in order
        ids = table.column("id").to_pylist()
        assert ids == sorted(ids)
        assert all(int(doc_id[:15], 16) % 3 == index for doc_id in ids)
        assert table.schema.equals(LEDGER_SCHEMA)

    (optout,) = (tmp_path / "removed/optout").iterdir()
    assert optout.name == "part-00000-of-00001.parquet"
    assert pq.read_table(optout).num_rows == 0


def test_the_same_rows_give_the_same_bytes_in_any_order(tmp_path: Path):
    rows = [("removed/long_files", _row(n, "long_files")) for n in range(12)]
    _write(tmp_path / "a", rows, rows_per_shard=5)
    _write(tmp_path / "b", list(reversed(rows)) + [("removed/long_files", None)], rows_per_shard=5)
    a = sorted((tmp_path / "a/removed/long_files").iterdir())
    b = sorted((tmp_path / "b/removed/long_files").iterdir())
    assert [f.name for f in a] == [f.name for f in b] and len(a) == 3
    assert all(x.read_bytes() == y.read_bytes() for x, y in zip(a, b, strict=True))


def test_no_entry_writes_nothing(tmp_path: Path):
    _write(tmp_path, [], rows_per_shard=10)
    assert not (tmp_path / "removed").exists()
