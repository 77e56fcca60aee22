"""Streaming reads of parquet text columns, shared by training, sampling, fertility and tokenization.

Why batches: the training corpus (600k files) and the curated ``data/`` (hundreds of GB at full
scale) must never be loaded whole; pyarrow's ``iter_batches`` keeps memory at one record batch.
"""

from __future__ import annotations

import glob
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from pipeline.ids import doc_id, normalize_lang
from pipeline.output_files import parquet_files

log = logging.getLogger(__name__)

DEFAULT_BATCH_ROWS = 1000
ID_COLUMNS = ("id", "max_stars_repo_name", "max_stars_repo_path")  # what a document id is made of


def resolve_parquet_files(inputs: str | Path | Iterable[str | Path]) -> list[Path]:
    """Parquet files named by directories (searched recursively), globs or plain paths, sorted.

    Sorted so every run sees the files in the same order (deterministic shards and samples).
    """
    if isinstance(inputs, (str, Path)):
        inputs = [inputs]
    files: set[Path] = set()
    for item in inputs:
        path = Path(item)
        matches = [path] if path.exists() else [Path(m) for m in glob.glob(str(item), recursive=True)]
        if not matches:
            raise FileNotFoundError(f"no parquet files match {item}")
        for match in matches:  # a folder: every parquet file below it, as every output reader lists them
            files.update(map(Path, parquet_files(match)) if match.is_dir() else [match])
    if not files:
        raise FileNotFoundError(f"no parquet files under {list(map(str, inputs))}")
    return sorted(files)


def document_id(row: dict, content: str) -> str:
    """The row's ``id``, else the pipeline's id of it (``pipeline.ids.doc_id``: repo, path and content)."""
    return row.get("id") or doc_id(row.get("max_stars_repo_name"), row.get("max_stars_repo_path"), content)


def document_lang(lang: str | None, file: str | Path) -> str:
    """The pipeline's language name (``pipeline.ids.normalize_lang``) of the ``lang`` value, else of the
    file's folder (the ``data/<lang>/train-*.parquet`` layout)."""
    return normalize_lang(lang or Path(file).parent.name, None)


@dataclass(frozen=True)
class TextBatch:
    """One record batch: contents and their (lower-case) languages and ids."""

    contents: list[str]
    langs: list[str]
    ids: list[str]


def count_rows(files: Iterable[Path]) -> int:
    """Total rows from parquet footers only (for progress bars)."""
    return sum(pq.ParquetFile(f).metadata.num_rows for f in files)


def iter_text_batches(
    files: Iterable[str | Path], batch_rows: int = DEFAULT_BATCH_ROWS, content_column: str = "content"
) -> Iterator[TextBatch]:
    """Yield batches of (content, lang, id) from parquet files, reading one record batch at a time.

    ``lang`` comes from the ``lang`` column when present, else from the parent directory name;
    ``id`` from the ``id`` column, else the pipeline's id (:func:`document_id`). Null contents are skipped with a warning.
    """
    for file in files:
        path = Path(file)
        parquet = pq.ParquetFile(path)
        names = set(parquet.schema_arrow.names)
        if content_column not in names:
            raise ValueError(f"{path}: no '{content_column}' column (columns: {sorted(names)})")
        columns = [content_column] + [c for c in ("lang", *ID_COLUMNS) if c in names]
        skipped = 0
        for record_batch in parquet.iter_batches(batch_size=batch_rows, columns=columns):
            contents, langs, ids = [], [], []
            for row in record_batch.to_pylist():
                content = row[content_column]
                if content is None:
                    skipped += 1
                    continue
                contents.append(content)
                langs.append(document_lang(row.get("lang"), path))
                ids.append(document_id(row, content))
            if contents:
                yield TextBatch(contents, langs, ids)
        if skipped:
            log.warning("%s: skipped %d rows with null %s", path, skipped, content_column)


def iter_texts(files: Iterable[str | Path], batch_rows: int = DEFAULT_BATCH_ROWS) -> Iterator[list[str]]:
    """Only the contents, batch by batch (what ``Tokenizer.train_from_iterator`` consumes)."""
    for batch in iter_text_batches(files, batch_rows):
        yield batch.contents
