"""Beam wrapper of benchmark decontamination (``decontam``): drop files containing benchmark text.

The benchmark strings are loaded and compiled into one automaton once per
worker process (the judge's ``setup``); each document is then one
pass, and the automaton is only read, so all threads of a process share it. The ledger reason is the
benchmark name, so ``stats.json`` counts removals per benchmark; ``detail``
names the task, the field and where in the file the string starts.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import zlib
from collections.abc import Callable, Sequence
from typing import Literal

from pydantic import Field

from decontam.core import Decontaminator
from decontam.loaders import MULTIPL_E_LANGS, load_benchmark_strings
from decontam.prepared import is_prepared, read_prepared
from decontam.strings import BENCHMARKS, HUMANEVAL_WHITELIST, BenchmarkString
from pipeline.stages.base import StageConfig, StageContext, StageSpec, Verdict

log = logging.getLogger(__name__)

Benchmark = Literal["humaneval", "mbpp", "apps", "multipl-e"]
Language = Literal["python", "java", "javascript"]


class DecontamConfig(StageConfig):
    benchmarks: list[Benchmark] = Field(default_factory=lambda: list(BENCHMARKS))
    # "hub", a local directory in the original formats, or a prepared strings file (.jsonl[.gz], local or
    # remote: python -m pipeline.prepare_decontam); --benchmarks_dir overrides
    source: str = "hub"
    mode: Literal["substring", "ngram"] = "substring"  # ngram = substring + shared word n-grams
    ngram_size: int = Field(13, ge=1)
    ngram_max_tasks: int = Field(10, ge=1)  # n-grams in more benchmark tasks than this are boilerplate
    min_chars: int = Field(0, ge=0)  # skip benchmark strings shorter than this (normalised)
    whitelist: list[str] = Field(default_factory=lambda: list(HUMANEVAL_WHITELIST))
    apps_solutions: bool = True
    apps_split: str = "test"  # Hub split; a local directory is matched as found
    multipl_e_languages: list[Language] = Field(default_factory=lambda: list(MULTIPL_E_LANGS))
    anchor_chars: int = Field(32, ge=4)  # automaton key length (memory vs. candidate checks)


def resolve_source(cfg: DecontamConfig, ctx: StageContext) -> str:
    """``--benchmarks_dir`` (a local directory) wins over the config's ``source``."""
    return ctx.benchmarks_dir or cfg.source


def string_options(cfg: DecontamConfig) -> dict:
    """What the set of strings is a function of (besides the source): recorded in prepared files."""
    return {
        "benchmarks": list(cfg.benchmarks),
        "whitelist": list(cfg.whitelist),
        "apps_solutions": cfg.apps_solutions,
        "apps_split": cfg.apps_split,
        "multipl_e_languages": list(cfg.multipl_e_languages),
    }


def load_strings(cfg: DecontamConfig, source: str) -> list:
    if is_prepared(source):
        return read_prepared(source, string_options(cfg))
    return load_benchmark_strings(source=source, **string_options(cfg))


def is_local(source: str) -> bool:
    return source != "hub" and "://" not in source


def pack_strings(strings: list[BenchmarkString]) -> bytes:
    """zlib of the strings' JSON: what a stage ships instead of a path (a DoFn is unpickled in every
    worker thread, so it should hold a few compressed MB, not every string as Python objects)."""
    rows = [dataclasses.astuple(item) for item in strings]
    return zlib.compress(json.dumps(rows, ensure_ascii=False).encode(), 6)


def unpack_strings(packed: bytes) -> list[BenchmarkString]:
    return [BenchmarkString(*row) for row in json.loads(zlib.decompress(packed))]


class DecontamJudge:
    """``source`` is read in ``setup`` (Hub, remote prepared file, or a local folder / file for direct
    use); ``packed`` (from :func:`pack_strings`) is what a stage built from a local source carries."""

    def __init__(self, cfg: DecontamConfig, source: str | None, packed: bytes | None = None):
        self.cfg = cfg
        self.source = source
        self.packed = packed
        self.finder: Decontaminator | None = None

    def setup(self) -> None:
        if self.finder is not None:
            return
        cfg = self.cfg
        strings = unpack_strings(self.packed) if self.packed is not None else load_strings(cfg, self.source)
        self.finder = Decontaminator(
            strings,
            mode=cfg.mode,
            min_chars=cfg.min_chars,
            ngram_size=cfg.ngram_size,
            ngram_max_tasks=cfg.ngram_max_tasks,
            anchor_chars=cfg.anchor_chars,
        )
        log.info("decontam: %s", self.finder.substrings.stats())

    def judge(self, docs: Sequence[dict]) -> list[Verdict]:
        self.setup()
        verdicts = []
        for doc in docs:
            content = doc.get("content")
            finding = self.finder.find(content) if isinstance(content, str) else None
            if finding is None:
                verdicts.append(Verdict())
            else:
                verdicts.append(Verdict(keep=False, reason=finding.benchmark, detail=finding.detail()))
        return verdicts


def make_judge(cfg: DecontamConfig, ctx: StageContext) -> Callable[[], DecontamJudge]:
    """A local benchmark folder or prepared file is read here and its strings shipped with the stage,
    compressed, because remote workers cannot open the launcher's paths; Hub and ``gs://`` / ``s3://``
    sources are read once per worker process (a prepared file holds only the strings; the Hub download
    is GBs: prepare it for Dataflow)."""
    source = resolve_source(cfg, ctx)
    if is_local(source):
        packed = pack_strings(load_strings(cfg, source))
        return functools.partial(DecontamJudge, cfg, None, packed)
    return functools.partial(DecontamJudge, cfg, source)


SPEC = StageSpec(name="decontam", config=DecontamConfig, make_judge=make_judge)
