"""Bundle processors built ahead in a worker's idle time (pipeline.processors_ahead): built in the stages'
order, only while no bundle runs, once per stage, and used by the stage's first bundle."""

import threading
import time

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.portability.api import beam_fn_api_pb2
from apache_beam.runners.worker import bundle_processor, sdk_worker

from pipeline import stealing
from pipeline.processors_ahead import AheadProcessorCache
from pipeline.runners import LocalRunner


class FakeProcessor:
    """Stands in for Beam's BundleProcessor: records which stage it was built for, and when."""

    built: list[str] = []
    gates: dict[str, threading.Event] = {}  # a stage whose build waits for its event
    failing: set[str] = set()

    def __init__(self, capabilities, descriptor, state_handler, data_channel_factory, data_sampler=None):
        if descriptor.id in FakeProcessor.failing:
            raise ValueError(f"cannot build {descriptor.id}")
        gate = FakeProcessor.gates.get(descriptor.id)
        if gate is not None:
            assert gate.wait(10)
        self.stage = descriptor.id
        FakeProcessor.built.append(descriptor.id)

    def reset(self):
        pass

    def shutdown(self):
        pass


class NoState:
    def create_state_handler(self, descriptor):
        return None


class NoData:
    def cleanup(self, instruction_id):
        pass


@pytest.fixture
def cache(monkeypatch):
    FakeProcessor.built, FakeProcessor.gates, FakeProcessor.failing = [], {}, set()
    monkeypatch.setattr(bundle_processor, "BundleProcessor", FakeProcessor)
    made = AheadProcessorCache(frozenset(), NoState(), NoData(), {}, None)
    yield made
    made.shutdown()


def announce(cache, *stages):
    for stage in stages:
        cache.register(beam_fn_api_pb2.ProcessBundleDescriptor(id=stage))


def settle(cache, count, timeout=10.0):
    """Wait until ``count`` processors were built (or tried) ahead."""
    end = time.monotonic() + timeout
    while len(cache._tried) < count or cache._building is not None:
        assert time.monotonic() < end, "the builder did not get there"
        time.sleep(0.005)


def test_announced_stages_are_built_in_order_and_used_by_their_first_bundle(cache):
    announce(cache, "1", "2", "3")
    settle(cache, 3)
    assert FakeProcessor.built == ["1", "2", "3"]
    processor = cache.get("bundle-1", "2")
    assert processor.stage == "2"
    cache.release("bundle-1")
    assert FakeProcessor.built == ["1", "2", "3"]  # nothing built again
    assert (cache.built_ahead, cache.served_ahead) == (3, 1)


def test_nothing_is_built_while_a_bundle_runs(cache):
    announce(cache, "1")
    settle(cache, 1)
    cache.get("bundle-1", "1")  # the worker is busy from here
    announce(cache, "2", "3")
    time.sleep(0.2)
    assert FakeProcessor.built == ["1"]
    cache.release("bundle-1")  # idle again
    settle(cache, 3)
    assert FakeProcessor.built == ["1", "2", "3"]


def test_a_bundle_waits_for_its_stage_being_built_rather_than_build_a_second(cache):
    FakeProcessor.gates["1"] = gate = threading.Event()
    announce(cache, "1")
    time.sleep(0.05)  # the builder is inside stage 1's build
    got = {}
    asking = threading.Thread(target=lambda: got.update(processor=cache.get("bundle-1", "1")))
    asking.start()
    time.sleep(0.1)
    assert asking.is_alive() and not got  # waiting, not building its own
    gate.set()
    asking.join(10)
    assert got["processor"].stage == "1"
    assert FakeProcessor.built == ["1"]
    assert cache.served_ahead == 1


def test_a_stage_already_asked_for_is_not_built_ahead(cache):
    announce(cache, "1")
    settle(cache, 1)
    cache.get("bundle-1", "1")
    announce(cache, "2")
    cache.get("bundle-2", "2")  # stage 2 started (built by Beam's own path) before the worker was idle
    cache.release("bundle-1")
    cache.release("bundle-2")
    time.sleep(0.1)
    assert FakeProcessor.built == ["1", "2"]  # stage 2 once: by its bundle
    assert cache.built_ahead == 1


def test_a_stage_that_fails_to_build_ahead_fails_in_its_bundle(cache):
    FakeProcessor.failing.add("2")
    announce(cache, "1", "2", "3")
    settle(cache, 3)
    assert FakeProcessor.built == ["1", "3"]  # the builder went on past it
    with pytest.raises(ValueError, match="cannot build 2"):
        cache.get("bundle-1", "2")  # Beam's own build, with its error


class SlowFirstBundle(beam.DoFn):
    """The stage's first bundle takes ~0.5 s, so the worker with the other part waits that long."""

    lock = threading.Lock()
    bundles = 0

    def start_bundle(self):
        with SlowFirstBundle.lock:
            SlowFirstBundle.bundles += 1
            self.slow = SlowFirstBundle.bundles == 1

    def process(self, item):
        if self.slow:
            time.sleep(0.05)
        yield item[0] % 5, item[0]


def test_a_waiting_worker_builds_the_next_stages_processors(tmp_path, monkeypatch):
    caches = []

    class Recorded(AheadProcessorCache):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            caches.append(self)

    monkeypatch.setattr(sdk_worker, "BundleProcessorCache", Recorded)
    monkeypatch.setattr(stealing, "STEAL_AFTER_S", 60.0)  # the fast worker waits for the slow one
    SlowFirstBundle.bundles = 0
    options = PipelineOptions(["--direct_running_mode", "multi_threading", "--direct_num_workers", "2"])
    found = tmp_path / "sums.txt"
    p = beam.Pipeline(runner=LocalRunner.with_options(options), options=options)
    _ = (
        p
        | beam.Create([(k, 1) for k in range(20)])
        | "ByKey" >> beam.GroupByKey()
        | beam.ParDo(SlowFirstBundle())
        | "ByRest" >> beam.GroupByKey()
        | beam.MapTuple(lambda rest, keys: (rest, sum(keys)))
        | beam.combiners.ToList()
        | beam.Map(lambda sums: found.write_text(repr(sorted(sums))))
    )
    p.run().wait_until_finish()
    assert found.read_text() == repr([(r, sum(k for k in range(20) if k % 5 == r)) for r in range(5)])
    assert len(caches) == 2  # one per worker
    # every stage after the slow one found its processor built on the worker that waited, and no
    # processor was built twice on a worker for want of waiting
    stages = len(caches[0]._announced)
    assert stages >= 4
    assert max(c.served_ahead for c in caches) >= stages - 2
    assert all(c.built_ahead <= stages for c in caches)
