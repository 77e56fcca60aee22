"""Reading a finished output back: its stats.json, its parquet files, a few columns streamed.

Every reader of an output (the ledger check, card, report, near-dedup's cluster
list, the ablation driver, model evaluation, tokenization, tests) goes through these, locally or on an object store, in bounded memory.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path

import pyarrow.parquet as pq

from pipeline import store

STATS_FILE = "stats.json"


def load_stats(out_dir: str | Path) -> dict:
    """``OUT/stats.json`` (local or object store), or FileNotFoundError naming the file."""
    path = store.join(out_dir, STATS_FILE)
    if not store.exists(path):
        raise FileNotFoundError(f"{path} is missing: not a finished pipeline output")
    return json.loads(store.read_text(path))


def parquet_files(folder: str | Path) -> list[str]:
    """Parquet files under ``folder`` (recursively), sorted so every reader sees the same order;
    ``folder`` may also name one parquet file."""
    if str(folder).endswith(".parquet") and store.exists(folder):
        return [str(folder)]
    return store.list_files(folder, ".parquet")


def iter_column(
    files: Iterable[str | Path], columns: list[str], batch_size: int = 65536
) -> Iterator[dict[str, list]]:
    """Batches of the named columns only, one record batch at a time (bounded memory)."""
    for path in files:
        with store.open_read(path) as handle:
            parquet = pq.ParquetFile(handle)
            present = [c for c in columns if c in parquet.schema_arrow.names]
            for batch in parquet.iter_batches(batch_size=batch_size, columns=present):
                yield {name: batch.column(name).to_pylist() for name in present}


def iter_rows(files: Iterable[str | Path], columns: list[str]) -> Iterator[dict]:
    """The named columns row by row (as dicts), read a record batch at a time."""
    for batch in iter_column(files, columns):
        names = list(batch)
        yield from (dict(zip(names, values, strict=True)) for values in zip(*batch.values(), strict=True))


def languages(out_dir: str | Path) -> list[str]:
    """Language folders under data/ that hold at least one shard."""
    return store.subfolders(store.join(out_dir, "data"), ".parquet")


def ledger_details(
    out_dir: str | Path, stage: str, folder: str = "removed", column: str = "detail"
) -> list[tuple[str, dict]]:
    """(lang, parsed JSON) of every ledger row of a stage; small columns only."""
    rows = []
    for batch in iter_column(parquet_files(store.join(out_dir, folder, stage)), ["lang", column]):
        for lang, text in zip(batch.get("lang", []), batch.get(column, []), strict=False):
            rows.append((lang or "unknown", json.loads(text) if text else {}))
    return rows
