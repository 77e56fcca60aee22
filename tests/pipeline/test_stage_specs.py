"""Stage specs: every stage declares one shape, and the graph checks the declarations before it is wired."""

from __future__ import annotations

import logging

import apache_beam as beam
import pyarrow as pa
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.runners.portability.fn_api_runner import FnApiRunner

from pipeline.graph import check_stages
from pipeline.inputs import DERIVED_COLUMNS, REQUIRED_COLUMNS
from pipeline.outputs import ARROW_TYPES
from pipeline.stages import ORDER, load_spec
from pipeline.stages.base import GROUPING, JUDGE, ConfigError, Resources, StageConfig, StageSpec, Verdict
from tests.stage_runner import run_stage

GPU = "type:nvidia-l4;count:1;install-nvidia-driver"
SCHEMA = pa.schema([(name, pa.string()) for name in (*REQUIRED_COLUMNS, *DERIVED_COLUMNS)])


class Doubler:
    """Reads ``length`` (written by :class:`Lengths`), writes ``twice``."""

    def setup(self) -> None:
        pass

    def judge(self, docs):
        return [
            Verdict(keep=doc["length"] < 10, reason="long", scores={"twice": 2 * doc["length"]})
            for doc in docs
        ]


class Lengths:
    def setup(self) -> None:
        pass

    def judge(self, docs):
        return [Verdict(scores={"length": len(doc["content"])}) for doc in docs]


def spec(name: str, needs=("content",), columns=None, accelerator=None, make=Lengths) -> StageSpec:
    return StageSpec(
        name,
        StageConfig,
        make_judge=lambda config, ctx: make,
        needs=needs,
        columns=columns or {},
        resources=lambda config: Resources(accelerator=accelerator),
    )


def check(specs: list[StageSpec], argv: list[str] | None = None) -> None:
    # the runner named by the options is what the check reads; the pipeline itself never runs
    pipeline = beam.Pipeline(runner=FnApiRunner(), options=PipelineOptions(argv or []))
    check_stages([(s, StageConfig(enabled=True)) for s in specs], SCHEMA, pipeline)


def test_every_stage_declares_one_shape():
    kinds = {}
    for name in ORDER:
        declared = load_spec(name)
        assert declared.name == name and issubclass(declared.config, StageConfig)
        assert set(declared.columns.values()) <= set(ARROW_TYPES), name
        kinds[name] = declared.kind
    assert {n for n, kind in kinds.items() if kind == GROUPING} == {
        "exact_dedup",
        "near_dedup",
        "near_dedup_alt",
    }
    assert all(
        kind == JUDGE for n, kind in kinds.items() if n not in ("exact_dedup", "near_dedup", "near_dedup_alt")
    )
    # every stage's needs are met by the input schema alone, so any subset of stages can run
    check([load_spec(name) for name in ORDER if name != "score"])
    with pytest.raises(TypeError, match="exactly one"):
        StageSpec("both", StageConfig)


def test_a_needed_column_comes_from_the_input_or_an_earlier_stage():
    lengths = spec("lengths", columns={"length": "int64"})
    doubler = spec("doubler", needs=("length",), columns={"twice": "int64"}, make=Doubler)
    check([lengths, doubler])
    with pytest.raises(ConfigError, match="stage doubler: needs column.* length, which neither the input"):
        check([doubler, lengths])


def test_a_score_column_written_twice_or_of_unknown_type_is_refused():
    with pytest.raises(ConfigError, match="stage second: writes column length, which stage first writes too"):
        check([spec("first", columns={"length": "int64"}), spec("second", columns={"length": "int64"})])
    with pytest.raises(ConfigError, match="stage odd: column length has unknown type 'int32'"):
        check([spec("odd", columns={"length": "int32"})])


def test_an_accelerator_needs_a_runner_that_places_it(caplog):
    gpu = spec("gpu", accelerator=GPU)
    with pytest.raises(
        ConfigError, match="stage gpu: asks for accelerator .* this runner \\(flink\\) ignores it"
    ):
        check([gpu], ["--runner=FlinkRunner", "--flink_master=flink.example.com:8081"])
    with caplog.at_level(logging.WARNING, logger="stackcurate.graph"):
        check([gpu])  # local: a warning, the stage uses this machine's accelerator if any
    assert "stage gpu: asks for accelerator" in caplog.text
    check([gpu], ["--runner=DataflowRunner"])  # placed on accelerator workers: no error


def test_the_framework_chains_declared_columns(tmp_path):
    """A stage reading an earlier stage's score column, through the one-stage runner: kept documents carry it."""
    docs = [{"id": f"d{i}", "content": "x" * (5 * i), "max_stars_repo_name": "o/r", "max_stars_repo_path": "a"}
            for i in range(4)]  # fmt: skip
    kept, _ = run_stage(
        spec("lengths", columns={"length": "int64"}), StageConfig(enabled=True), docs, tmp_path
    )
    assert sorted((d["id"], d["length"]) for d in kept) == [("d0", 0), ("d1", 5), ("d2", 10), ("d3", 15)]
