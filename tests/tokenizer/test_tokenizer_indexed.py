"""The Megatron MMIDIDX writer/reader: byte-exact layout on a hand-computed case, and round trips."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from tokenizer.indexed import (
    IndexedDataset,
    IndexedDatasetWriter,
    encode_index,
    merge_indexed,
    write_indexed,
)

# Three documents [1, 2, 3], [65535], [] as uint16, computed by hand from Megatron's layout.
EXPECTED_IDX = bytes.fromhex(
    "4d4d4944494458 0000"  # magic b"MMIDIDX\x00\x00"
    "0100000000000000"  # <Q version 1
    "08"  # <B dtype code 8 = uint16
    "0300000000000000"  # <Q sequence count 3
    "0400000000000000"  # <Q document count 4 (documents + 1)
    "03000000 01000000 00000000"  # int32 sizes 3, 1, 0
    "0000000000000000 0600000000000000 0800000000000000"  # int64 byte pointers 0, 6, 8
    "0000000000000000 0100000000000000 0200000000000000 0300000000000000"  # int64 doc indices 0..3
)
EXPECTED_BIN = bytes.fromhex("0100 0200 0300 ffff")


def test_idx_and_bin_match_the_megatron_layout_byte_for_byte(tmp_path):
    write_indexed(tmp_path / "tiny", [[1, 2, 3], [65535], []])
    assert (tmp_path / "tiny.idx").read_bytes() == EXPECTED_IDX
    assert (tmp_path / "tiny.bin").read_bytes() == EXPECTED_BIN
    assert len(EXPECTED_IDX) == 34 + 3 * 4 + 3 * 8 + 4 * 8


def test_int32_tokens_use_code_4_and_4_byte_pointers():
    data = encode_index([2, 5], np.int32)
    assert data[17] == 4
    pointers = np.frombuffer(data, dtype="<i8", count=2, offset=34 + 8)
    assert pointers.tolist() == [0, 8]


def test_reader_returns_what_was_written(tmp_path):
    rng = np.random.default_rng(0)
    docs = [rng.integers(0, 49_157, size=int(n)).tolist() for n in rng.integers(0, 300, size=200)]
    with IndexedDatasetWriter(tmp_path / "ds") as writer:
        for doc in docs:
            writer.add_document(doc)
    ds = IndexedDataset(tmp_path / "ds")
    assert len(ds) == 200
    assert ds.dtype == np.uint16
    assert ds.sizes.dtype == np.int32
    assert ds.sizes.tolist() == [len(d) for d in docs]
    assert [ds[i].tolist() for i in range(len(ds))] == docs
    assert ds[-1].tolist() == docs[-1]
    assert ds.document_indices.tolist() == list(range(201))
    assert (tmp_path / "ds.bin").stat().st_size == 2 * sum(len(d) for d in docs)
    with pytest.raises(IndexError):
        ds[200]


def test_pickling_reopens_the_files_instead_of_copying_tokens(tmp_path):
    write_indexed(tmp_path / "big", [list(range(1000))] * 50)
    data = pickle.dumps(IndexedDataset(tmp_path / "big"))
    assert len(data) < 500  # the prefix, not 100 kB of tokens
    assert pickle.loads(data)[49].tolist() == list(range(1000))


def test_numpy_documents_and_empty_dataset(tmp_path):
    write_indexed(tmp_path / "np", [np.array([7, 8], dtype=np.int64), np.arange(3)], dtype=np.int32)
    ds = IndexedDataset(tmp_path / "np")
    assert ds.dtype == np.int32 and [d.tolist() for d in ds] == [[7, 8], [0, 1, 2]]
    write_indexed(tmp_path / "empty", [])
    assert len(IndexedDataset(tmp_path / "empty")) == 0


def test_token_out_of_dtype_range_is_an_error(tmp_path):
    with IndexedDatasetWriter(tmp_path / "bad") as writer:
        with pytest.raises(ValueError, match="do not fit uint16"):
            writer.add_document([1, 70_000])
        with pytest.raises(ValueError, match="do not fit uint16"):
            writer.add_document([-1])
    with pytest.raises(ValueError, match="no MMIDIDX code"):
        IndexedDatasetWriter(tmp_path / "bad2", dtype=np.uint32)


def test_failed_write_leaves_no_index(tmp_path):
    with pytest.raises(RuntimeError):
        with IndexedDatasetWriter(tmp_path / "half") as writer:
            writer.add_document([1, 2])
            raise RuntimeError("worker died")
    assert not (tmp_path / "half.idx").exists()


def test_merge_equals_writing_everything_at_once(tmp_path):
    parts = [[[1, 2], [3]], [[4, 5, 6]], [[], [7]]]
    for k, docs in enumerate(parts):
        write_indexed(tmp_path / f"part{k}", docs)
    merge_indexed([tmp_path / f"part{k}" for k in range(3)], tmp_path / "merged")
    write_indexed(tmp_path / "direct", [d for docs in parts for d in docs])
    for suffix in (".bin", ".idx"):
        assert (tmp_path / f"merged{suffix}").read_bytes() == (tmp_path / f"direct{suffix}").read_bytes()


def test_corrupt_files_are_rejected(tmp_path):
    write_indexed(tmp_path / "ok", [[1, 2, 3]])
    (tmp_path / "ok.bin").write_bytes(b"\x01\x00")
    with pytest.raises(ValueError, match="holds 1 tokens, the index says 3"):
        IndexedDataset(tmp_path / "ok")
    (tmp_path / "ok.idx").write_bytes(b"NOTMEGATRON" + bytes(40))
    with pytest.raises(ValueError, match="bad magic"):
        IndexedDataset(tmp_path / "ok")
