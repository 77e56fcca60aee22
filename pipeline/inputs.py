"""Reading Stack-format input: parquet and jsonl(.gz), local, ``gs://``, ``hf://`` and any fsspec URL.

Files are listed when the pipeline is built, and their schemas are checked
there, so a missing column or a corrupt file is an error that names the file
before any worker starts. Workers read one parquet row group (or one jsonl
file) per unit, as bounded Arrow batches (``pipeline.batches``), so large
inputs spread over many workers.
"""

from __future__ import annotations

import gzip
import io
import json
import posixpath
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from pipeline import store
from pipeline.ids import doc_id, line_stats, normalize_lang
from pipeline.schema import STACK_TYPES  # unknown columns keep the type found in the input

REQUIRED_COLUMNS = ("content", "max_stars_repo_name", "max_stars_repo_path")
INPUT_SUFFIXES = (".parquet", ".jsonl", ".jsonl.gz", ".json.gz", ".ndjson")
SCHEMA_CHECK_LIMIT = 256
FOOTER_THREADS = 16  # files opened at once: an object store answers each request in tens of milliseconds

DERIVED_COLUMNS = ("id", "lang", "avg_line_length", "max_line_length", "alphanum_fraction")


class InputError(ValueError):
    """Bad input that a user must fix: names the file (and row)."""


Result = TypeVar("Result")


def per_file(read: Callable[[str], Result], paths: Sequence[str]) -> list[Result]:
    """``read`` of every path, in path order, on threads: on gs:// or s3:// a few hundred footers one after
    another take seconds to minutes; the first failing path (in path order) raises."""
    if len(paths) <= 1:
        return [read(path) for path in paths]
    with ThreadPoolExecutor(min(FOOTER_THREADS, len(paths))) as pool:
        return list(pool.map(read, paths))


def open_binary(path: str) -> io.IOBase:
    """Open for reading through Beam's filesystems, or fsspec for schemes Beam lacks (``hf://``)."""
    return store.open_read(path)


def _is_input_file(path: str) -> bool:
    return path.endswith(INPUT_SUFFIXES)


def list_inputs(spec: str) -> list[str]:
    """Expand a comma-separated list of files, folders (or object-store prefixes) and globs into sorted input files."""
    return sorted(list_input_sizes(spec))


def list_input_sizes(spec: str) -> dict[str, int]:
    """Input file -> size in bytes, for :func:`list_inputs` and the run's input summary."""
    files: dict[str, int] = {}
    for part in [p.strip() for p in spec.split(",") if p.strip()]:
        files.update(_expand(part))
    if not files:
        raise InputError(f"--input {spec!r}: no parquet or jsonl files found")
    return dict(sorted(files.items()))


def _expand(pattern: str) -> dict[str, int]:
    """A file, a folder or prefix (every input file below it), or a glob -> {file: size}."""
    has_glob = any(c in pattern for c in "*?[")
    if store.uses_fsspec(pattern):
        import fsspec

        fs, _, paths = fsspec.get_fs_token_paths(pattern)
        protocol = pattern.split("://", 1)[0]
        if not has_glob and fs.isdir(paths[0]):
            paths = [p for p in fs.find(paths[0]) if _is_input_file(p)]
        return {(f"{protocol}://{p}" if "://" not in p else p): int(fs.size(p) or 0) for p in paths}
    if has_glob:
        matches = FileSystems.match([pattern])[0].metadata_list
    elif _is_input_file(pattern):
        matches = FileSystems.match([pattern])[0].metadata_list if FileSystems.exists(pattern) else []
        if not matches:
            raise InputError(f"--input: {pattern} does not exist")
    else:
        # A folder, or on an object store a key prefix (object stores have no directories to test for).
        matches = FileSystems.match([posixpath.join(pattern.rstrip("/"), "**")])[0].metadata_list
        if not matches and not FileSystems.exists(pattern):
            raise InputError(f"--input: {pattern} does not exist (no file, folder or prefix of that name)")
    return {m.path: m.size_in_bytes for m in matches if _is_input_file(m.path)}


def describe_inputs(spec: str, sizes: dict[str, int]) -> dict:
    """What a published card and stats.json may say about the input: schemes, the locations given
    (object-store URLs as given, local ones by their last name only), file count and bytes."""
    locations = []
    for part in [p.strip() for p in spec.split(",") if p.strip()]:
        if "://" in part and not part.startswith("file://"):
            locations.append(part)
        else:
            local = part.removeprefix("file://").rstrip("/")
            locations.append(f"local:{posixpath.basename(local) or local}")
    schemes = sorted({p.split("://", 1)[0] if "://" in p else "file" for p in sizes})
    return {
        "schemes": schemes,
        "locations": locations,
        "files": len(sizes),
        "file_bytes": sum(sizes.values()),
    }


def _parquet_schema(path: str) -> pa.Schema:
    try:
        with open_binary(path) as handle:
            return pq.ParquetFile(handle).schema_arrow
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"{path}: not a readable parquet file: {exc}") from exc


def jsonl_lines(path: str) -> Iterator[tuple[int, bytes]]:
    with open_binary(path) as raw:
        stream = gzip.GzipFile(fileobj=raw) if path.endswith(".gz") else raw
        try:
            for number, line in enumerate(stream, start=1):
                if line.strip():
                    yield number, line
        except (OSError, EOFError) as exc:
            raise InputError(f"{path}: cannot be read: {exc}") from exc


def parse_json_line(path: str, number: int, line: bytes) -> dict:
    text = line.decode("utf-8", "surrogateescape")
    try:
        row = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}, line {number}: not valid JSON: {exc}") from exc
    if not isinstance(row, dict):
        raise InputError(f"{path}, line {number}: expected a JSON object")
    return row


def _jsonl_schema(path: str, sample_rows: int = 200) -> pa.Schema:
    rows = []
    for number, line in jsonl_lines(path):
        rows.append(parse_json_line(path, number, line))
        if len(rows) >= sample_rows:
            break
    names: dict[str, None] = {}
    for row in rows:
        names.update(dict.fromkeys(row))
    fields = []
    for name in names:
        if name in STACK_TYPES:
            fields.append(pa.field(name, STACK_TYPES[name]))
            continue
        values = [row.get(name) for row in rows]
        try:
            inferred = pa.array(values).type
        except (pa.ArrowException, TypeError):  # safe: mixed JSON types in a column are read as text
            inferred = pa.string()
        fields.append(pa.field(name, pa.string() if pa.types.is_null(inferred) else inferred))
    return pa.schema(fields)


def file_schema(path: str) -> pa.Schema:
    schema = _parquet_schema(path) if path.endswith(".parquet") else _jsonl_schema(path)
    missing = [c for c in REQUIRED_COLUMNS if c not in schema.names]
    if missing:
        raise InputError(f"{path}: missing required column(s) {', '.join(missing)}")
    return schema


def input_schema(files: list[str]) -> pa.Schema:
    """Check schemas up front and return the unified input schema with Stack types where known."""
    fields: dict[str, pa.DataType] = {}
    for schema in per_file(file_schema, files[:SCHEMA_CHECK_LIMIT]):
        for fld in schema:
            fields.setdefault(fld.name, STACK_TYPES.get(fld.name, fld.type))
    for name in DERIVED_COLUMNS:
        fields.setdefault(name, STACK_TYPES[name])
    return pa.schema([pa.field(name, typ) for name, typ in fields.items()])


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def make_encodable(row: dict[str, Any]) -> dict[str, Any]:
    """Undecodable text cannot cross a Beam coder: content becomes its raw bytes (the validate
    stage records it as ``invalid``), other text fields get U+FFFD. Call after the id is set."""
    for key, value in row.items():
        if isinstance(value, str) and not _encodable(value):
            if key == "content":
                row[key] = value.encode(
                    "utf-8", "surrogateescape" if _escaped_only(value) else "surrogatepass"
                )
            else:
                row[key] = value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return row


def _escaped_only(text: str) -> bool:
    try:
        text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return False
    return True


def prepare(row: dict[str, Any]) -> dict[str, Any]:
    """Add ``id``, the lower-case ``lang`` and line statistics when missing.

    Content that is not valid UTF-8 stays bytes, so that the validate stage
    records it as ``invalid`` instead of a worker crashing.
    """
    content = row.get("content")
    if isinstance(content, bytes):
        try:
            content = row["content"] = content.decode("utf-8")
        except UnicodeDecodeError:
            pass  # safe: the bytes stay, and the validate stage records the row as invalid
    repo, path = row.get("max_stars_repo_name"), row.get("max_stars_repo_path")
    # a JSON number or list as content is hashed as its JSON text; validate records it as not_text
    hashed = content if content is None or isinstance(content, (str, bytes)) else json.dumps(content)
    row["id"] = doc_id(repo, path, hashed)
    row["lang"] = normalize_lang(row.get("lang"), path)
    if isinstance(content, str) and any(row.get(c) is None for c in DERIVED_COLUMNS[2:]):
        avg, longest, alnum = line_stats(content)
        row["avg_line_length"], row["max_line_length"], row["alphanum_fraction"] = avg, longest, alnum
    return row
