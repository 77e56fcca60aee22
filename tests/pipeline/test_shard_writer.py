"""The data writer's row groups, encoded on a thread: same bytes as one after the other, errors raised."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline import shard_writer
from pipeline.shard_writer import RowGroupEncoder, ShardWriter

SCHEMA = pa.schema([("id", pa.string()), ("content", pa.string()), ("size", pa.int64())])


def _batches(count: int) -> list[pa.RecordBatch]:
    return [
        pa.RecordBatch.from_pydict(
            {
                "id": [f"{b}-{i}" for i in range(50)],
                "content": [f"def f_{b}_{i}():\n    return {i * b}\n" * (1 + i % 7) for i in range(50)],
                "size": list(range(50)),
            },
            schema=SCHEMA,
        )
        for b in range(count)
    ]


def test_row_groups_encoded_on_a_thread_are_the_bytes_of_writing_them_in_turn(tmp_path, monkeypatch):
    monkeypatch.setattr(shard_writer, "ROW_GROUP_BYTES", 3_000)  # a row group every batch or two
    batches = _batches(12)
    encoder = RowGroupEncoder()
    writer = ShardWriter(str(tmp_path / "threaded.parquet"), SCHEMA, encoder)
    for batch in batches:
        writer.write(batch)
    writer.close()
    encoder.close()

    threaded = pq.ParquetFile(tmp_path / "threaded.parquet")
    assert threaded.metadata.num_row_groups >= 6
    assert threaded.read().equals(pa.Table.from_batches(batches))
    # The same row groups written one after the other on this thread, as before: byte for byte.
    sizes = [threaded.metadata.row_group(i).num_rows for i in range(threaded.metadata.num_row_groups)]
    table, start = pa.Table.from_batches(batches), 0
    with pq.ParquetWriter(
        tmp_path / "in_turn.parquet", SCHEMA, compression="zstd", use_dictionary=True
    ) as plain:
        for rows in sizes:
            plain.write_table(table.slice(start, rows), row_group_size=rows)
            start += rows
    assert (tmp_path / "threaded.parquet").read_bytes() == (tmp_path / "in_turn.parquet").read_bytes()


def test_an_encoding_error_is_raised_by_the_writer_not_lost_on_its_thread(tmp_path, monkeypatch):
    monkeypatch.setattr(shard_writer, "ROW_GROUP_BYTES", 1)

    def fail(self, table, row_group_size=None):
        raise OSError("disk full")

    monkeypatch.setattr(pq.ParquetWriter, "write_table", fail)
    encoder = RowGroupEncoder()
    writer = ShardWriter(str(tmp_path / "shard.parquet"), SCHEMA, encoder)
    batches = _batches(3)
    writer.write(batches[0])  # its row group fails on the thread
    with pytest.raises(OSError, match="disk full"):
        writer.write(batches[1])  # ... and is raised when the next one is handed over
    with pytest.raises(OSError, match="disk full"):
        writer.close()
    encoder.close()
