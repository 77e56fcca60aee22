"""The batch plane's parts: reading units into bounded batches, deltas, the local worker default."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dedup.minhash import MinHashParams, token_hashes
from pipeline import batches
from pipeline.batches import (
    CHANGED,
    DIGEST,
    ROW,
    apply_delta,
    content_sizes,
    delta_of,
    list_units,
    read_unit,
    to_dicts,
    with_column,
)
from pipeline.ids import content_digest, doc_id
from pipeline.inputs import input_schema, jsonl_lines, make_encodable, parse_json_line, prepare
from pipeline.stages.base import content_bytes
from tests.pipeline.helpers import code_rows


def _units(paths: list[str]) -> list[tuple[str, int]]:
    return [unit for path in paths for unit in list_units(path)]


def test_parquet_batches_are_the_prepared_rows(tmp_path):
    rows = code_rows(300)
    rows[5]["avg_line_length"], rows[5]["max_line_length"], rows[5]["alphanum_fraction"] = 1.0, 2, 0.5
    path = str(tmp_path / "in.parquet")
    pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=100)
    schema = input_schema([path])
    units = _units([path])
    assert units == [(path, 0), (path, 1), (path, 2)]
    got = [doc for unit in units for batch in read_unit(unit, schema) for doc in to_dicts(batch)]
    want = [prepare(dict(row)) for row in pq.read_table(path).to_pylist()]
    assert got == want
    assert [d["lang"] for d in got[:2]] == ["javascript", "python"]


def test_all_units_are_listed_in_file_order_and_a_bad_file_fails_the_listing(tmp_path):
    paths = []
    for number in range(20):  # more files than listing threads: the order is still the files' order
        path = tmp_path / f"part-{number:02d}.parquet"
        pq.write_table(pa.Table.from_pylist(code_rows(10 + number)), path, row_group_size=4 + number % 3)
        paths.append(str(path))
    jsonl = tmp_path / "extra.jsonl"
    jsonl.write_text(json.dumps(code_rows(1)[0]) + "\n")
    paths.insert(7, str(jsonl))
    listed = batches.list_all_units(paths)
    assert listed == _units(paths)
    assert len(listed) > len(paths) and (str(jsonl), -1) in listed
    assert batches.list_all_units(paths[:1]) == _units(paths[:1]) and batches.list_all_units([]) == []
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"not parquet at all")
    with pytest.raises(batches.InputError, match="broken.parquet"):
        batches.list_all_units([*paths[:3], str(broken), *paths[3:]])


def test_jsonl_keeps_what_arrow_cannot_hold_for_validate(tmp_path):
    path = tmp_path / "bad.jsonl"
    good = json.dumps(code_rows(1)[0])
    lines = [good, json.dumps({**code_rows(2)[1], "content": 42}), good.replace('"x0', '"\\udc80x0')]
    path.write_text("\n".join(lines) + "\n")
    schema = input_schema([str(path)])
    (batch,) = list(read_unit((str(path), -1), schema))
    got = to_dicts(batch)
    want = [
        make_encodable(prepare(parse_json_line(str(path), n, line))) for n, line in jsonl_lines(str(path))
    ]
    assert got == [{**dict.fromkeys(schema.names), **row} for row in want]  # every column, null when absent
    assert got[1]["content"] == 42 and isinstance(got[2]["content"], bytes)  # validate: not_text, undecodable
    assert list(content_sizes(batch)) == [content_bytes(d) for d in got]


def test_batches_are_bounded_and_always_the_same(tmp_path, monkeypatch):
    monkeypatch.setattr(batches, "MAX_ROWS", 50)
    monkeypatch.setattr(batches, "MAX_BYTES", 2_000)
    monkeypatch.setattr(batches, "READ_ROWS", 16)
    rows = code_rows(400, size=30)
    rows[123]["content"] = "y" * 5_000  # one document over the byte cap travels alone
    path = str(tmp_path / "in.parquet")
    pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=400)
    schema = input_schema([path])
    first = list(read_unit((path, 0), schema))
    again = list(read_unit((path, 0), schema, ids=False))
    assert sum(b.num_rows for b in first) == 400
    assert [b.num_rows for b in first] == [b.num_rows for b in again]
    for batch in first:
        assert batch.num_rows <= 50
        assert content_sizes(batch).sum() <= 2_000 or batch.num_rows == 1
        assert batch.column(ROW).to_pylist() == list(range(batch.num_rows))
    assert any(b.num_rows == 1 and content_sizes(b)[0] == 5_000 for b in first)
    assert all(b.column("id").null_count == b.num_rows for b in again)  # a re-read takes ids from its delta


def test_delta_carries_added_columns_and_only_rewritten_content(tmp_path):
    path = str(tmp_path / "in.parquet")
    pq.write_table(pa.Table.from_pylist(code_rows(40, size=2_000)), path)
    schema = input_schema([path])
    (batch,) = list(read_unit((path, 0), schema))
    keep = np.arange(40) % 3 != 0
    changed = np.arange(40) == 4
    content = [
        ("[redacted] " + c) if changed[i] else c for i, c in enumerate(batch.column("content").to_pylist())
    ]
    staged = with_column(batch, "content", pa.array(content))
    staged = with_column(staged, CHANGED, pa.array(changed))
    staged = with_column(staged, "comment_ratio", pa.array(np.linspace(0, 1, 40)))
    staged = staged.filter(pa.array(keep))
    rows, carried = delta_of(staged, schema)
    assert len(carried) < 2 * 2_100 + 5_000  # one document's content, not the batch's 80 kB
    (reread,) = list(read_unit((path, 0), schema, ids=False))
    assert DIGEST not in reread.schema.names  # only the first read hashes the content
    assert apply_delta(reread, rows, carried).equals(staged.drop_columns([DIGEST]))  # not carried


def test_first_read_keeps_the_content_digest_of_each_id(tmp_path):
    path = str(tmp_path / "in.parquet")
    pq.write_table(pa.Table.from_pylist(code_rows(40, size=300)), path)
    (batch,) = list(read_unit((path, 0), input_schema([path])))
    rows = batch.to_pylist()
    assert [row[DIGEST] for row in rows] == [content_digest(row["content"]) for row in rows]
    assert [row["id"] for row in rows] == [
        doc_id(row["max_stars_repo_name"], row["max_stars_repo_path"], row["content"]) for row in rows
    ]


def test_local_runs_use_every_core():
    from apache_beam.options.pipeline_options import DirectOptions

    from pipeline.cores import available_cores
    from pipeline.options import parse

    direct = parse(["--input", "in", "--output", "out"]).view_as(DirectOptions)
    cores = available_cores()
    assert direct.direct_num_workers == cores
    assert direct.direct_running_mode == ("multi_processing" if cores > 1 else "in_memory")


@pytest.mark.parametrize("name", ["id", "lang"])
def test_delta_always_carries_ids_and_languages(tmp_path, name):
    path = str(tmp_path / "in.parquet")
    pq.write_table(pa.Table.from_pylist(code_rows(5)), path)
    schema = input_schema([path])
    (batch,) = list(read_unit((path, 0), schema))
    rows, carried = delta_of(batch, schema)
    assert pa.ipc.open_stream(carried).read_next_batch().column(name).equals(batch.column(name))


def test_content_views_are_each_rows_utf8_bytes_in_a_sliced_column():
    """The views hashing reads (ids, MinHash tokens): exactly ``str.encode("utf-8")`` of each row, nulls as
    None, also for a slice of a column (its buffer offset) and non-ASCII text."""
    texts = ["def f():\n    return 1\n", None, "", "naïve = 'ünïcode' # 日本", "x" * 1000, None]
    column = pa.array(texts, pa.string()).slice(1)
    views = batches.content_views(column)
    assert [None if v is None else bytes(v) for v in views] == [
        None if t is None else t.encode("utf-8") for t in texts[1:]
    ]
    minhash_params = MinHashParams(ngram=1)
    assert np.array_equal(
        token_hashes(views[2], minhash_params.seed), token_hashes(texts[3], minhash_params.seed)
    )
