"""Stage ``score``: per-document loss and perplexity under a SantaCoder-architecture model.

Why RunInference: it is Beam's own way to run a model in a pipeline. It loads
the model once per worker process (shared between threads) or, on a GPU
worker, once per machine (``share_model_across_processes``: one copy in GPU
memory serves every SDK process), batches elements, and the transform takes a
resource hint so Dataflow places it on GPU workers
(``accelerator: "type:nvidia-l4;count:1;install-nvidia-driver"``). The model
handler here loads our model and tokenizer, sorts each batch by length, and
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
import math
import os
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.ml.inference.base import ModelHandler, PredictionResult, RunInference

from pipeline import store
from pipeline.stages.base import (
    KEPT,
    MODIFIED,
    REMOVED,
    ConfigError,
    StageConfig,
    StageContext,
    StageSpec,
    ledger_row,
    workers_run_here,
)
from tokenizer.load import TokenizerRef, is_remote, tokenizer_ref

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


class ScoreModelHandler(ModelHandler[dict, PredictionResult, Any]):
    """Loads a ``model.score.Scorer`` once per worker process (per machine when shared); scores batches."""

    def __init__(
        self,
        model: str,
        tokenizer: TokenizerRef | None,
        max_tokens: int,
        batch_size: int,
        device: str = "auto",
        share_model: bool | None = None,
    ):
        super().__init__()
        self._model = model
        self._tokenizer = tokenizer
        self._max_tokens = max_tokens
        self._batch_size = batch_size
        self._device = device
        self._share_model = share_model

    def load_model(self) -> Any:
        from model.configs import load_model
        from model.score import Scorer
        from model.tokens import TextCodec, load_codec

        model_dir = str(fetch_model_dir(self._model)) if is_remote(self._model) else self._model
        codec = TextCodec(self._tokenizer.load()) if self._tokenizer else load_codec(model_dir)
        return Scorer(load_model(model_dir, self._device), codec)

    def share_model_across_processes(self) -> bool:
        """Asked on the worker: one copy per GPU machine, since GPU memory holds one model, not one per process."""
        if self._share_model is not None:
            return self._share_model
        from model.configs import resolve_device

        return resolve_device(self._device).type == "cuda"

    def run_inference(
        self, batch: Sequence[dict], model: Any, inference_args: dict[str, Any] | None = None
    ) -> Iterable[PredictionResult]:
        texts = [doc.get("content") or "" for doc in batch]
        scores = model.score(texts, self._max_tokens, self._batch_size)  # a Scorer, or a proxy to one
        return [PredictionResult(doc, (s.loss, s.ppl)) for doc, s in zip(batch, scores, strict=True)]

    def batch_elements_kwargs(self) -> dict[str, int]:
        return {"min_batch_size": 1, "max_batch_size": 4 * self._batch_size}

    def get_metrics_namespace(self) -> str:
        return f"stackcurate_{STAGE}"


class _Decide(beam.DoFn):
    def __init__(self, max_ppl: float | None):
        self._max_ppl = max_ppl

    def process(self, result: PredictionResult) -> Iterable[Any]:
        loss, ppl = result.inference
        doc = dict(result.example)
        doc["score_loss"] = float(loss)
        doc["score_ppl"] = float(ppl)
        if self._max_ppl is not None and not math.isnan(ppl) and ppl > self._max_ppl:
            detail = {"score_ppl": ppl, "score_loss": loss, "max_ppl": self._max_ppl}
            yield beam.pvalue.TaggedOutput(REMOVED, ledger_row(doc, STAGE, "perplexity", detail))
        else:
            yield doc


class ScoreDocs(beam.PTransform):
    """RunInference with the score handler, then the keep / remove decision."""

    def __init__(self, config: ScoreConfig, handler: ScoreModelHandler):
        super().__init__(label=f"Stage_{STAGE}")
        self._config = config
        self._handler = handler

    def expand(self, docs: beam.PCollection) -> dict[str, beam.PCollection]:
        model = self._config.model
        if not workers_run_here(docs.pipeline) and not is_remote(model) and os.path.exists(model):
            raise ConfigError(
                f"stage score: the model {model} is a folder on this machine, which this runner's workers "
                "cannot read; upload it (gcloud storage cp -r DIR gs://BUCKET/models/NAME, or to s3://) "
                "and set stages.score.model to that URL"
            )
        inference = RunInference(self._handler)
        if self._config.accelerator:
            inference = inference.with_resource_hints(accelerator=self._config.accelerator)
        outputs = (
            docs
            | "RunInference" >> inference
            | "Decide" >> beam.ParDo(_Decide(self._config.max_ppl)).with_outputs(REMOVED, main=KEPT)
        )
        modified = docs.pipeline | "NoModified" >> beam.Create([])
        return {KEPT: outputs[KEPT], REMOVED: outputs[REMOVED], MODIFIED: modified}


def build(config: ScoreConfig, ctx: StageContext) -> beam.PTransform:
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
