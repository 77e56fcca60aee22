"""Stage ``score``: per-document loss and perplexity under a SantaCoder-architecture model.

Why RunInference: it is Beam's own way to run a model in a pipeline. It loads
the model once per worker process (shared between threads), batches
elements, and the transform takes a resource hint so Dataflow places it on
GPU workers (``accelerator: "type:nvidia-l4;count:1;install-nvidia-driver"``).
The model handler here loads our model and tokenizer, sorts each batch by
length, and runs bf16 on a GPU (fp32 on CPU); the numbers come from
``model.score``, the same core a direct call uses.

Columns: ``score_loss`` (mean token loss in nats over the first
``max_tokens`` tokens) and ``score_ppl`` (its exponential). With ``max_ppl``
set, documents above it are removed with reason ``perplexity``; empty
documents get NaN scores and are kept.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import apache_beam as beam
from apache_beam.ml.inference.base import ModelHandler, PredictionResult, RunInference

from pipeline.stages.base import KEPT, MODIFIED, REMOVED, StageConfig, StageContext, StageSpec, ledger_row

STAGE = "score"


class ScoreConfig(StageConfig):
    model: str = "bigcode/gpt_bigcode-santacoder"  # local checkpoint directory or Hub id
    tokenizer: str | None = None  # default: --tokenizer, else the model's own
    max_tokens: int = 512
    batch_size: int = 8
    max_ppl: float | None = None  # null: keep every document, only write the scores
    device: str = "auto"  # auto = cuda when present
    accelerator: str | None = None  # Beam resource hint, e.g. "type:nvidia-l4;count:1;install-nvidia-driver"


class LoadedScorer:
    """The model and tokenizer of one worker (a class, since Beam keeps a weak reference to it)."""

    def __init__(self, network: Any, codec: Any):
        self.network = network
        self.codec = codec


class ScoreModelHandler(ModelHandler[dict, PredictionResult, LoadedScorer]):
    """Loads (model, tokenizer) once per worker; scores a batch of documents."""

    def __init__(self, model: str, tokenizer: str, max_tokens: int, batch_size: int, device: str = "auto"):
        super().__init__()
        self._model = model
        self._tokenizer = tokenizer
        self._max_tokens = max_tokens
        self._batch_size = batch_size
        self._device = device

    def load_model(self) -> LoadedScorer:
        from model.configs import load_model
        from model.tokens import load_codec

        return LoadedScorer(load_model(self._model, self._device), load_codec(self._tokenizer))

    def run_inference(
        self, batch: Sequence[dict], model: LoadedScorer, inference_args: dict[str, Any] | None = None
    ) -> Iterable[PredictionResult]:
        from model.score import score_texts

        texts = [doc.get("content") or "" for doc in batch]
        scores = score_texts(model.network, model.codec, texts, self._max_tokens, self._batch_size)
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
    tokenizer = config.tokenizer or ctx.tokenizer or config.model
    handler = ScoreModelHandler(config.model, tokenizer, config.max_tokens, config.batch_size, config.device)
    return ScoreDocs(config, handler)


SPEC = StageSpec(
    name=STAGE, config=ScoreConfig, build=build, columns={"score_loss": "float64", "score_ppl": "float64"}
)
