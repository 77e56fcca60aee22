"""The job's options (``pipeline.options.JobOptions``): Beam's views of them made once per class, with
the same values a new view would have."""

from __future__ import annotations

import pickle

import apache_beam as beam
from apache_beam.internal import pickler
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions, TypeOptions

from pipeline.job import build, make_plan
from pipeline.options import CurateOptions, JobOptions, parse
from tests.conftest import base_args

ARGV = ["--input", "in", "--output", "out", "--runner", "FnApiRunner", "--experiments", "a"]


def new_view(options: PipelineOptions, cls: type) -> PipelineOptions:
    """The view Beam's own ``view_as`` makes (a new one every call)."""
    return PipelineOptions.view_as(options, cls)


def test_the_run_parses_into_job_options_whose_views_are_kept():
    options = parse(ARGV)
    assert isinstance(options, JobOptions)
    assert options.view_as(TypeOptions) is options.view_as(TypeOptions)
    assert options.view_as(CurateOptions).input == "in"


def test_a_kept_view_shares_the_values_with_new_views_both_ways():
    options = JobOptions(ARGV)
    kept = options.view_as(StandardOptions)
    kept.runner = "PortableRunner"
    assert new_view(options, StandardOptions).runner == "PortableRunner"
    new_view(options, TypeOptions).pipeline_type_check = False
    assert options.view_as(TypeOptions).pipeline_type_check is False
    assert options.get_all_options()["runner"] == "PortableRunner"
    assert options.get_all_options()["experiments"] == ["a"]


def test_a_replaced_store_of_values_gets_new_views():
    options = JobOptions(ARGV)
    before = options.view_as(StandardOptions)
    options._all_options = dict(options._all_options, runner="DataflowRunner")
    after = options.view_as(StandardOptions)
    assert after is not before
    assert after.runner == "DataflowRunner"


def test_copies_of_the_options_carry_the_values_not_the_kept_views():
    options = JobOptions(ARGV)
    options.view_as(StandardOptions).runner = "PortableRunner"
    for copy in (pickle.loads(pickle.dumps(options)), pickler.loads(pickler.dumps(options))):
        assert "_kept_views" not in copy.__dict__
        assert copy.get_all_options() == options.get_all_options()
        assert copy.view_as(StandardOptions).runner == "PortableRunner"


def test_building_the_santacoder_graph_makes_a_few_views_not_one_per_transform(
    sample_dir, shared_dir, tmp_path, monkeypatch
):
    """Beam asks for a view for every transform it applies (~400 for santacoder); each new one parses the
    whole command line again."""
    made = []
    beams_view_as = PipelineOptions.view_as

    def counting(self, cls):
        made.append(cls)
        return beams_view_as(self, cls)

    monkeypatch.setattr(PipelineOptions, "view_as", counting)
    plan = make_plan(base_args(sample_dir, tmp_path / "out", shared_dir) + ["--preset", "santacoder"])
    pipeline = beam.Pipeline(options=plan.options)
    build(pipeline, plan)
    transforms = len(pipeline.to_runner_api().components.transforms)
    assert transforms > 100
    assert len(made) <= 30
