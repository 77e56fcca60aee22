"""A data shard's parts: each piece's kept rows of one language as a small parquet file (a *fragment*),
written where the piece was judged; the shard is then its fragments' row groups copied in order
(``pipeline.parquet_concat``), and they are removed (:func:`assemble_shard`).

Every fragment is written with the same settings and schema (the data schema: the input's columns, then
the stages' score columns; internal columns dropped, a missing column null), one row group per fragment
(a piece holds at most ``pipeline.batches.MAX_ROWS`` rows and ``MAX_BYTES`` of content), so a shard's
bytes are a function of its rows alone.
"""

from __future__ import annotations

import hashlib
import io
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline import store
from pipeline.batches import Unit, conform
from pipeline.parquet_concat import concatenate

_SETTINGS = {"compression": "zstd", "use_dictionary": True}
READ_AHEAD = 4  # fragments read while the one before is copied (a fragment: at most one piece's rows)


def fragment_path(scratch: str, lang: str, unit: Unit, index: int) -> str:
    """Where a piece's fragment of one language goes: the same path for the same piece on any worker
    (a retried bundle writes the same bytes again)."""
    path, group = unit
    key = hashlib.sha1(f"{path}\0{group}".encode()).hexdigest()[:20]
    return store.join(scratch, lang, f"{key}-{group}-{index:06d}.parquet")


def encode(batch: pa.RecordBatch, schema: pa.Schema) -> bytes:
    """A fragment's bytes: ``batch``'s rows as one row group of a parquet file of ``schema`` (its columns
    conformed as the reader conforms the input's, ``pipeline.batches.conform``; internal ones dropped)."""
    rows = conform(batch, schema, "a data fragment").select(schema.names)
    buffer = io.BytesIO()
    with pq.ParquetWriter(buffer, schema, **_SETTINGS) as writer:
        writer.write_batch(rows, row_group_size=max(1, batch.num_rows))
    return buffer.getvalue()


def _read_ahead(paths: Iterable[str]) -> Iterator[bytes]:
    """Each file's bytes in order, the next ``READ_AHEAD`` read on threads meanwhile: on an object store
    each read waits tens of milliseconds for the first byte, and a shard has tens of fragments."""
    with ThreadPoolExecutor(max_workers=READ_AHEAD, thread_name_prefix="fragment-read") as pool:
        pending: deque = deque()
        for path in paths:
            pending.append(pool.submit(store.read_bytes, path))
            if len(pending) > READ_AHEAD:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def write_shard(path: str, fragments: Iterable[str]) -> int:
    """The shard at ``path``: the row groups of ``fragments`` (paths, in row order) one after the other,
    at most ``READ_AHEAD`` + 1 of them held at a time. Returns its rows."""
    with store.open_write(path) as handle:
        return concatenate(_read_ahead(fragments), handle)


def assemble_shard(path: str, fragments: Sequence[str]) -> bool:
    """:func:`write_shard`, then ``fragments`` are removed, so that a run needs about its output's size of
    scratch space at any time rather than twice it at the end (fragments used to stay until the run's end).

    The first fragment goes first: while it is there, every fragment is, and a retried bundle (Dataflow
    retries a failed one) writes the shard again from them; once it is gone the shard was whole, and a
    retry leaves it as it is (the run's end removes any fragment a failure left). Returns whether it wrote.
    """
    if not store.exists(fragments[0]):
        return False
    write_shard(path, fragments)
    store.delete_files(fragments[:1], missing_ok=False)
    store.delete_files(fragments[1:], missing_ok=False)
    return True


def write_empty(path: str, schema: pa.Schema) -> None:
    """A shard with no row group, with the data schema (a language has all N of its ``-of-N`` files)."""
    with store.open_write(path) as handle:
        pq.ParquetWriter(handle, schema, **_SETTINGS).close()
