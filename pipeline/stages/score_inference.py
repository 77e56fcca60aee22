"""The score stage's Beam side: the RunInference model handler and the keep / remove decision.

Why a module of its own: ``apache_beam.ml.inference`` imports PyTorch, seconds of start-up that only a run
with the ``score`` stage enabled should pay, so :mod:`pipeline.stages.score` (config, registry entry)
imports this module only when it builds the stage.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence
from typing import Any

import apache_beam as beam
from apache_beam.ml.inference.base import ModelHandler, PredictionResult, RunInference

from pipeline.stages.base import KEPT, MODIFIED, REMOVED, ConfigError, ledger_row, workers_run_here
from pipeline.stages.score import STAGE, ScoreConfig, fetch_model_dir
from tokenizer.load import TokenizerRef, is_remote


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
