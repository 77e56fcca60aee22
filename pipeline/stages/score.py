"""Stage ``score``: per-document loss and perplexity under a SantaCoder-architecture model.

Why RunInference: it is Beam's own way to run a model in a pipeline. It loads
the model once per worker process (shared between threads) or, on a GPU
worker, once per machine (``share_model_across_processes``: one copy in GPU
memory serves every SDK process), batches elements, and the transform takes a
resource hint so Dataflow places it on GPU workers
(``accelerator: "type:nvidia-l4;count:1;install-nvidia-driver"``). The model
handler (:mod:`pipeline.stages.score_inference`, imported only when the stage
is built: it pulls in PyTorch) loads our model and tokenizer, sorts each batch by length, and
runs bf16 on a GPU (fp32 on CPU); the numbers come from ``model.score``, the
same core a direct call uses.

Where the model comes from: a Hub id, or a ``gs://`` / ``s3://`` folder that
each worker copies once (per process, through Beam's filesystems) into a local
cache; a folder on this machine only works with a runner whose workers run
here, and is refused for any other. A tokenizer given on its own goes through
``tokenizer.load`` (a local one travels with the stage as bytes); without one,
the model folder's ``tokenizer.json`` is used.

Columns: ``score_loss`` (mean token loss in nats over the first
``max_tokens`` tokens) and ``score_ppl`` (its exponential). With ``max_ppl``
set, documents above it are removed with reason ``perplexity``; empty
documents get NaN scores and are kept.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from pipeline import store
from pipeline.stages.base import StageConfig, StageContext, StageSpec
from tokenizer.load import tokenizer_ref

STAGE = "score"


class ScoreConfig(StageConfig):
    model: str = (
        "bigcode/gpt_bigcode-santacoder"  # Hub id, gs:// or s3:// folder, or a local folder (local runs)
    )
    tokenizer: str | None = None  # default: --tokenizer, else the model folder's own
    max_tokens: int = 512
    batch_size: int = 8
    max_ppl: float | None = None  # null: keep every document, only write the scores
    device: str = "auto"  # auto = cuda when present
    accelerator: str | None = None  # Beam resource hint, e.g. "type:nvidia-l4;count:1;install-nvidia-driver"
    # One model per machine for all its SDK processes; null: when the model runs on a GPU.
    share_model: bool | None = None


def fetch_model_dir(url: str, cache_root: str | None = None) -> Path:
    """A local copy of the model folder at ``url`` (``gs://``, ``s3://``, any Beam filesystem).

    The copy is made in a scratch folder and renamed into place, so processes that fetch at the same
    time never see half a model; its name comes from the listing (paths, sizes, update times), so a
    model uploaded again is fetched again. ``cache_root``: ``$STACKCURATE_MODEL_CACHE`` or the temp dir.
    """
    found = sorted(FileSystems.match([store.join(url, "**")])[0].metadata_list, key=lambda m: m.path)
    names = [store.relative(m.path, url) for m in found]
    if "config.json" not in names:
        raise FileNotFoundError(
            f"stage score: {url} holds no config.json; upload the whole model folder there"
        )
    listing = "\n".join(f"{m.path} {m.size_in_bytes} {m.last_updated_in_seconds}" for m in found)
    root = Path(cache_root or os.environ.get("STACKCURATE_MODEL_CACHE") or tempfile.gettempdir())
    target = root / "stackcurate-models" / hashlib.sha256(listing.encode()).hexdigest()[:20]
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".partial-", dir=target.parent))
    try:
        for meta, name in zip(found, names, strict=True):
            store.download(meta.path, scratch / name)
        try:
            os.rename(scratch, target)
        except OSError:  # another process renamed its complete copy into place first
            if not target.is_dir():
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target


def build(config: ScoreConfig, ctx: StageContext) -> beam.PTransform:
    from pipeline.stages.score_inference import ScoreDocs, ScoreModelHandler

    spec = config.tokenizer or ctx.tokenizer
    handler = ScoreModelHandler(
        config.model,
        tokenizer_ref(spec) if spec else None,
        config.max_tokens,
        config.batch_size,
        config.device,
        config.share_model,
    )
    return ScoreDocs(config, handler)


SPEC = StageSpec(
    name=STAGE, config=ScoreConfig, build=build, columns={"score_loss": "float64", "score_ppl": "float64"}
)


def __getattr__(name: str) -> Any:
    """``ScoreModelHandler`` on first use: RunInference's module imports PyTorch, which a run without the
    score stage never needs (importing it costs seconds of every run's start-up)."""
    if name == "ScoreModelHandler":
        from pipeline.stages.score_inference import ScoreModelHandler

        return ScoreModelHandler
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
