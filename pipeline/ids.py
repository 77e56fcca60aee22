"""Deterministic document ids and per-document derived columns.

The id depends only on the row's repo name, path and a hash of its content,
never on its position, so every runner, worker count and shard layout gives
the same id to the same row. The ids digest (a sum of id hashes) lets the ledger
check compare the ids of an output with the input's in O(1) memory.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
import string
from collections.abc import Iterable

LANG_BY_EXT = {
    ".py": "python",
    ".java": "java",
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "javascript",
}
LANG_ALIASES = {
    "python": "python",
    "java": "java",
    "javascript": "javascript",
    "js": "javascript",
    "py": "python",
}


def content_digest(content: str | bytes | memoryview | None) -> bytes:
    """16-byte BLAKE2b digest of the content (UTF-8; surrogates kept so bad text still hashes); bytes
    (or a view of them, as a reader slices a column's buffer) are hashed as they are."""
    if content is None:
        data = b"\x00null"
    elif isinstance(content, str):
        data = content.encode("utf-8", "surrogatepass")
    else:
        data = content
    return hashlib.blake2b(data, digest_size=16).digest()


def git_blob_sha1(data: bytes) -> str:
    """Git's object id of a file with these bytes: The Stack's ``hexsha``, and what the Hub reports
    for a small (non-LFS) file."""
    return hashlib.sha1(b"blob %d\x00" % len(data) + data).hexdigest()


def doc_id(repo: str | None, path: str | None, content: str | bytes | None) -> str:
    """20-hex-char id from (repo, path, content hash)."""
    return id_of_digest(repo, path, content_digest(content))


def id_of_digest(repo: str | None, path: str | None, digest: bytes) -> str:
    """:func:`doc_id` from the content's :func:`content_digest` (a reader that keeps the digest)."""
    h = hashlib.blake2b(digest_size=10)
    h.update((repo or "").encode("utf-8", "surrogatepass"))
    h.update(b"\x00")
    h.update((path or "").encode("utf-8", "surrogatepass"))
    h.update(b"\x00")
    h.update(digest)
    return h.hexdigest()


def normalize_lang(lang: str | None, path: str | None) -> str:
    """Lower-case language name: the ``lang`` column when present, else from the path's extension."""
    if lang:
        key = str(lang).strip().lower()
        return LANG_ALIASES.get(key, key)
    ext = posixpath.splitext(path or "")[1].lower()
    return LANG_BY_EXT.get(ext, "unknown")


ASCII_ALNUM = (string.ascii_letters + string.digits).encode()
# ``[^\W_]`` matches exactly the characters for which ``str.isalnum()`` is true.
ALNUM_RUN = re.compile(r"[^\W_]+")


def line_stats(content: str) -> tuple[float, int, float]:
    """(avg_line_length, max_line_length, alphanum_fraction) as bigcode-dataset defines them.

    Alphanumerics are counted in C (bytes.translate / a regex), not per character in Python.
    """
    lengths = list(map(len, content.splitlines())) or [0]
    if not content:
        alnum = 0
    elif content.isascii():
        data = content.encode("ascii")
        alnum = len(data) - len(data.translate(None, ASCII_ALNUM))
    else:
        alnum = sum(map(len, ALNUM_RUN.findall(content)))
    return (
        float(sum(lengths) / len(lengths)),
        int(max(lengths)),
        float(alnum / len(content) if content else 0.0),
    )


def reference_line_stats(content: str) -> tuple[float, int, float]:
    """The obvious per-character definition, kept for tests."""
    lengths = [len(line) for line in content.splitlines()] or [0]
    alnum = sum(c.isalnum() for c in content) / len(content) if content else 0.0
    return float(sum(lengths) / len(lengths)), int(max(lengths)), float(alnum)


DIGEST_MODULUS = 1 << 128


def id_hash(doc_id: str) -> int:
    """The 128-bit hash of one id that :func:`ids_digest` sums."""
    return int.from_bytes(hashlib.blake2b(doc_id.encode("utf-8"), digest_size=16).digest(), "big")


def digest_sum(ids: Iterable[str]) -> int:
    """Sum of the ids' hashes mod 2**128: sums of parts (batches, shards, workers) add up to the whole's."""
    return sum(map(id_hash, ids)) % DIGEST_MODULUS


def format_digest(total: int) -> str:
    """A digest sum as the 32 hex chars stats.json records."""
    return format(total % DIGEST_MODULUS, "032x")


def ids_digest(ids: Iterable[str]) -> str:
    """Order-independent digest of a multiset of ids: sum of their hashes mod 2**128, as 32 hex chars."""
    return format_digest(digest_sum(ids))
