"""Reading a unit again after a grouping stage: the batches asked for, and a loud failure when the input
no longer has them (a file rewritten while the pipeline ran)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.batches import list_units, read_unit
from pipeline.inputs import input_schema
from pipeline.rejoin import reread_batches


def _unit(tmp_path, rows: int) -> tuple:
    path = str(tmp_path / "in.parquet")
    table = pa.table(
        {
            "content": [f"x = {i}\n" for i in range(rows)],
            "max_stars_repo_name": ["owner/repo"] * rows,
            "max_stars_repo_path": [f"f{i}.py" for i in range(rows)],
        }
    )
    pq.write_table(table, path)
    return list_units(path)[0], input_schema([path])


def test_the_batches_asked_for_come_back_in_order(tmp_path, monkeypatch):
    from pipeline import batches

    monkeypatch.setattr(batches, "MAX_ROWS", 100)
    unit, schema = _unit(tmp_path, 300)
    every = list(read_unit(unit, schema, ids=False))
    assert len(every) >= 3
    got = list(reread_batches(unit, schema, {2, 0}))
    assert [index for index, _ in got] == [0, 2]
    assert all(batch.equals(every[index]) for index, batch in got)


def test_a_batch_the_unit_no_longer_has_fails_loudly(tmp_path):
    unit, schema = _unit(tmp_path, 10)  # one batch
    with pytest.raises(RuntimeError, match="changed while the pipeline ran: batches do not match"):
        list(reread_batches(unit, schema, {0, 1}))
