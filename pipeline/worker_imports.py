"""Beam as a local worker process imports it: without the BigQuery and Pub/Sub clients.

Why: ``import apache_beam`` imports every optional integration whose library is installed, among them the
BigQuery and Pub/Sub clients (installed with ``apache-beam[gcp]``, which the Dataflow runner needs):
~0.2 of the ~1.2 s the import takes here. A worker never runs them. In a two-worker run the workers'
parent (the zygote, ``pipeline.warm_workers``) imports Beam, the job's modules and the stages' set-up one
after the other, and the first stage waits for that chain, not for the launcher's, so what the zygote
leaves out starts every worker sooner; a fresh worker's import is on its first stage's path too.

Beam imports both inside ``try``/``except ImportError``, so hiding them for the duration of that one import
leaves Beam whole without them: the local, GCS and S3 filesystems, the runners and Beam's worker harness
import as before. Afterwards they import as usual (a DoFn that names one is unpickled all the same); only
Beam's ``apache_beam.io`` namespace lacks their transforms. Where one is imported already, it is not
hidden; where Beam is, nothing is done (``cli.imports``). The launcher imports Beam whole: the user's
process keeps Beam's namespace as documented.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from cli.imports import hidden_while_importing

# Measured on top of Beam's import (~1.0 s without them): the BigQuery client ~0.1-0.15 s, Pub/Sub's
# ~0.05-0.1 s, with what they import in turn. Not pymongo (~0.04 s): Beam logs a warning when it is
# missing. Not pandas (~0.25 s): pyarrow imports it on its first conversion from Python objects anyway.
NOT_IN_WORKERS = ("google.cloud.bigquery", "google.cloud.pubsub", "google.cloud.pubsub_v1")


def import_worker_beam(hidden: Sequence[str] = NOT_IN_WORKERS) -> None:
    """Beam and its worker harness, ``hidden`` left out of Beam's import (see above); idempotent."""
    if "apache_beam" not in sys.modules:
        with hidden_while_importing(hidden):
            import apache_beam  # noqa: F401
    from apache_beam.runners.worker import sdk_worker_main  # noqa: F401
