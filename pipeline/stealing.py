"""Work stealing between local workers: a worker that runs out of input takes half of a busy one's rest.

Why: Beam's FnApiRunner splits each stage's input between its worker processes once, up front
(``ParallelBundleManager``: key k of a grouped input goes to worker k mod n), and the stage ends when
the slowest part does. A unit's cost varies (0.14-0.28 s in the santacoder job's last stage on the
200 MB built-in sample, ~20 units per worker), so on two workers one of them sat idle for 0-0.48 s at
the end of each big stage, a random amount from run to run; on input whose row groups alternate in
size (every other one 4x larger: round robin gives one worker all the large ones) the whole job took
12.1-14.1 s on two workers against 11.6-12.6 with stealing (19.5 s on one).

How: the parts start as Beam starts them. When a worker finishes its part while another is still busy,
the runner asks the busy bundle to split (``ProcessBundleSplitRequest``, Beam's own dynamic work
rebalancing: the worker stops at an element boundary and says where), and the idle worker gets the
elements past that boundary as a bundle of its own, in the same round. Nothing is re-read, and no
element is processed twice: the split's primary ends where the residual begins, both set by the busy
worker. Stages with timers or more than one data input, and runs of one worker, keep Beam's way.

Each worker is also sent the stage's descriptor (a ``register`` instruction, which the worker handles
before the next one) ahead of its first bundle of the stage, on either way: otherwise it asks the runner for it when the
bundle arrives, a round trip of ~4 ms on each of the job's ~35 stages, all of it on the stage's path.
"""

from __future__ import annotations

import concurrent.futures
import time
import weakref
from collections.abc import Mapping
from typing import Any

from apache_beam.metrics import monitoring_infos
from apache_beam.portability.api import beam_fn_api_pb2
from apache_beam.runners.portability.fn_api_runner.fn_runner import BundleManager, ParallelBundleManager
from apache_beam.utils import thread_pool_executor

# A stage whose first part ends sooner than this is not worth a steal: a stolen bundle costs its worker
# ~5-20 ms (start and finish of every step, counters), about what such a stage's imbalance is.
STEAL_AFTER_S = 0.05
# The busy worker keeps this share of what it has not started; the rest goes to the idle one.
KEEP_SHARE = 0.5


class _OneWorker:
    """A stage's bundle context that offers one worker: how a bundle is pinned to a chosen worker
    (Beam's ``BundleManager`` takes the next worker round robin)."""

    def __init__(self, context: Any, handler: Any) -> None:
        self._context = context
        self.worker_handlers = [handler]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._context, name)


class _Part(BundleManager):
    """One bundle of a stage on one worker, with the input it was given, so that it can be split."""

    def __init__(
        self, context: Any, handler: Any, chunks: list[bytes], coder: Any, frequency: Any, tokens: Any
    ) -> None:
        super().__init__(_OneWorker(context, handler), frequency, cache_token_generator=tokens)
        self.handler = handler
        self.chunks = chunks  # the encoded input, as sent
        self.coder = coder
        self._elements: list[Any] | None = None  # decoded when a steal needs them (_decoded)
        self.stop: int | None = None  # where a split ended it
        self.instruction_id: str | None = None
        self.splittable = True

    def _decoded(self) -> list[Any]:
        """The input as sent, decoded on first use (most parts are never split)."""
        if self._elements is None:
            self._elements = list(self.coder.decode_all(b"".join(self.chunks)))
        return self._elements

    @property
    def owned(self) -> int:
        """How many input elements the part still owns: all it was sent, or up to where a split cut it."""
        return len(self._decoded()) if self.stop is None else self.stop

    def give_up(self, first: int) -> list[Any]:
        """Cut the part at ``first`` (the busy worker's split) and return what it gave up."""
        stolen = self._decoded()[first : self.owned]
        self.stop = first
        return stolen

    def _send_input_to_worker(
        self, process_bundle_id: str, read_transform_id: str, byte_streams: Any
    ) -> None:
        self.instruction_id = process_bundle_id  # known before the bundle starts
        super()._send_input_to_worker(process_bundle_id, read_transform_id, byte_streams)


_REGISTERED: weakref.WeakKeyDictionary[Any, set[str]] = weakref.WeakKeyDictionary()  # handler -> ids sent


def register_ahead(handler: Any, descriptor: Any) -> None:
    """Send ``descriptor`` to the worker behind ``handler`` unless it was sent before; not waited for (a
    worker that failed to take it asks for it as before)."""
    sent = _REGISTERED.setdefault(handler, set())
    if descriptor.id in sent:
        return
    sent.add(descriptor.id)
    handler.control_conn.push(
        beam_fn_api_pb2.InstructionRequest(
            instruction_id=f"register_{descriptor.id}",
            register=beam_fn_api_pb2.RegisterRequest(process_bundle_descriptor=[descriptor]),
        )
    )


def first_residual(split: Any, transform_id: str, owned: int) -> int | None:
    """Where a split response cut the input of ``transform_id`` (its first element given up); None
    when the worker did not split it (it had finished, or had only its current element left)."""
    for channel in split.channel_splits:
        if channel.transform_id == transform_id and channel.first_residual_element < owned:
            return channel.first_residual_element
    return None


class StealingBundleManager(ParallelBundleManager):
    """``ParallelBundleManager`` whose idle workers take over half of a busy worker's remaining input."""

    def process_bundle(
        self,
        inputs: Mapping[str, Any],
        expected_outputs: Any,
        fired_timers: Mapping[Any, Any],
        expected_output_timers: Any,
        dry_run: bool = False,
    ) -> Any:
        handlers = self.bundle_context_manager.worker_handlers[: self._num_workers]
        for handler in handlers:  # Beam's way below runs on these workers too
            register_ahead(handler, self.bundle_context_manager.process_bundle_descriptor)
        if dry_run or fired_timers or expected_output_timers or len(inputs) != 1 or self._num_workers < 2:
            return super().process_bundle(
                inputs, expected_outputs, fired_timers, expected_output_timers, dry_run
            )
        ((transform_id, buffer),) = inputs.items()
        coder = self.bundle_context_manager.get_input_coder_impl(transform_id)
        results: list[Any] = []
        deferred: list[Any] = []  # splits inside an element (splittable DoFns): Beam re-runs those
        chunks_by_worker = buffer.partition(len(handlers))
        started = time.monotonic()
        with thread_pool_executor.shared_unbounded_instance() as executor:
            running: dict[concurrent.futures.Future, _Part] = {}

            def start(handler: Any, chunks: list[bytes]) -> None:
                part = _Part(
                    self.bundle_context_manager,
                    handler,
                    chunks,
                    coder,
                    self._progress_frequency,
                    self._cache_token_generator,
                )
                future = executor.submit(
                    part.process_bundle, {transform_id: chunks}, expected_outputs, {}, {}
                )
                running[future] = part

            for handler, chunks in zip(handlers, chunks_by_worker, strict=True):
                start(handler, list(chunks))
            while running:
                done, _ = concurrent.futures.wait(running, return_when=concurrent.futures.FIRST_COMPLETED)
                idle = []
                for future in done:
                    result, splits = future.result()
                    results.append(result)
                    deferred += splits
                    idle.append(running.pop(future).handler)
                if time.monotonic() - started < STEAL_AFTER_S:
                    continue
                for handler in idle:
                    stolen = self._steal(transform_id, list(running.values()), deferred)
                    if stolen is None:
                        break
                    start(handler, [coder.encode_all(stolen)])
        return _merged(results), deferred

    def _steal(self, transform_id: str, busy: list[_Part], deferred: list[Any]) -> list[Any] | None:
        """The elements a busy part gives up (the one that owns the most input), or None if none would."""
        for victim in sorted(busy, key=lambda part: part.owned, reverse=True):
            owned = victim.owned
            if not victim.splittable or victim.instruction_id is None or owned < 2:
                continue
            response = victim.handler.control_conn.push(_split_request(victim, transform_id, owned)).get()
            # An error: the bundle is not known (not started yet, or finished) or failed (its own
            # response says why). Either way it is not split.
            split = response.process_bundle_split
            first = None if response.error else first_residual(split, transform_id, owned)
            if first is None:
                victim.splittable = False
                continue
            if split.residual_roots:  # the current element split too (a splittable DoFn): Beam's deferral
                residual_only = beam_fn_api_pb2.ProcessBundleSplitResponse()
                residual_only.residual_roots.extend(split.residual_roots)
                deferred.append(residual_only)
            return victim.give_up(first)
        return None


def _split_request(part: _Part, transform_id: str, owned: int) -> beam_fn_api_pb2.InstructionRequest:
    return beam_fn_api_pb2.InstructionRequest(
        process_bundle_split=beam_fn_api_pb2.ProcessBundleSplitRequest(
            instruction_id=part.instruction_id,
            desired_splits={
                transform_id: beam_fn_api_pb2.ProcessBundleSplitRequest.DesiredSplit(
                    fraction_of_remainder=KEEP_SHARE, estimated_input_elements=owned
                )
            },
        )
    )


def _merged(results: list[Any]) -> Any:
    """One response for the stage: every bundle's counters consolidated at once, the first error kept."""
    if len(results) == 1:
        return results[0]
    return beam_fn_api_pb2.InstructionResponse(
        process_bundle=beam_fn_api_pb2.ProcessBundleResponse(
            monitoring_infos=monitoring_infos.consolidate(
                [info for result in results for info in result.process_bundle.monitoring_infos]
            )
        ),
        error=next((result.error for result in results if result.error), ""),
    )
