"""Documents as bounded Arrow record batches: reading units, preparing columns, dicts for the cores, deltas.

Why: a document that travels as a Python dict through every transform costs
more than the stages' decisions about it. Here the input is cut into *units*
(one parquet row group, or one jsonl file), each unit is read as batches of at
most ``MAX_ROWS`` rows and ``MAX_BYTES`` content bytes, and the same unit
always yields the same batches, so a batch is named by ``(unit, index)`` and a
row by its position in it. That is what lets the pipeline move only small
records between steps: a step that needs the documents again (after a
grouping stage) re-reads its unit and applies a *delta* (the surviving row
positions and the columns stages added), instead of receiving the documents
through a shuffle; the data writer needs no read at all (the last stage
writes its pieces as parquet fragments, ``pipeline.fragments``).

Internal columns (never written): ``__sc_row`` (the row's position in the
batch as read) and, when present, ``__sc_raw`` (content that is not UTF-8
text: tagged bytes, see :func:`_tag_raw`), ``__sc_changed`` (a stage
replaced the content) and ``__sc_digest`` (``pipeline.ids.content_digest`` of
the content, set by the first read, which hashes every content for the id
anyway; exact dedup keys on it; dropped when a stage replaces the content and
not carried by deltas).
"""

from __future__ import annotations

import io
import json
import pickle
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import apache_beam as beam
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline.ids import content_digest, id_of_digest, line_stats, normalize_lang
from pipeline.inputs import (
    REQUIRED_COLUMNS,
    InputError,
    jsonl_lines,
    make_encodable,
    open_binary,
    parse_json_line,
    per_file,
    prepare,
)

ROW = "__sc_row"
RAW = "__sc_raw"
CHANGED = "__sc_changed"
DIGEST = "__sc_digest"
INTERNAL = (ROW, RAW, CHANGED, DIGEST)
READ_ROWS = 128  # parquet rows decoded per step; batches are assembled from these
MAX_ROWS = 1024
MAX_BYTES = 8_000_000
STATS = ("avg_line_length", "max_line_length", "alphanum_fraction")

Unit = tuple[str, int]  # (path, parquet row group); -1 for a jsonl file


@dataclass
class Piece:
    """One batch of documents in flight: the surviving rows of batch ``index`` of ``unit``."""

    unit: Unit
    index: int
    batch: pa.RecordBatch


class PieceCoder(beam.coders.Coder):
    """The coder of piece collections (the steps that make pieces declare ``Piece`` as their output).

    Beam estimates the size of sampled elements on every edge of a fused step, which for its default
    coder means pickling them: all the sample's content again at every stage. Pieces are estimated from
    their Arrow buffers instead; a piece that really crosses a boundary is pickled as before."""

    def encode(self, value: Piece) -> bytes:
        return pickle.dumps(value, pickle.HIGHEST_PROTOCOL)

    def decode(self, encoded: bytes) -> Piece:
        return pickle.loads(encoded)

    def is_deterministic(self) -> bool:
        return False

    def estimate_size(self, value: Piece) -> int:
        return value.batch.nbytes


beam.coders.registry.register_coder(Piece, PieceCoder)


def list_units(path: str) -> list[Unit]:
    """The units of one input file: its row groups (parquet), or the whole file (jsonl)."""
    if not path.endswith(".parquet"):
        return [(path, -1)]
    try:
        with open_binary(path) as handle:
            groups = pq.ParquetFile(handle).num_row_groups
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"{path}: not a readable parquet file: {exc}") from exc
    return [(path, group) for group in range(groups)]


def list_all_units(paths: Sequence[str]) -> list[Unit]:
    """The units of every input file, in file order, the parquet footers read on threads
    (``pipeline.inputs.per_file``): the job lists them in one step (one Beam stage); the first unreadable
    file fails the listing."""
    return [unit for units in per_file(list_units, paths) for unit in units]


def read_unit(unit: Unit, schema: pa.Schema, ids: bool = True) -> Iterator[pa.RecordBatch]:
    """The prepared batches of a unit, always the same ones: ids, ``lang`` and line statistics set,
    columns cast to ``schema`` (the run's input schema) and ``__sc_row`` added.

    ``ids=False`` (a re-read whose deltas carry ``id`` and ``lang``) leaves parquet ids and languages
    null instead of hashing every document again."""
    path, group = unit
    raw = _jsonl_batches(path, schema) if group < 0 else _parquet_batches(path, group, schema, ids)
    for batch in raw:
        yield batch.append_column(ROW, pa.array(np.arange(batch.num_rows, dtype=np.int32)))


def _sizes_of(content: pa.Array) -> np.ndarray:
    """UTF-8 bytes per row of a content column (null: 0)."""
    if not (pa.types.is_string(content.type) or pa.types.is_binary(content.type)):
        return np.zeros(len(content), dtype=np.int64)
    return pc.binary_length(content).fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)


def _byte_slices(batch: pa.RecordBatch) -> Iterator[pa.RecordBatch]:
    """Slices of ``batch`` of at most MAX_BYTES content bytes each (a single larger row stays whole)."""
    sizes = _sizes_of(batch.column("content"))
    if sizes.sum() <= MAX_BYTES:
        yield batch
        return
    start, held = 0, 0
    for row, size in enumerate(sizes.tolist()):
        if row > start and held + size > MAX_BYTES:
            yield batch.slice(start, row - start)
            start, held = row, 0
        held += size
    yield batch.slice(start)


def _bounded(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """Re-cut read batches into batches of at most MAX_ROWS rows and MAX_BYTES content bytes."""
    held: list[pa.RecordBatch] = []
    rows = size = 0
    for batch in batches:
        for part in _byte_slices(batch):
            part_size = int(_sizes_of(part.column("content")).sum())
            if held and (rows + part.num_rows > MAX_ROWS or size + part_size > MAX_BYTES):
                yield pa.concat_batches(held)
                held, rows, size = [], 0, 0
            held.append(part)
            rows, size = rows + part.num_rows, size + part_size
    if held:
        yield pa.concat_batches(held)


def _parquet_batches(path: str, group: int, schema: pa.Schema, ids: bool) -> Iterator[pa.RecordBatch]:
    try:
        with open_binary(path) as handle:
            parquet = pq.ParquetFile(handle)
            missing = [c for c in REQUIRED_COLUMNS if c not in parquet.schema_arrow.names]
            if missing:
                raise InputError(f"{path}: missing required column(s) {', '.join(missing)}")
            read = parquet.iter_batches(batch_size=READ_ROWS, row_groups=[group], use_threads=False)
            for number, batch in enumerate(_bounded(read)):
                yield _prepare(batch, schema, f"{path}, row group {group}, batch {number}", ids)
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"{path}, row group {group}: cannot be read: {exc}") from exc


def _jsonl_batches(path: str, schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    rows: list[dict] = []
    size, first = 0, 0
    for number, line in jsonl_lines(path):
        row = parse_json_line(path, number, line)
        for column in REQUIRED_COLUMNS:
            row.setdefault(column, None)  # a missing field is a null: the validate stage records it
        rows.append(make_encodable(prepare(row)))
        first, size = first or number, size + len(line)
        if len(rows) >= MAX_ROWS or size >= MAX_BYTES:
            yield _rows_batch(rows, schema, f"{path}, lines {first}-{number}")
            rows, size, first = [], 0, 0
    if rows:
        yield _rows_batch(rows, schema, f"{path}, lines {first}-end")


def _tag_raw(value: object) -> bytes:
    """Content that an Arrow string cannot hold (undecodable bytes, a JSON number or list ...), kept
    exactly so the validate stage can say what it is: b"b" + bytes, or b"j" + JSON."""
    if isinstance(value, bytes):
        return b"b" + value
    return b"j" + json.dumps(value).encode()


def _untag_raw(raw: bytes) -> object:
    return raw[1:] if raw[:1] == b"b" else json.loads(raw[1:])


def _rows_batch(rows: list[dict], schema: pa.Schema, where: str) -> pa.RecordBatch:
    """Prepared row dicts (the jsonl path, and parquet content that is not a string column) -> a batch."""
    raws = []
    for row in rows:
        content = row.get("content")
        if content is None or isinstance(content, str):
            raws.append(None)
        else:
            raws.append(_tag_raw(content))
            row["content"] = None
    try:
        batch = pa.RecordBatch.from_pylist(rows, schema=schema)
    except (pa.ArrowException, TypeError, ValueError) as exc:
        raise InputError(f"{where}: rows do not fit the input schema: {exc}") from exc
    if any(raw is not None for raw in raws):
        batch = batch.append_column(RAW, pa.array(raws, pa.binary()))
    return batch


def column_values(batch: pa.RecordBatch, name: str) -> list:
    """A column as Python values; all None when the batch has no such column."""
    if name in batch.schema.names:
        return batch.column(name).to_pylist()
    return [None] * batch.num_rows


def with_column(batch: pa.RecordBatch, name: str, values: pa.Array) -> pa.RecordBatch:
    """``batch`` with column ``name`` set to ``values`` (replaced, or appended)."""
    names = batch.schema.names
    if name in names:
        return batch.set_column(names.index(name), name, values)
    return batch.append_column(name, values)


def _prepare(batch: pa.RecordBatch, schema: pa.Schema, where: str, ids: bool = True) -> pa.RecordBatch:
    """What ``pipeline.inputs.prepare`` does per row, column by column: id, lang, line statistics."""
    content = batch.column("content")
    if pa.types.is_large_string(content.type):
        content = content.cast(pa.string())
        batch = with_column(batch, "content", content)
    if not (pa.types.is_string(content.type) or pa.types.is_null(content.type)):
        return _rows_batch([prepare(row) for row in batch.to_pylist()], schema, where)
    if pa.types.is_null(content.type):
        content = pa.nulls(batch.num_rows, pa.string())
        batch = with_column(batch, "content", content)
    valid = content.is_valid().to_numpy(zero_copy_only=False)
    if ids:
        batch = _with_ids(batch, content, valid)
    if all(name in batch.schema.names and not batch.column(name).null_count for name in STATS):
        return conform(batch, schema, where)
    stats = {name: column_values(batch, name) for name in STATS}
    missing = [
        row for row in range(batch.num_rows) if valid[row] and any(stats[n][row] is None for n in STATS)
    ]
    if missing:
        texts = content.take(pa.array(missing)).to_pylist()
        for row, text in zip(missing, texts, strict=True):
            for name, value in zip(STATS, line_stats(text), strict=True):
                stats[name][row] = value
        for name in STATS:
            batch = with_column(batch, name, pa.array(stats[name], schema.field(name).type))
    return conform(batch, schema, where)


def _with_ids(batch: pa.RecordBatch, content: pa.Array, valid: np.ndarray) -> pa.RecordBatch:
    """``id`` from (repo, path, content bytes) and ``lang`` from the column or the path, per row; the
    content digests the ids are made from as ``__sc_digest``."""
    repos, paths = column_values(batch, "max_stars_repo_name"), column_values(batch, "max_stars_repo_path")
    digests = [content_digest(data) for data in content_views(content, valid)]
    ids = [id_of_digest(repo, path, digest) for repo, path, digest in zip(repos, paths, digests, strict=True)]
    langs = [
        normalize_lang(lang, path) for lang, path in zip(column_values(batch, "lang"), paths, strict=True)
    ]
    batch = with_column(batch, "id", pa.array(ids, pa.string()))
    batch = with_column(batch, DIGEST, pa.array(digests, pa.binary()))
    return with_column(batch, "lang", pa.array(langs, pa.string()))


def content_views(content: pa.Array, valid: np.ndarray | None = None) -> list[memoryview | None]:
    """Each row's UTF-8 bytes as a view of the string column's buffer (None for a null): what hashing
    needs, without making a Python str of every document and encoding it back."""
    if valid is None:
        valid = content.is_valid().to_numpy(zero_copy_only=False)
    offsets = np.frombuffer(content.buffers()[1], dtype=np.int32)[
        content.offset : content.offset + len(content) + 1
    ].tolist()
    data = memoryview(content.buffers()[2] or b"")
    return [data[offsets[row] : offsets[row + 1]] if valid[row] else None for row in range(len(content))]


def conform(batch: pa.RecordBatch, schema: pa.Schema, where: str) -> pa.RecordBatch:
    """``batch`` with exactly ``schema``'s columns (missing ones null, types cast), internal ones kept."""
    names = batch.schema.names
    arrays, fields = [], list(schema)
    for field in schema:
        if field.name not in names:
            arrays.append(pa.nulls(batch.num_rows, field.type))
            continue
        column = batch.column(field.name)
        if column.type != field.type:
            try:
                column = column.cast(field.type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise InputError(f"{where}: column {field.name} is not {field.type}: {exc}") from exc
        arrays.append(column)
    for name in INTERNAL:
        if name in names:
            arrays.append(batch.column(name))
            fields.append(batch.schema.field(name))
    return pa.RecordBatch.from_arrays(arrays, schema=pa.schema(fields))


def to_dicts(batch: pa.RecordBatch) -> list[dict]:
    """The rows as the dicts the stage cores take (internal columns left out, raw content restored)."""
    names = [name for name in batch.schema.names if name not in INTERNAL]
    rows = batch.select(names).to_pylist()
    if RAW in batch.schema.names:
        for row, raw in zip(rows, batch.column(RAW).to_pylist(), strict=True):
            if raw is not None:
                row["content"] = _untag_raw(raw)
    return rows


def content_sizes(batch: pa.RecordBatch) -> np.ndarray:
    """UTF-8 content bytes per row, as ``pipeline.stages.base.content_bytes`` counts them."""
    sizes = _sizes_of(batch.column("content"))
    if RAW in batch.schema.names:
        for row, raw in enumerate(batch.column(RAW).to_pylist()):
            if raw is not None:
                sizes[row] = len(raw) - 1 if raw[:1] == b"b" else 0
    return sizes


def delta_of(batch: pa.RecordBatch, schema: pa.Schema) -> tuple[bytes, bytes]:
    """What a re-read of the batch needs to become ``batch`` again: the surviving row positions, and
    (Arrow IPC) ``id``, ``lang`` (so a re-read need not hash the content again) and the columns stages
    added, with the content only of rows whose content they replaced."""
    rows = batch.column(ROW).to_numpy(zero_copy_only=False).astype(np.int32).tobytes()
    added = [
        name for name in batch.schema.names if name not in schema.names and name not in (ROW, RAW, DIGEST)
    ]
    columns = {name: batch.column(name) for name in ("id", "lang", *added)}
    if CHANGED in columns:
        changed = columns[CHANGED].to_numpy(zero_copy_only=False)
        picks = pa.array(np.arange(batch.num_rows), mask=~changed)  # take() copies only the rewritten rows
        columns["content"] = batch.column("content").take(picks)
    return rows, ipc_bytes(pa.RecordBatch.from_pydict(columns))


def ipc_bytes(batch: pa.RecordBatch) -> bytes:
    """A small batch as Arrow IPC stream bytes (what a delta carries through a shuffle)."""
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, batch.schema) as writer:
        writer.write_batch(batch)
    return sink.getvalue()


def apply_delta(batch: pa.RecordBatch, rows: bytes, carried: bytes) -> pa.RecordBatch:
    """The re-read ``batch`` made what :func:`delta_of` described."""
    picks = np.frombuffer(rows, dtype=np.int32)
    every = len(picks) == batch.num_rows and bool((picks == np.arange(len(picks))).all())
    out = batch if every else batch.take(pa.array(picks))  # every row in order: no copy
    extra = pa.ipc.open_stream(carried).read_next_batch()
    for name in extra.schema.names:
        if name == "content":
            out = with_column(
                out, name, pc.if_else(extra.column(CHANGED), extra.column(name), out.column(name))
            )
        else:
            out = with_column(out, name, extra.column(name))
    return out
