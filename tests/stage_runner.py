"""Run one stage's Beam transform on a few documents (in-process FnApiRunner)."""

from __future__ import annotations

import json


def run_stage(spec, config, docs: list[dict], tmp_path, ctx=None) -> tuple[list[dict], list[dict]]:
    """The stage's Beam transform on ``docs`` with the in-process FnApiRunner: (kept docs, ledger rows)."""
    import apache_beam as beam
    from apache_beam.runners.portability.fn_api_runner import FnApiRunner

    from pipeline.stages.base import StageContext

    with beam.Pipeline(runner=FnApiRunner()) as pipeline:
        outputs = pipeline | beam.Create(docs) | spec.build(config, ctx or StageContext())
        for key in ("kept", "removed"):
            _ = (
                outputs[key]
                | f"Json_{key}" >> beam.Map(json.dumps)
                | f"Write_{key}" >> beam.io.WriteToText(str(tmp_path / key))
            )
    return tuple(
        [
            json.loads(line)
            for path in sorted(tmp_path.glob(f"{key}-*"))
            for line in path.read_text().splitlines()
        ]
        for key in ("kept", "removed")
    )
