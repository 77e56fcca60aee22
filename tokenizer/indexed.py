"""Megatron-LM indexed dataset (``MMIDIDX`` version 1): a ``.bin`` of raw tokens and an ``.idx`` index.

Why this format: Megatron-LM (and the BigCode Megatron fork that trained SantaCoder) reads its
pretraining data as a memory-mapped pair of files, so writing it directly lets the curated set go
straight into a reference training run without a conversion step, and lets our own training read
it with zero-copy numpy views.

Layout of ``PREFIX.idx`` (all little-endian), as in ``megatron/core/datasets/indexed_dataset.py``::

    b"MMIDIDX\\x00\\x00"        9 bytes   magic
    <Q  version = 1             8 bytes
    <B  dtype code              1 byte    (table DTYPE_CODES below)
    <Q  sequence count S        8 bytes
    <Q  document count D        8 bytes   = number of documents + 1
    int32[S]   sequence lengths (tokens)
    int64[S]   sequence pointers (byte offset of each sequence in .bin)
    int64[D]   document indices: [0, ...] boundaries into the sequence list

We write one sequence per document, so the document indices are ``0, 1, ..., S``.
``PREFIX.bin`` is the concatenation of all sequences in the given dtype, nothing else.
"""

from __future__ import annotations

import shutil
import struct
from array import array
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType

import numpy as np

INDEX_MAGIC = b"MMIDIDX\x00\x00"
INDEX_VERSION = 1
HEADER_SIZE = len(INDEX_MAGIC) + 8 + 1 + 8 + 8  # 34 bytes

# Megatron's DType enum: code -> numpy dtype.
DTYPE_CODES: dict[int, type[np.number]] = {
    1: np.uint8,
    2: np.int8,
    3: np.int16,
    4: np.int32,
    5: np.int64,
    6: np.float64,
    7: np.float32,
    8: np.uint16,
}
CODE_OF_DTYPE: dict[np.dtype, int] = {np.dtype(t): code for code, t in DTYPE_CODES.items()}


def idx_path(prefix: str | Path) -> Path:
    return Path(f"{prefix}.idx")


def bin_path(prefix: str | Path) -> Path:
    return Path(f"{prefix}.bin")


def dtype_code(dtype: np.dtype | type) -> int:
    """Megatron's numeric code for a token dtype (ValueError for dtypes it cannot read)."""
    try:
        return CODE_OF_DTYPE[np.dtype(dtype)]
    except KeyError:
        raise ValueError(
            f"dtype {np.dtype(dtype)} has no MMIDIDX code; use one of {list(CODE_OF_DTYPE)}"
        ) from None


def encode_index(sizes: Sequence[int] | np.ndarray, dtype: np.dtype | type) -> bytes:
    """The full ``.idx`` file content for sequences of ``sizes`` tokens, one sequence per document."""
    sizes_array = np.asarray(sizes, dtype=np.int64)
    if sizes_array.size and (sizes_array.min() < 0 or sizes_array.max() > np.iinfo(np.int32).max):
        raise ValueError("sequence lengths must fit in int32")
    itemsize = np.dtype(dtype).itemsize
    pointers = np.zeros(len(sizes_array), dtype=np.int64)
    if len(sizes_array) > 1:
        np.cumsum(sizes_array[:-1] * itemsize, out=pointers[1:])
    document_indices = np.arange(len(sizes_array) + 1, dtype=np.int64)
    header = INDEX_MAGIC + struct.pack("<Q", INDEX_VERSION) + struct.pack("<B", dtype_code(dtype))
    header += struct.pack("<Q", len(sizes_array)) + struct.pack("<Q", len(document_indices))
    return (
        header
        + sizes_array.astype("<i4").tobytes()
        + pointers.astype("<i8").tobytes()
        + document_indices.astype("<i8").tobytes()
    )


class IndexedDatasetWriter:
    """Streams documents to ``PREFIX.bin`` and writes ``PREFIX.idx`` on :meth:`finalize`.

    Memory is 4 bytes per document (the lengths); tokens go straight to disk. Token ids that do not
    fit the dtype raise instead of silently wrapping around.
    """

    def __init__(self, prefix: str | Path, dtype: np.dtype | type = np.uint16) -> None:
        self.prefix = Path(prefix)
        self.dtype = np.dtype(dtype)
        dtype_code(self.dtype)  # fail early on an unsupported dtype
        self._limits = np.iinfo(self.dtype) if self.dtype.kind in "iu" else None
        self.prefix.parent.mkdir(parents=True, exist_ok=True)
        self._bin = open(bin_path(self.prefix), "wb")  # closed in finalize
        self._sizes = array("i")
        self._finalized = False

    def add_document(self, tokens: Sequence[int] | np.ndarray) -> None:
        if self._finalized:
            raise RuntimeError(f"{self.prefix}: add_document after finalize")
        values = np.asarray(tokens)
        if values.ndim != 1:
            raise ValueError(f"a document must be a 1-d token sequence, got shape {values.shape}")
        if self._limits is not None and values.size:
            low, high = values.min(), values.max()
            if low < self._limits.min or high > self._limits.max:
                raise ValueError(
                    f"token ids [{low}, {high}] do not fit {self.dtype} (document {len(self._sizes)})"
                )
        self._bin.write(values.astype(self.dtype.newbyteorder("<"), copy=False).tobytes())
        self._sizes.append(values.size)

    def add_index(self, prefix: str | Path) -> None:
        """Append a whole existing dataset (same dtype), as Megatron's builder does to merge shards."""
        other = IndexedDataset(prefix)
        if other.dtype != self.dtype:
            raise ValueError(f"{prefix}: dtype {other.dtype} differs from {self.dtype}")
        self._sizes.extend(int(s) for s in other.sizes)
        del other
        with open(bin_path(prefix), "rb") as source:
            shutil.copyfileobj(source, self._bin)

    @property
    def document_count(self) -> int:
        return len(self._sizes)

    def finalize(self) -> None:
        if self._finalized:
            return
        self._bin.close()
        idx_path(self.prefix).write_bytes(
            encode_index(np.frombuffer(self._sizes, dtype=np.int32), self.dtype)
        )
        self._finalized = True

    def __enter__(self) -> IndexedDatasetWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.finalize()
        else:  # leave no half-written dataset that looks valid
            self._bin.close()
            self._finalized = True


class IndexedDataset:
    """Memory-mapped reader of an ``MMIDIDX`` dataset; ``ds[i]`` is a zero-copy view of sequence ``i``."""

    def __init__(self, prefix: str | Path) -> None:
        self._open(Path(prefix))

    def __getstate__(self) -> dict:
        """Pickle the prefix only (DataLoader workers reopen the maps instead of copying the data)."""
        return {"prefix": str(self.prefix)}

    def __setstate__(self, state: dict) -> None:
        self._open(Path(state["prefix"]))

    def _open(self, prefix: Path) -> None:
        self.prefix = prefix
        path = idx_path(self.prefix)
        with open(path, "rb") as stream:
            header = stream.read(HEADER_SIZE)
        if len(header) < HEADER_SIZE or header[:9] != INDEX_MAGIC:
            raise ValueError(f"{path}: not an MMIDIDX index (bad magic)")
        (version,) = struct.unpack("<Q", header[9:17])
        if version != INDEX_VERSION:
            raise ValueError(f"{path}: unsupported MMIDIDX version {version}")
        code = header[17]
        if code not in DTYPE_CODES:
            raise ValueError(f"{path}: unknown dtype code {code}")
        self._dtype = np.dtype(DTYPE_CODES[code]).newbyteorder("<")
        sequence_count, document_count = struct.unpack("<QQ", header[18:34])
        index = np.memmap(path, mode="r", dtype=np.uint8)
        offset = HEADER_SIZE
        self._sizes = np.frombuffer(index, dtype="<i4", count=sequence_count, offset=offset)
        offset += self._sizes.nbytes
        self._pointers = np.frombuffer(index, dtype="<i8", count=sequence_count, offset=offset)
        offset += self._pointers.nbytes
        self.document_indices = np.frombuffer(index, dtype="<i8", count=document_count, offset=offset)
        data_path = bin_path(self.prefix)
        if data_path.stat().st_size == 0:
            self._data = np.zeros(0, dtype=self._dtype)
        else:
            self._data = np.memmap(data_path, mode="r", dtype=self._dtype)
        expected = int(self._sizes.astype(np.int64).sum())
        if expected != len(self._data):
            raise ValueError(f"{data_path}: holds {len(self._data)} tokens, the index says {expected}")

    def __len__(self) -> int:
        return len(self._sizes)

    def __getitem__(self, i: int) -> np.ndarray:
        if not -len(self) <= i < len(self):
            raise IndexError(f"sequence {i} out of range ({len(self)} sequences)")
        start = int(self._pointers[i]) // self._dtype.itemsize
        return self._data[start : start + int(self._sizes[i])]

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    @property
    def sizes(self) -> np.ndarray:
        return self._sizes

    @property
    def pointers(self) -> np.ndarray:
        return self._pointers

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(self._dtype.type)


def write_indexed(
    prefix: str | Path, docs: Iterable[Sequence[int]], dtype: np.dtype | type = np.uint16
) -> None:
    """Write every document of ``docs`` as one sequence of ``PREFIX.bin`` / ``PREFIX.idx``."""
    with IndexedDatasetWriter(prefix, dtype) as writer:
        for tokens in docs:
            writer.add_document(tokens)


def merge_indexed(
    prefixes: Iterable[str | Path], out_prefix: str | Path, dtype: np.dtype | type = np.uint16
) -> None:
    """Concatenate shards (in the given order) into one dataset, e.g. after parallel tokenization."""
    with IndexedDatasetWriter(out_prefix, dtype) as writer:
        for prefix in prefixes:
            writer.add_index(prefix)
