"""Helpers shared by the near-dedup tests and bench: run the stage in Beam, score it against exact Jaccard."""

from __future__ import annotations

import hashlib
import json
import threading
from collections import defaultdict

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.runners.portability.fn_api_runner import FnApiRunner

from pipeline.stages.base import StageContext
from pipeline.stages.near_dedup import NearDedupConfig, build

_SINKS: dict[str, list] = defaultdict(list)
_LOCK = threading.Lock()


class _Sink(beam.DoFn):
    """Collects a PCollection into this module's ``_SINKS`` (in-process runner only)."""

    def __init__(self, name: str):
        self._name = name

    def process(self, item) -> None:
        with _LOCK:
            _SINKS[self._name].append(item)


def run_stage(
    docs: list[dict], configs: dict[str, NearDedupConfig], workers: int = 1, portable: bool = False
) -> dict[str, dict]:
    """Run every config on the same documents in one pipeline: name -> {kept, removed}.

    ``portable``: Beam's PortableRunner with the embedded job server and a
    LOOPBACK (in-process) SDK worker, i.e. the Fn API over gRPC; else the
    FnApiRunner with ``workers`` threads.
    """
    token = hashlib.sha1(json.dumps(sorted(configs)).encode()).hexdigest()[:8]
    if portable:
        options = PipelineOptions(
            flags=[], runner="PortableRunner", job_endpoint="embed", environment_type="LOOPBACK"
        )
        pipeline = beam.Pipeline(options=options)
    else:
        options = PipelineOptions(flags=[], direct_num_workers=workers, direct_running_mode="multi_threading")
        pipeline = beam.Pipeline(runner=FnApiRunner(), options=options)
    with pipeline:
        source = pipeline | "Docs" >> beam.Create(docs, reshuffle=False)
        for name, config in configs.items():
            out = source | f"Stage_{name}" >> build(config, StageContext())
            for part in ("kept", "removed"):
                _SINKS.pop(f"{token}/{name}/{part}", None)
                out[part] | f"Sink_{name}_{part}" >> beam.ParDo(_Sink(f"{token}/{name}/{part}"))
    return {
        name: {part: _SINKS.pop(f"{token}/{name}/{part}", []) for part in ("kept", "removed")}
        for name in configs
    }


def clusters_of(removed_rows: list[dict]) -> dict[str, set[str]]:
    """kept id -> all members of its cluster (kept included), from ledger rows."""
    clusters: dict[str, set[str]] = defaultdict(set)
    for row in removed_rows:
        kept = json.loads(row["detail"])["duplicate_of"]
        clusters[kept] |= {kept, row["id"]}
    return clusters
