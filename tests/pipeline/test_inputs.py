import gzip
import json

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.ids import doc_id, line_stats, normalize_lang
from pipeline.inputs import InputError, input_schema, list_inputs, per_file, prepare
from pipeline.run import run
from tests.pipeline.helpers import pipeline_args

ROW = {"content": "def f():\n    return 1\n", "max_stars_repo_name": "o/r", "max_stars_repo_path": "a/f.py"}


def test_id_depends_on_repo_path_and_content_only():
    a = doc_id("o/r", "a.py", "x")
    assert a == doc_id("o/r", "a.py", "x") and len(a) == 20
    assert len({a, doc_id("o/r2", "a.py", "x"), doc_id("o/r", "b.py", "x"), doc_id("o/r", "a.py", "y")}) == 4


def test_lang_from_column_or_extension():
    assert normalize_lang("JavaScript", "x.py") == "javascript"
    assert normalize_lang(None, "src/A.java") == "java"
    assert normalize_lang(None, "x.mjs") == "javascript"
    assert normalize_lang(None, "README") == "unknown"


def test_line_stats_match_bigcode_definitions():
    avg, longest, alnum = line_stats("ab\n\nabcd\n")
    assert (avg, longest) == (2.0, 4)
    assert alnum == pytest.approx(6 / 9)


def test_prepare_fills_missing_columns_only():
    row = prepare(dict(ROW))
    assert row["lang"] == "python" and row["id"] == doc_id("o/r", "a/f.py", ROW["content"])
    assert row["max_line_length"] == 12
    given = prepare(dict(ROW, max_line_length=999, avg_line_length=1.0, alphanum_fraction=0.5))
    assert given["max_line_length"] == 999


def test_missing_required_column_names_file_and_column(tmp_path):
    path = tmp_path / "x.parquet"
    pq.write_table(pa.Table.from_pylist([{"content": "x", "max_stars_repo_name": "o/r"}]), path)
    with pytest.raises(InputError, match=r"x\.parquet: missing required column\(s\) max_stars_repo_path"):
        input_schema(list_inputs(str(tmp_path)))


def test_schemas_of_many_files_unite_in_file_order_and_the_first_bad_file_is_named(tmp_path):
    """The footers are read on threads (per_file); the result and the error are those of a read in order."""
    paths = []
    for i in range(40):
        path = tmp_path / f"part-{i:02d}.parquet"
        pq.write_table(pa.Table.from_pylist([dict(ROW, **{f"extra_{i % 7}": i})]), path)
        paths.append(str(path))
    names = input_schema(paths).names
    extras = [name for name in names if name.startswith("extra_")]
    assert extras == [f"extra_{i}" for i in range(7)] and names[:3] == list(ROW)
    (tmp_path / "part-05.parquet").write_bytes(b"PAR1 not parquet")
    (tmp_path / "part-30.parquet").write_bytes(b"PAR1 not parquet either")
    with pytest.raises(InputError, match=r"part-05\.parquet: not a readable parquet file"):
        input_schema(paths)


def test_per_file_keeps_path_order_whatever_order_the_reads_end_in():
    import time

    delays = {"a": 0.05, "b": 0.0, "c": 0.02}
    assert per_file(lambda path: (time.sleep(delays[path]), path)[1], ["a", "b", "c"]) == ["a", "b", "c"]


def test_corrupt_parquet_names_file(tmp_path):
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(InputError, match=r"broken\.parquet: not a readable parquet file"):
        input_schema([str(path)])


def test_missing_input_is_clear(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        list_inputs(str(tmp_path / "nothing"))
    with pytest.raises(InputError, match="no parquet or jsonl files"):
        list_inputs(str(tmp_path))


def test_bad_json_line_names_file_and_line(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text(json.dumps(ROW) + "\n{oops\n")
    with pytest.raises(InputError, match=r"x\.jsonl, line 2: not valid JSON"):
        input_schema([str(path)])


def test_jsonl_gz_and_fsspec_urls_read_the_same(tmp_path):
    rows = [dict(ROW, max_stars_repo_path=f"f{i}.py", content=f"x = {i}\n") for i in range(5)]
    local = tmp_path / "in"
    local.mkdir()
    with gzip.open(local / "part.jsonl.gz", "wt") as handle:
        handle.writelines(json.dumps(r) + "\n" for r in rows)
    stats = run(pipeline_args(str(local), tmp_path / "out1"))
    memfs = fsspec.filesystem("memory")
    memfs.pipe("/stack/part.jsonl.gz", (local / "part.jsonl.gz").read_bytes())
    stats2 = run(pipeline_args("memory://stack", tmp_path / "out2"))
    assert stats["output"]["docs"] == stats2["output"]["docs"] == 5
    assert stats["input"]["ids_digest"] == stats2["input"]["ids_digest"]
    a = (tmp_path / "out1/data/python/train-00000-of-00001.parquet").read_bytes()
    b = (tmp_path / "out2/data/python/train-00000-of-00001.parquet").read_bytes()
    assert a == b


def test_unknown_columns_are_carried_through(tmp_path):
    rows = [dict(ROW, max_stars_repo_path=f"f{i}.py", content=f"y = {i}\n", extra_col=i) for i in range(3)]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "in.parquet")
    run(pipeline_args(str(tmp_path / "in.parquet"), tmp_path / "out"))
    table = pq.read_table(tmp_path / "out/data/python/train-00000-of-00001.parquet")
    assert sorted(table.column("extra_col").to_pylist()) == [0, 1, 2]
    assert {"id", "lang", "avg_line_length"} <= set(table.column_names)
