"""Work stealing between local workers (pipeline.stealing): an idle worker takes over the rest of a busy
one's input, every element is processed exactly once, and the counters add up."""

import threading
import time

import apache_beam as beam
import pytest
from apache_beam.metrics import MetricsFilter
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.portability.api import beam_fn_api_pb2

from pipeline import stealing
from pipeline.runners import LocalRunner

ELEMENTS = 24
SLOW_S = 0.08  # per element in the first bundle of the stage: that part takes ~1 s alone
FAST_S = 0.01  # per element elsewhere: the other part ends after ~0.12 s, past STEAL_AFTER_S


def split_response(transform_id: str, last_primary: int, first_residual: int):
    response = beam_fn_api_pb2.ProcessBundleSplitResponse()
    response.channel_splits.add(
        transform_id=transform_id, last_primary_element=last_primary, first_residual_element=first_residual
    )
    return response


def test_first_residual_reads_the_busy_workers_cut():
    assert stealing.first_residual(split_response("read", 6, 7), "read", owned=12) == 7
    # the worker kept everything it owns (it was on its last element): nothing to take
    assert stealing.first_residual(split_response("read", 11, 12), "read", owned=12) is None
    # another input's cut, or no cut at all
    assert stealing.first_residual(split_response("other", 6, 7), "read", owned=12) is None
    assert stealing.first_residual(beam_fn_api_pb2.ProcessBundleSplitResponse(), "read", owned=12) is None


class SlowFirstBundle(beam.DoFn):
    """The first bundle of the stage is slow (one worker's whole part); every other bundle is fast."""

    lock = threading.Lock()
    bundles = 0

    def start_bundle(self):
        with SlowFirstBundle.lock:
            SlowFirstBundle.bundles += 1
            self.slow = SlowFirstBundle.bundles == 1
        beam.metrics.Metrics.counter("test", "bundles").inc()

    def process(self, item):
        key, values = item
        time.sleep(SLOW_S if self.slow else FAST_S)
        beam.metrics.Metrics.counter("test", "slow_elements" if self.slow else "fast_elements").inc()
        beam.metrics.Metrics.counter("test", "values").inc(len(list(values)))
        yield key


def counters(result) -> dict[str, int]:
    found = result.metrics().query(MetricsFilter().with_namespace("test"))["counters"]
    return {c.key.metric.name: c.committed for c in found}


@pytest.fixture
def steals(monkeypatch):
    """How many splits the runner asked for and how many gave work away."""
    seen = {"asked": 0, "taken": 0}
    steal = stealing.StealingBundleManager._steal

    def counted(self, *args):
        seen["asked"] += 1
        stolen = steal(self, *args)
        seen["taken"] += stolen is not None
        return stolen

    monkeypatch.setattr(stealing.StealingBundleManager, "_steal", counted)
    return seen


def run_skewed(tmp_path):
    SlowFirstBundle.bundles = 0
    options = PipelineOptions(["--direct_running_mode", "multi_threading", "--direct_num_workers", "2"])
    found = tmp_path / "keys.txt"
    p = beam.Pipeline(runner=LocalRunner.with_options(options), options=options)
    keys = (
        p
        | beam.Create([(k, v) for k in range(ELEMENTS) for v in range(3)])
        | beam.GroupByKey()
        | beam.ParDo(SlowFirstBundle())
    )
    _ = (
        keys
        | beam.combiners.ToList()
        | beam.Map(lambda all_keys: found.write_text(",".join(map(str, sorted(all_keys)))))
    )
    result = p.run()
    result.wait_until_finish()
    return [int(k) for k in found.read_text().split(",")], counters(result)


def test_an_idle_worker_takes_over_the_rest_of_a_busy_ones_part(tmp_path, steals):
    keys, counted = run_skewed(tmp_path)
    assert keys == list(range(ELEMENTS))  # each key once: nothing lost, nothing processed twice
    assert counted["values"] == 3 * ELEMENTS
    assert counted["slow_elements"] + counted["fast_elements"] == ELEMENTS
    # the slow bundle owned half of the keys (GroupByKey's output is split round robin) and kept
    # fewer: the fast worker took the rest of its part in bundles of its own
    assert counted["slow_elements"] < ELEMENTS // 2
    assert counted["bundles"] > 2
    assert steals["taken"] >= 1


def test_a_stage_shorter_than_the_threshold_is_not_split(tmp_path, steals, monkeypatch):
    monkeypatch.setattr(stealing, "STEAL_AFTER_S", 60.0)
    keys, counted = run_skewed(tmp_path)
    assert keys == list(range(ELEMENTS))
    assert counted["slow_elements"] == ELEMENTS // 2  # Beam's own split, kept to the end
    assert steals["asked"] == 0


def test_workers_get_each_stages_descriptor_ahead_and_never_ask_for_it(tmp_path, monkeypatch):
    from apache_beam.runners.portability.fn_api_runner import worker_handlers

    fetched = []
    fetch = worker_handlers.BeamFnControlServicer.GetProcessBundleDescriptor

    def counted(self, request, context=None):
        fetched.append(request.process_bundle_descriptor_id)
        return fetch(self, request, context)

    monkeypatch.setattr(worker_handlers.BeamFnControlServicer, "GetProcessBundleDescriptor", counted)
    sent = []
    register_ahead = stealing.register_ahead
    monkeypatch.setattr(stealing, "register_ahead", lambda h, d: (sent.append(d.id), register_ahead(h, d)))
    keys, _ = run_skewed(tmp_path)
    assert keys == list(range(ELEMENTS))
    assert len(set(sent)) >= 3 and len(sent) == 2 * len(set(sent))  # every stage, to both workers
    assert fetched == []  # without the registration each worker asks once per stage
