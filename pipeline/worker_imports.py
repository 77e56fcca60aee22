"""Beam as a local worker process imports it: without the BigQuery, Pub/Sub and Dataflow API clients.

Why: ``import apache_beam`` imports every optional integration whose library is installed, among them the
BigQuery, Pub/Sub and Dataflow API clients (installed with ``apache-beam[gcp]``, which the Dataflow
runner needs): ~0.25 of the ~1.2 s the import takes here. A worker never runs them. In a two-worker run
the workers' parent (the zygote, ``pipeline.warm_workers``) imports Beam, the job's modules and the
stages' set-up one after the other, and the first stage waits for the longer of that chain and the
launcher's, so what the zygote leaves out starts every worker sooner; a fresh worker's import is on its
first stage's path too.

Beam imports each inside ``try``/``except ImportError``, so hiding them for the duration of that one import
leaves Beam whole without them: the local, GCS and S3 filesystems, the runners and Beam's worker harness
import as before. Afterwards they import as usual (a DoFn that names one is unpickled all the same); only
Beam's ``apache_beam.io`` namespace lacks their transforms. Where one is imported already, it is not
hidden; where Beam is, nothing is done (``cli.imports``). The launcher imports Beam whole: the user's
process keeps Beam's namespace as documented.

pandas too (~0.25 s of Beam's import here; Beam guards it the same way, and no stage of ours uses it). But
pyarrow would import it anyway on its first conversion from Python objects (``pa.array`` of a list,
``RecordBatch.from_pylist``, ``pc.fill_null``: it checks once whether pandas is there, to recognise its
objects), in each worker's first stage. So that check is made while pandas is hidden too: pyarrow then
treats Python objects as plain Python for the process, and imports pandas only when something asks for it
by name (``Table.to_pandas`` still works). Measured, the zygote's whole preload: 2.21-2.36 -> 2.07-2.23 s.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from cli.imports import hidden_while_importing

# Measured on top of Beam's import (~1.0 s without them): the BigQuery client ~0.1-0.15 s, Pub/Sub's
# ~0.05-0.1 s, with what they import in turn; pandas ~0.25 s; the Dataflow API client ~0.07 s (what the
# Dataflow runner submits a job with: a local worker never does; the runner's module still imports). Not
# pymongo (~0.04 s): Beam logs a warning when it is missing. Not the GCS client (~0.05 s): without it Beam
# has no gs:// filesystem, and a local run may read or write gs://.
NOT_IN_WORKERS = (
    "google.cloud.bigquery",
    "google.cloud.pubsub",
    "google.cloud.pubsub_v1",
    "google.cloud.dataflow",
    "pandas",
)


def import_worker_beam(hidden: Sequence[str] = NOT_IN_WORKERS) -> None:
    """Beam and its worker harness, ``hidden`` left out of Beam's import and, where pandas is, out of
    pyarrow's one check for it (see above); idempotent."""
    if "apache_beam" not in sys.modules:
        with hidden_while_importing(hidden):
            import apache_beam  # noqa: F401
            import pyarrow as pa

            pa.array([0])  # pyarrow's check for pandas, made once per process (see above)
    from apache_beam.runners.worker import sdk_worker_main  # noqa: F401
