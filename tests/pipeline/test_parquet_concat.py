"""Parquet files joined by copying their row groups: the footer codec and the joined file, read by Arrow."""

from __future__ import annotations

import io
import struct

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from pipeline.parquet_concat import concatenate, encode_struct, split


def _table(n: int, start: int = 0) -> pa.Table:
    return pa.table(
        {
            "id": [f"{i:040x}" for i in range(start, start + n)],
            "content": [
                f"def f{i}():\n    return {'x' * (i % 50)}\n" if i % 7 else None
                for i in range(start, start + n)
            ],
            "lang": ["python" if i % 3 else "java" for i in range(start, start + n)],
            "stars": pa.array([i if i % 4 else None for i in range(start, start + n)], pa.int64()),
            "score": [i / 3 for i in range(start, start + n)],
            "flag": [bool(i % 2) for i in range(start, start + n)],
        }
    )


def _parquet(table: pa.Table, **options) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd", use_dictionary=True, **options)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"row_group_size": 7},
        {"write_page_index": True, "row_group_size": 30},
        {"write_statistics": False},
    ],
)
def test_a_decoded_footer_encodes_to_the_same_bytes(options):
    data = _parquet(_table(100), **options)
    (length,) = struct.unpack("<I", data[-8:-4])
    _, footer = split(data)
    assert encode_struct(footer) == data[-8 - length : -8]


def test_joined_files_read_as_their_rows_in_order_by_any_column_and_filter():
    parts = [_table(50, 0), _table(1, 50), _table(120, 51), _table(30, 171)]
    files = [
        _parquet(parts[0]),
        _parquet(parts[1]),
        _parquet(parts[2], row_group_size=40),
        _parquet(parts[3]),
    ]
    out = io.BytesIO()
    assert concatenate(files, out) == 201
    joined, whole = pq.ParquetFile(io.BytesIO(out.getvalue())), pa.concat_tables(parts)
    assert joined.metadata.num_rows == 201 and joined.metadata.num_row_groups == 6
    assert joined.read().equals(whole)
    assert joined.read(columns=["score", "lang"]).equals(whole.select(["score", "lang"]))
    assert joined.read_row_group(4).equals(parts[2].slice(80))
    assert [joined.metadata.row_group(i).num_rows for i in range(6)] == [50, 1, 40, 40, 40, 30]
    read = pq.read_table(io.BytesIO(out.getvalue()), filters=[("stars", ">", 150)])  # statistics, moved pages
    assert read.equals(whole.filter(pc.greater(whole["stars"], 150)))


def test_files_with_page_indexes_are_refused():
    """An offset index lists each page's offset, which a move would leave wrong: refused, not written."""
    with pytest.raises(ValueError, match="page indexes"):
        concatenate([_parquet(_table(60), write_page_index=True, row_group_size=20)], io.BytesIO())


def test_no_file_writes_nothing_and_a_file_without_rows_adds_none():
    out = io.BytesIO()
    assert concatenate([], out) == 0 and out.getvalue() == b""
    empty = _parquet(_table(5).slice(0, 0))
    concatenate([empty, _parquet(_table(5)), empty], out)
    assert pq.read_table(io.BytesIO(out.getvalue())).equals(_table(5))


def test_not_parquet_is_refused():
    with pytest.raises(ValueError, match="not a parquet file"):
        concatenate([b"PAR1 this is not one"], io.BytesIO())
