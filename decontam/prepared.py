"""Benchmark strings prepared once, read by every worker.

Why: with the Hub as the source, every worker's ``setup`` downloads the
benchmarks to extract the strings (APPS's test split is 1.3 GB, mostly test cases we do
not search for; its ~115k questions and solutions are a small part of it).
A prepared file holds only the strings: JSON lines, gzip when the name ends in
``.gz``, on any filesystem Beam knows (local, ``gs://``, ``s3://``). Its first
line records the options the strings were extracted with, and the number of
strings that follow, so a file made for another config, or cut short, is
refused instead of silently matching the wrong set.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from typing import Any

from apache_beam.io.filesystems import FileSystems

from decontam.strings import BenchmarkString

FORMAT = "stackcurate/decontam-strings/1"
SUFFIXES = (".jsonl", ".jsonl.gz")


def is_prepared(source: str) -> bool:
    """A ``source`` naming a prepared strings file rather than ``hub`` or a benchmarks directory."""
    return source.endswith(SUFFIXES)


def write_prepared(path: str, strings: Sequence[BenchmarkString], options: dict[str, Any]) -> None:
    header = {"format": FORMAT, "options": options, "count": len(strings)}
    with FileSystems.create(path) as out:  # compression from the suffix
        out.write(json.dumps(header).encode() + b"\n")
        for item in strings:
            out.write(json.dumps(dataclasses.asdict(item), ensure_ascii=False).encode() + b"\n")


def read_prepared(path: str, options: dict[str, Any]) -> list[BenchmarkString]:
    """The strings of a prepared file, which must have been made with exactly ``options``."""
    with FileSystems.open(path) as source:
        lines = source.read().splitlines()
    if not lines:
        raise ValueError(f"{path}: empty; not a prepared decontam strings file")
    header = json.loads(lines[0])
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ValueError(f"{path}: not a prepared decontam strings file (format {FORMAT})")
    if header["options"] != options:
        changed = sorted(
            k for k in options.keys() | header["options"].keys() if header["options"].get(k) != options.get(k)
        )
        raise ValueError(
            f"{path} was prepared with other options ({', '.join(changed)} differ): prepare it again "
            "with this config (python -m pipeline.prepare_decontam)"
        )
    strings = [BenchmarkString(**json.loads(line)) for line in lines[1:]]
    if len(strings) != header["count"]:
        raise ValueError(f"{path}: {len(strings)} strings, the header says {header['count']}: truncated?")
    return strings
