"""Parquet files joined end to end without decoding them: their row groups' bytes copied into one file.

Why: the data writer's shard used to be made by re-reading (decoding) its input units and encoding the kept
rows again, on one worker, after every other step had finished. Now each piece's kept rows are encoded
where the last stage judged them, as a small parquet *fragment*, on every worker at once; a shard is its
fragments' row groups copied in order, with a new footer. A parquet file is ``PAR1``, the row groups'
pages, then the footer (a Thrift ``FileMetaData``, compact protocol), its length and ``PAR1``; the footer
holds absolute byte offsets, so a row group copied to another position needs them moved by as much. That
is all this module does: it decodes each fragment's footer into a generic Thrift tree (every field kept,
so re-encoding it gives the same bytes), moves the offsets and row-group ordinals, and writes one footer
for all the row groups. Every fragment must have the same schema (the data writer's), and no page index.

The Thrift compact protocol: https://github.com/apache/thrift/blob/master/doc/specs/thrift-compact-protocol.md;
the footer's fields: parquet-format's ``parquet.thrift``.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, BinaryIO

MAGIC = b"PAR1"
_TRUE, _FALSE, _BYTE, _I16, _I32, _I64, _DOUBLE, _BINARY, _LIST, _SET, _MAP, _STRUCT = range(1, 13)
_STOP = 0


@dataclass
class Field:
    """One field of a Thrift struct, as found: its id, compact type and value (a struct is a list of
    Fields; a list or set is (element type, values); a map is (key type, value type, pairs))."""

    id: int
    type: int
    value: Any


class _Reader:
    def __init__(self, data: bytes):
        self._data = data
        self.pos = 0

    def byte(self) -> int:
        value = self._data[self.pos]
        self.pos += 1
        return value

    def varint(self) -> int:
        shift = result = 0
        while True:
            b = self.byte()
            result |= (b & 0x7F) << shift
            if not b & 0x80:
                return result
            shift += 7

    def zigzag(self) -> int:
        n = self.varint()
        return (n >> 1) ^ -(n & 1)

    def raw(self, size: int) -> bytes:
        value = self._data[self.pos : self.pos + size]
        if len(value) != size:
            raise ValueError("parquet footer: truncated")
        self.pos += size
        return value

    def value(self, kind: int) -> Any:
        if kind in (_TRUE, _FALSE):  # inside a list, set or map: a byte of its own
            return self.byte()
        if kind == _BYTE:
            return self.byte()
        if kind in (_I16, _I32, _I64):
            return self.zigzag()
        if kind == _DOUBLE:
            return self.raw(8)
        if kind == _BINARY:
            return self.raw(self.varint())
        if kind in (_LIST, _SET):
            header = self.byte()
            size, element = header >> 4, header & 0x0F
            if size == 15:
                size = self.varint()
            return element, [self.value(element) for _ in range(size)]
        if kind == _MAP:
            size = self.varint()
            if not size:
                return 0, 0, []
            types = self.byte()
            key, value = types >> 4, types & 0x0F
            return key, value, [(self.value(key), self.value(value)) for _ in range(size)]
        if kind == _STRUCT:
            return self.struct()
        raise ValueError(f"parquet footer: unknown Thrift compact type {kind}")

    def struct(self) -> list[Field]:
        fields, last = [], 0
        while (header := self.byte()) != _STOP:
            delta, kind = header >> 4, header & 0x0F
            number = last + delta if delta else self.zigzag()
            value = kind == _TRUE if kind in (_TRUE, _FALSE) else self.value(kind)
            fields.append(Field(number, kind, value))
            last = number
        return fields


class _Writer:
    def __init__(self) -> None:
        self.out = bytearray()

    def varint(self, n: int) -> None:
        while n > 0x7F:
            self.out.append((n & 0x7F) | 0x80)
            n >>= 7
        self.out.append(n)

    def zigzag(self, n: int) -> None:
        self.varint((n << 1) ^ (n >> 63))

    def value(self, kind: int, value: Any) -> None:
        if kind in (_TRUE, _FALSE, _BYTE):
            self.out.append(value)
        elif kind in (_I16, _I32, _I64):
            self.zigzag(value)
        elif kind == _DOUBLE:
            self.out += value
        elif kind == _BINARY:
            self.varint(len(value))
            self.out += value
        elif kind in (_LIST, _SET):
            element, values = value
            if len(values) < 15:
                self.out.append(len(values) << 4 | element)
            else:
                self.out.append(0xF0 | element)
                self.varint(len(values))
            for item in values:
                self.value(element, item)
        elif kind == _MAP:
            key, val, pairs = value
            self.varint(len(pairs))
            if pairs:
                self.out.append(key << 4 | val)
                for k, v in pairs:
                    self.value(key, k)
                    self.value(val, v)
        elif kind == _STRUCT:
            self.struct(value)
        else:
            raise ValueError(f"parquet footer: unknown Thrift compact type {kind}")

    def struct(self, fields: list[Field]) -> None:
        last = 0
        for field in fields:
            kind = (_TRUE if field.value else _FALSE) if field.type in (_TRUE, _FALSE) else field.type
            delta = field.id - last
            if 0 < delta <= 15:
                self.out.append(delta << 4 | kind)
            else:
                self.out.append(kind)
                self.zigzag(field.id)
            if field.type not in (_TRUE, _FALSE):
                self.value(field.type, field.value)
            last = field.id
        self.out.append(_STOP)


def decode_struct(data: bytes) -> list[Field]:
    return _Reader(data).struct()


def encode_struct(fields: list[Field]) -> bytes:
    writer = _Writer()
    writer.struct(fields)
    return bytes(writer.out)


def _get(fields: list[Field], number: int) -> Field | None:
    return next((f for f in fields if f.id == number), None)


# parquet.thrift field ids
_META_NUM_ROWS, _META_ROW_GROUPS = 3, 4
_GROUP_COLUMNS, _GROUP_FILE_OFFSET, _GROUP_ORDINAL = 1, 5, 7
_CHUNK_FILE_OFFSET, _CHUNK_META, _CHUNK_OFFSET_INDEX, _CHUNK_COLUMN_INDEX = 2, 3, 4, 6
_COLUMN_OFFSETS = (9, 10, 11, 14)  # data, index and dictionary page offsets, bloom filter offset
# A page index's column index holds no offsets (moving where it is suffices); an offset index holds each
# page's offset, which is not rewritten: files with one are refused (the data writer writes none).


def _move(fields: list[Field], numbers: Iterable[int], by: int) -> None:
    for field in fields:
        if field.id in numbers and field.value > 0:  # 0: not set
            field.value += by


def split(data: bytes) -> tuple[bytes, list[Field]]:
    """A parquet file's bytes -> (its row groups' bytes, from after the leading magic to the footer; its
    footer, decoded)."""
    if len(data) < 12 or data[:4] != MAGIC or data[-4:] != MAGIC:
        raise ValueError("not a parquet file (an encrypted footer is not supported either)")
    (length,) = struct.unpack("<I", data[-8:-4])
    start = len(data) - 8 - length
    return data[4:start], decode_struct(data[start:-8])


def concatenate(files: Iterable[bytes], out: BinaryIO) -> int:
    """Write the row groups of ``files`` (parquet files of one schema), in order, as one parquet file on
    ``out``; the footer is the first file's with every row group and the total row count. Returns the
    rows written. With no file, nothing is written (the caller writes an empty file its own way)."""
    meta: list[Field] | None = None
    groups: list[Any] = []
    rows = 0
    position = len(MAGIC)
    for data in files:
        body, footer = split(data)
        if meta is None:
            out.write(MAGIC)
            meta = footer
        by = position - len(MAGIC)
        for group in _get(footer, _META_ROW_GROUPS).value[1]:
            _move(group, (_GROUP_FILE_OFFSET,), by)
            ordinal = _get(group, _GROUP_ORDINAL)
            if ordinal is not None:
                ordinal.value = len(groups)
            for chunk in _get(group, _GROUP_COLUMNS).value[1]:
                if _get(chunk, _CHUNK_OFFSET_INDEX) is not None:  # its page offsets would need moving too
                    raise ValueError("parquet files with page indexes cannot be joined here")
                _move(chunk, (_CHUNK_FILE_OFFSET, _CHUNK_COLUMN_INDEX), by)
                column = _get(chunk, _CHUNK_META)
                if column is not None:
                    _move(column.value, _COLUMN_OFFSETS, by)
            groups.append(group)
        rows += _get(footer, _META_NUM_ROWS).value
        out.write(body)
        position += len(body)
    if meta is None:
        return 0
    _get(meta, _META_NUM_ROWS).value = rows
    _get(meta, _META_ROW_GROUPS).value = (_STRUCT, groups)  # a required field: present, maybe empty
    footer = encode_struct(meta)
    out.write(footer)
    out.write(struct.pack("<I", len(footer)))
    out.write(MAGIC)
    return rows
