"""Files of an output folder, read and written through Beam's ``FileSystems`` (fsspec for ``hf://``;
plain local paths are listed and read with the OS, as Beam's local filesystem does, without importing Beam).

Object stores have no directories: a "folder" is a key prefix, listed with a
``**`` match, and a file exists once it is written. Everything that reads or
writes an output part (stats, report, card, publish, tokenize, ledger check)
goes through here, so the same code works on a local disk, ``gs://`` and
``s3://``. The filesystems must have their options (endpoints, credentials)
before the first call: :func:`configure`.
"""

from __future__ import annotations

import io
import os
import posixpath
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from apache_beam.options.pipeline_options import PipelineOptions

COPY_CHUNK = 16 * 1024 * 1024
# Schemes Beam's own filesystems serve; any other URL (``hf://``, ...) is read through fsspec.
BEAM_SCHEMES = ("", "file", "gs", "s3", "hdfs", "azfs")


def _filesystems() -> Any:
    """Beam's ``FileSystems``, imported on first use: the tokenizer and model code read paths through
    this module and must not pay Beam's multi-second import when they never touch a remote file."""
    from apache_beam.io.filesystems import FileSystems

    return FileSystems


def configure(options: PipelineOptions) -> None:
    """Give Beam's filesystems their options (S3 endpoint and keys, GCS project) before any use."""
    _filesystems().set_options(options)


def is_remote(path: str | Path) -> bool:
    text = str(path)
    return "://" in text and not text.startswith("file://")


def uses_fsspec(path: str | Path) -> bool:
    """A URL whose scheme Beam has no filesystem for (``hf://`` and other fsspec protocols)."""
    text = str(path)
    return text.split("://", 1)[0] not in BEAM_SCHEMES if "://" in text else False


def join(root: str | Path, *parts: str) -> str:
    """``root/part/...`` for local paths and URLs alike."""
    root = str(root)
    if is_remote(root):
        return "/".join([root.rstrip("/"), *(p.strip("/") for p in parts)])
    return posixpath.join(root, *parts)


def _on_disk(path: str | Path) -> bool:
    """A plain local path (no scheme): read here with the OS, as Beam's local filesystem would, without
    importing Beam (the tokenizer and model commands list and read local outputs)."""
    return "://" not in str(path)


def exists(path: str | Path) -> bool:
    if _on_disk(path):
        return os.path.exists(path)
    return _filesystems().exists(str(path))


def read_bytes(path: str | Path) -> bytes:
    with open_read(path) as handle:
        return handle.read()


def read_text(path: str | Path) -> str:
    return read_bytes(path).decode("utf-8")


def open_write(path: str | Path) -> io.IOBase:
    """A binary handle that creates the file (compressed only if its suffix says so, ``.gz``); on a local
    disk its folders are made first (object stores need none). The caller closes it."""
    path = str(path)
    if not is_remote(path):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    return _filesystems().create(path)


def write_bytes(path: str | Path, data: bytes) -> str:
    """Write one file (:func:`open_write`)."""
    with open_write(path) as handle:
        handle.write(data)
    return str(path)


def write_text(path: str | Path, text: str) -> str:
    return write_bytes(path, text.encode("utf-8"))


def open_read(path: str | Path) -> io.IOBase:
    """A seekable binary handle (pyarrow's ParquetFile reads footers through it): the local file itself,
    Beam's filesystems for their URLs, or fsspec for schemes Beam lacks (``hf://``)."""
    if _on_disk(path):
        return open(path, "rb")  # the caller closes it
    if uses_fsspec(path):
        import fsspec

        return fsspec.open(str(path), "rb").open()
    return _filesystems().open(str(path), compression_type="uncompressed")


def list_files(folder: str | Path, suffix: str = "") -> list[str]:
    """Every file under ``folder`` (recursively) ending in ``suffix``, sorted: every reader sees one order."""
    return sorted(file_sizes(folder, suffix))


def file_sizes(folder: str | Path, suffix: str = "") -> dict[str, int]:
    """path -> bytes of every file under ``folder`` ending in ``suffix`` (on a local disk the paths Beam's
    local filesystem lists: ``os.walk`` from the folder, joined as given)."""
    if _on_disk(folder):
        return {
            path: os.path.getsize(path)
            for top, _, names in os.walk(folder)
            for path in (os.path.join(top, name) for name in names)
            if path.endswith(suffix)
        }
    found = _filesystems().match([join(folder, "**")])[0].metadata_list
    return {m.path: m.size_in_bytes for m in found if m.path.endswith(suffix)}


def relative(path: str, folder: str | Path) -> str:
    """``path`` relative to ``folder`` (both as listed by :func:`list_files`)."""
    base = str(folder).rstrip("/") + "/"
    if not path.startswith(base):
        raise ValueError(f"{path} is not under {folder}")
    return path[len(base) :]


def subfolders(folder: str | Path, suffix: str = "") -> list[str]:
    """Names of the immediate sub-folders of ``folder`` that hold at least one file ending in ``suffix``."""
    parts = [relative(p, folder).split("/", 1) for p in list_files(folder, suffix)]
    return sorted({part[0] for part in parts if len(part) == 2})


def delete_tree(folder: str | Path) -> None:
    """Remove a folder (local) or every key under a prefix (object stores); nothing there is fine."""
    folder = str(folder)
    if not is_remote(folder):
        if Path(folder).is_dir():
            shutil.rmtree(folder)
        elif Path(folder).exists():
            Path(folder).unlink()
        return
    files = list_files(folder)
    if files:
        _filesystems().delete(files)


def delete_files(paths: Iterable[str], missing_ok: bool = True) -> None:
    """Remove files; with ``missing_ok=False`` a missing one fails (and no file is looked up first: on an
    object store that is a request per file)."""
    paths = [str(p) for p in paths if not missing_ok or exists(p)]
    if not paths:
        return
    if all(_on_disk(p) for p in paths):
        for path in paths:
            os.remove(path)
        return
    _filesystems().delete(paths)


def move_tree(source: str | Path, target: str | Path) -> None:
    """Move every file under ``source`` to the same place under ``target`` (a rename on a local disk,
    a server-side copy and delete on object stores)."""
    source, target = str(source), str(target)
    if not is_remote(source):
        if Path(source).exists():
            Path(target).parent.mkdir(parents=True, exist_ok=True)
            Path(source).rename(target)
        return
    files = list_files(source)
    if files:
        _filesystems().rename(files, [join(target, relative(p, source)) for p in files])


def copy_tree(source: str | Path, target: str | Path) -> None:
    """Copy every file under ``source`` to the same place under ``target`` (server-side on object stores)."""
    files = list_files(source)
    if files:
        _filesystems().copy(files, [join(target, relative(p, str(source))) for p in files])


def download(path: str, local: Path) -> Path:
    """Copy one file to a local path in bounded chunks."""
    local.parent.mkdir(parents=True, exist_ok=True)
    with open_read(path) as source, open(local, "wb") as sink:
        shutil.copyfileobj(source, sink, COPY_CHUNK)
    return local


def upload(local: Path, path: str) -> str:
    """Copy one local file to ``path`` (any filesystem) in bounded chunks."""
    if not is_remote(path):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(local, "rb") as source, _filesystems().create(path) as sink:
        shutil.copyfileobj(source, sink, COPY_CHUNK)
    return path
