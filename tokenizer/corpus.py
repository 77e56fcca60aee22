"""Streaming reads of parquet text columns, shared by training, sampling, fertility and tokenization.

Why batches: the training corpus (600k files) and the curated ``data/`` (hundreds of GB at full
scale) must never be loaded whole; pyarrow's ``iter_batches`` keeps memory at one record batch.
"""

from __future__ import annotations

import glob
import hashlib
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

log = logging.getLogger(__name__)

DEFAULT_BATCH_ROWS = 1000


def resolve_parquet_files(inputs: str | Path | Iterable[str | Path]) -> list[Path]:
    """Parquet files named by directories (searched recursively), globs or plain paths, sorted.

    Sorted so every run sees the files in the same order (deterministic shards and samples).
    """
    if isinstance(inputs, (str, Path)):
        inputs = [inputs]
    files: set[Path] = set()
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            files.update(path.rglob("*.parquet"))
        elif path.is_file():
            files.add(path)
        else:
            matches = [Path(m) for m in glob.glob(str(item), recursive=True)]
            if not matches:
                raise FileNotFoundError(f"no parquet files match {item}")
            for match in matches:
                files.update(match.rglob("*.parquet") if match.is_dir() else [match])
    if not files:
        raise FileNotFoundError(f"no parquet files under {list(map(str, inputs))}")
    return sorted(files)


def normalize_lang(value: object, fallback: str = "unknown") -> str:
    """Lower-case language name (``"JavaScript"`` -> ``"javascript"``), ``fallback`` when empty."""
    text = str(value).strip().lower() if value is not None else ""
    return text or fallback


def fallback_id(content: str) -> str:
    """Id for rows without an ``id`` column: a content hash (stable, not position-based)."""
    return hashlib.blake2b(content.encode("utf-8", "surrogatepass"), digest_size=10).hexdigest()


@dataclass(frozen=True)
class TextBatch:
    """One record batch: contents and their (lower-case) languages and ids."""

    contents: list[str]
    langs: list[str]
    ids: list[str]


def _lang_from_path(path: Path) -> str:
    """``data/<lang>/train-*.parquet`` layout: the parent directory names the language."""
    return normalize_lang(path.parent.name)


def count_rows(files: Iterable[Path]) -> int:
    """Total rows from parquet footers only (for progress bars)."""
    return sum(pq.ParquetFile(f).metadata.num_rows for f in files)


def iter_text_batches(
    files: Iterable[str | Path], batch_rows: int = DEFAULT_BATCH_ROWS, content_column: str = "content"
) -> Iterator[TextBatch]:
    """Yield batches of (content, lang, id) from parquet files, reading one record batch at a time.

    ``lang`` comes from the ``lang`` column when present, else from the parent directory name;
    ``id`` from the ``id`` column, else a content hash. Null contents are skipped with a warning.
    """
    for file in files:
        path = Path(file)
        parquet = pq.ParquetFile(path)
        names = set(parquet.schema_arrow.names)
        if content_column not in names:
            raise ValueError(f"{path}: no '{content_column}' column (columns: {sorted(names)})")
        columns = [content_column] + [c for c in ("lang", "id") if c in names]
        default_lang = _lang_from_path(path)
        skipped = 0
        for record_batch in parquet.iter_batches(batch_size=batch_rows, columns=columns):
            table = record_batch.to_pydict()
            contents, langs, ids = [], [], []
            n = record_batch.num_rows
            lang_values = table.get("lang", [None] * n)
            id_values = table.get("id", [None] * n)
            for content, lang, doc_id in zip(table[content_column], lang_values, id_values, strict=True):
                if content is None:
                    skipped += 1
                    continue
                contents.append(content)
                langs.append(normalize_lang(lang, default_lang))
                ids.append(doc_id or fallback_id(content))
            if contents:
                yield TextBatch(contents, langs, ids)
        if skipped:
            log.warning("%s: skipped %d rows with null %s", path, skipped, content_column)


def iter_texts(files: Iterable[str | Path], batch_rows: int = DEFAULT_BATCH_ROWS) -> Iterator[list[str]]:
    """Only the contents, batch by batch (what ``Tokenizer.train_from_iterator`` consumes)."""
    for batch in iter_text_batches(files, batch_rows):
        yield batch.contents
