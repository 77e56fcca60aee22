"""Re-reading units on a thread, a few batches ahead of the step that consumes them.

Why: the data writer re-reads its units and encodes its row groups one after the other, and a large
language's shard is one file, written by one worker while the others may have nothing left to do.
Parquet decoding and the writer's encoding and compression both run without the GIL, so with the
next batches decoded on a thread a shard takes about as long as the slower of the two instead of
their sum. At most ``AHEAD`` batches are held (each bounded by ``pipeline.batches``), never a unit.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator, Sequence

import pyarrow as pa

from pipeline.batches import Unit, read_unit

AHEAD = 2  # batches decoded and not yet taken
UNIT_END = -1  # the index of the marker that follows a unit's last batch
_DONE = object()


def read_units_ahead(
    units: Sequence[Unit], schema: pa.Schema
) -> Iterator[tuple[Unit, int, pa.RecordBatch | None]]:
    """``(unit, index, batch)`` for every batch of ``units`` in order (``read_unit``, a re-read: ids left
    null), then ``(unit, UNIT_END, None)`` after each unit, even one without batches. An error on the
    thread is raised here; a consumer that stops early stops the thread."""
    handoff: queue.Queue = queue.Queue(maxsize=AHEAD)
    stop = threading.Event()

    def give(item: object) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for unit in units:
                for index, batch in enumerate(read_unit(unit, schema, ids=False)):
                    if not give((unit, index, batch)):
                        return
                if not give((unit, UNIT_END, None)):
                    return
            give(_DONE)
        except BaseException as error:  # noqa: BLE001 - handed to the consumer, which raises it
            give(error)

    thread = threading.Thread(target=produce, name="read-ahead", daemon=True)
    thread.start()
    try:
        while (item := handoff.get()) is not _DONE:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()
