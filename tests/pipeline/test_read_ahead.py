"""Reading units ahead on a thread: the same batches in the same order as reading them in turn."""

from __future__ import annotations

import threading
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline import read_ahead
from pipeline.batches import list_units, read_unit
from pipeline.inputs import InputError, input_schema
from pipeline.read_ahead import UNIT_END, read_units_ahead


def _table(n: int) -> pa.Table:
    return pa.table(
        {
            "content": [f"x = {i}\n" for i in range(n)],
            "max_stars_repo_name": ["owner/repo"] * n,
            "max_stars_repo_path": [f"f{i}.py" for i in range(n)],
        },
        schema=pa.schema(
            [(name, pa.string()) for name in ("content", "max_stars_repo_name", "max_stars_repo_path")]
        ),
    )


def _threads() -> int:
    return sum(1 for t in threading.enumerate() if t.name == "read-ahead")


def test_the_sample_reads_ahead_as_it_reads_in_turn(sample_dir: Path):
    paths = sorted(str(p) for p in sample_dir.glob("*.parquet"))
    schema = input_schema(paths)
    units = [unit for path in paths for unit in list_units(path)]
    want = []
    for unit in units:
        want += [(unit, index, batch) for index, batch in enumerate(read_unit(unit, schema, ids=False))]
        want.append((unit, UNIT_END, None))
    got = list(read_units_ahead(units, schema))
    assert [(u, i) for u, i, _ in got] == [(u, i) for u, i, _ in want]
    assert all(
        g is None if w is None else g.equals(w) for (_, _, g), (_, _, w) in zip(got, want, strict=True)
    )
    assert sum(b.num_rows for _, _, b in got if b is not None) == sum(
        pq.read_metadata(p).num_rows for p in paths
    )
    assert _threads() == 0


def test_an_empty_unit_still_ends(tmp_path):
    path = str(tmp_path / "empty.parquet")
    pq.write_table(_table(0), path)
    schema = input_schema([path])
    units = [(path, 0)]
    assert [(u, i, b) for u, i, b in read_units_ahead(units, schema)] == [((path, 0), UNIT_END, None)]


def test_an_error_on_the_thread_is_raised_to_the_consumer(tmp_path):
    path = str(tmp_path / "gone.parquet")
    pq.write_table(_table(1), path)
    schema = input_schema([path])
    missing = str(tmp_path / "missing.parquet")
    items = read_units_ahead([(path, 0), (missing, 0)], schema)
    assert next(items)[1] == 0
    with pytest.raises(InputError, match="missing.parquet, row group 0: cannot be read"):
        list(items)
    assert _threads() == 0


def test_a_consumer_that_stops_early_stops_the_thread(tmp_path, monkeypatch):
    monkeypatch.setattr(read_ahead, "AHEAD", 1)
    path = str(tmp_path / "many.parquet")
    pq.write_table(_table(300), path, row_group_size=10)
    schema = input_schema([path])
    items = read_units_ahead(list_units(path), schema)
    next(items)
    assert _threads() == 1
    items.close()  # the thread was blocked handing over the next batch
    assert _threads() == 0
