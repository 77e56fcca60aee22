"""Finding real code on this machine and screening it for the sample (see :mod:`samplegen.sample`).

Real files are kept only when UTF-8, <= 1 MiB, not empty or binary, passing
the basic filter, free of benchmark text, and neither an exact nor a near
duplicate of another kept file, so that ``truth.json`` is the whole truth.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import sysconfig
import zipfile
from collections import Counter
from pathlib import Path

import ahocorasick
import numpy as np
from tqdm import tqdm

from dedup.lsh import band_keys
from dedup.minhash import MinHashParams, jaccard, shingle_keys, signatures_of_keys, token_hashes
from pipeline.ids import content_digest
from samplegen import cases

MAX_FILE_BYTES = 1 << 20

LANG_EXTS = {"Python": (".py",), "JavaScript": (".js", ".mjs", ".cjs"), "Java": (".java",)}
SKIP_DIRS = {"site-packages", "dist-packages", "__pycache__", ".git"}


# ---------------------------------------------------------------- finding real code
def _walk(root: Path, exts: tuple[str, ...]) -> list[tuple[str, int]]:
    found = []
    for here, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
        for name in sorted(files):
            full = Path(here) / name
            if name.endswith(exts) and full.is_file():
                found.append((full.relative_to(root).as_posix(), full.stat().st_size))
    return sorted(found)


class Source:
    """A directory or a zip of source files of one language."""

    def __init__(self, lang: str, location: Path):
        self.lang, self.location = lang, location
        self._zip = zipfile.ZipFile(location) if location.suffix == ".zip" else None
        if self._zip:
            infos = [
                i for i in self._zip.infolist() if i.filename.endswith(LANG_EXTS[lang]) and not i.is_dir()
            ]
            self.files = sorted((i.filename, i.file_size) for i in infos)
        else:
            self.files = _walk(location, LANG_EXTS[lang])

    def read(self, rel_path: str) -> bytes:
        return self._zip.read(rel_path) if self._zip else (self.location / rel_path).read_bytes()

    def text(self, rel_path: str) -> str:
        """The file as text (undecodable bytes replaced): what tests and benchmarks feed the stages."""
        return self.read(rel_path).decode("utf-8", "replace")


def find_sources(java_dir: str | None = None, js_dir: str | None = None) -> dict[str, Source]:
    """The real code this machine has, per language (a language is absent when none is found)."""
    found = {"Python": Path(sysconfig.get_paths()["stdlib"])}
    npm = Path("/usr/lib/node_modules/npm")
    if not npm.is_dir() and shutil.which("npm"):
        npm = next((p for p in Path(shutil.which("npm")).resolve().parents if p.name == "npm"), npm)
    if js_dir or npm.is_dir():
        found["JavaScript"] = Path(js_dir) if js_dir else npm
    zips = sorted({p.resolve() for p in Path("/usr/lib/jvm").glob("*/lib/src.zip")}) if not java_dir else []
    if java_dir or zips:
        found["Java"] = Path(java_dir) if java_dir else zips[0]
    sources = {lang: Source(lang, path) for lang, path in found.items()}
    return {lang: source for lang, source in sources.items() if source.files}


# ---------------------------------------------------------------- screening
class NearDupIndex:
    """MinHash LSH over word 5-grams and unigrams (near-dedup's hashing, ``dedup.minhash`` and
    ``dedup.lsh``); a candidate counts when its exact Jaccard is high.

    Low limits (5-gram >= 0.5, unigram >= 0.7) keep real files well away from the
    near-dedup thresholds (0.7 / 0.85), so only planted pairs are near duplicates.
    Candidates whose signature agreement is far below the limit skip the exact check.
    """

    SETTINGS = {5: (16, 2, 0.5), 1: (10, 5, 0.7)}  # n -> (bands, rows, exact-Jaccard limit)
    MARGIN = 0.25

    def __init__(self) -> None:
        self.params = {n: MinHashParams(ngram=n, num_perm=b * r) for n, (b, r, _) in self.SETTINGS.items()}
        self.sigs = {n: np.zeros((1024, b * r), np.uint32) for n, (b, r, _) in self.SETTINGS.items()}
        self.buckets: dict[bytes, list[int]] = {}
        self.sets: list[dict[int, np.ndarray]] = []

    def add_if_new(self, content: str) -> bool:
        hashes = token_hashes(content, MinHashParams().seed)
        sets = {n: shingle_keys(hashes, n) for n in self.SETTINGS}
        keys, sigs, me = [], {}, len(self.sets)
        for n, (bands, rows, limit) in self.SETTINGS.items():
            if not len(sets[n]):
                continue
            sigs[n] = sig = signatures_of_keys([sets[n]], self.params[n])[0]
            mine = [bytes([n]) + key for key in band_keys(sig, bands, rows)]
            keys += mine
            found = {o for k in mine for o in self.buckets.get(k, ())}
            if found:
                others = np.fromiter(sorted(found), np.int64, len(found))
                agree = (self.sigs[n][others] == sig).mean(axis=1)
                for other in others[agree >= limit - self.MARGIN]:
                    if jaccard(sets[n], self.sets[other][n]) >= limit:
                        return False
        for n in sigs:
            if me >= len(self.sigs[n]):
                self.sigs[n] = np.concatenate([self.sigs[n], np.zeros_like(self.sigs[n])])
            self.sigs[n][me] = sigs[n]
        for key in keys:
            self.buckets.setdefault(key, []).append(me)
        self.sets.append(sets)
        return True


class Screen:
    """Decides whether a real file may enter the sample, and counts why files were skipped."""

    def __init__(self, benchmark_strings: dict[str, set]):
        self.automaton = ahocorasick.Automaton() if benchmark_strings else None
        for text, labels in benchmark_strings.items():
            self.automaton.add_word(text, frozenset(labels))
        if self.automaton:
            self.automaton.make_automaton()
        self.seen: set[bytes] = set()
        self.near = NearDupIndex()
        self.skipped: Counter = Counter()

    def bench_hits(self, text: str) -> set:
        if not self.automaton:
            return set()
        return {label for _end, labels in self.automaton.iter(text.lower()) for label in labels}

    def reason_to_skip(self, data: bytes) -> str | None:
        try:
            content = data.decode("utf-8")
        except UnicodeDecodeError:
            return "not_utf8"
        if not content.strip():
            return "empty"
        if re.search(r"[\x00-\x08\x0e-\x1a\x1c-\x1f]", content):
            return "binary"
        if not cases.passes_basic(content):
            return "basic"
        if self.automaton and next(self.automaton.iter(content.lower()), None):
            return "benchmark_text"
        digest = content_digest(data)
        if digest in self.seen:
            return "exact_duplicate"
        self.seen.add(digest)
        if not self.near.add_if_new(content):
            return "near_duplicate"
        return None


class Pool:
    """Screened real files of one language, read lazily in a seeded order."""

    def __init__(self, source: Source, seed: int, screen: Screen, progress: tqdm):
        order = [f for f in source.files if 0 < f[1] <= MAX_FILE_BYTES]
        random.Random(f"{seed}|{source.lang}").shuffle(order)
        self.lang, self.source, self.order = source.lang, source, order
        self.screen, self.progress = screen, progress
        self.next, self.spare = 0, []

    def _read_next(self) -> tuple[str, str] | None:
        while self.next < len(self.order):
            rel, size = self.order[self.next]
            self.next += 1
            data = self.source.read(rel)
            why = self.screen.reason_to_skip(data)
            if why:
                self.screen.skipped[f"{self.lang}:{why}"] += 1
                continue
            self.progress.update(size)
            return rel, data.decode("utf-8")
        return None

    def take(
        self, min_lines: int = 0, max_lines: int = 10**9, max_bytes: int = 12_000
    ) -> tuple[str, str] | None:
        """An unused file of min..max lines without PII-like text (for planting); others are kept as spares."""
        for i, (_rel, content) in enumerate(self.spare):
            if self._fits(content, min_lines, max_lines, max_bytes):
                return self.spare.pop(i)
        while (got := self._read_next()) is not None:
            if self._fits(got[1], min_lines, max_lines, max_bytes):
                return got
            self.spare.append(got)
        return None

    @staticmethod
    def _fits(content: str, min_lines: int, max_lines: int, max_bytes: int) -> bool:
        lines = content.count("\n") + 1
        return (
            min_lines <= lines <= max_lines
            and len(content) <= max_bytes
            and not cases.PII_LIKE.search(content)
        )

    def fill(self, budget: int) -> list[tuple[str, str]]:
        """Unused files until ``budget`` bytes (spares first)."""
        got, used = [], 0
        while used < budget:
            item = self.spare.pop(0) if self.spare else self._read_next()
            if item is None:
                break
            size = len(item[1].encode("utf-8"))
            if used + size > budget + 20_000 and used > 0:
                continue
            got.append(item)
            used += size
        return got
