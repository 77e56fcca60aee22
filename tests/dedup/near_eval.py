"""Helpers shared by the near-dedup tests and bench: run the stage in Beam, score it against exact Jaccard."""

from __future__ import annotations

import json
from collections import defaultdict

from apache_beam.options.pipeline_options import PipelineOptions

from pipeline.stages.near_dedup import SPEC, NearDedupConfig
from tests.stage_runner import run_stages


def run_stage(
    docs: list[dict], configs: dict[str, NearDedupConfig], workers: int = 1, portable: bool = False
) -> dict[str, dict]:
    """Run every config on the same documents in one pipeline, through the batch framework as the
    pipeline runs the stage: name -> {kept, removed}.

    ``portable``: Beam's PortableRunner with the embedded job server and a
    LOOPBACK (in-process) SDK worker, i.e. the Fn API over gRPC; else the
    FnApiRunner with ``workers`` threads.
    """
    if portable:
        options = PipelineOptions(
            flags=[], runner="PortableRunner", job_endpoint="embed", environment_type="LOOPBACK"
        )
    else:
        options = PipelineOptions(flags=[], direct_num_workers=workers, direct_running_mode="multi_threading")
    out = run_stages({name: (SPEC, config) for name, config in configs.items()}, docs, options=options)
    return {name: {part: out[name][part] for part in ("kept", "removed")} for name in configs}


def clusters_of(removed_rows: list[dict]) -> dict[str, set[str]]:
    """kept id -> all members of its cluster (kept included), from ledger rows."""
    clusters: dict[str, set[str]] = defaultdict(set)
    for row in removed_rows:
        kept = json.loads(row["detail"])["duplicate_of"]
        clusters[kept] |= {kept, row["id"]}
    return clusters
