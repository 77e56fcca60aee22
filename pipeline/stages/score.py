"""Stage ``score``: per-document loss and perplexity under a SantaCoder-architecture model.

A per-document judge like every other stage: the framework builds it once per
worker process (``setup`` loads the model and tokenizer there, never at graph
construction, so a run without this stage never imports PyTorch), and
``judge`` scores a batch of documents with ``model.score`` (sorted by length,
``batch_size`` at a time: 32 on a GPU, 8 on CPU unless configured; bf16 on a
GPU, fp32 on CPU), the same core a direct
call uses. On a GPU machine, or with ``share_model``, one process holds the
model and the machine's other SDK processes call it through a proxy (Beam's
``MultiProcessShared``), since GPU memory holds one copy, not one per process.
The spec asks for ``accelerator`` (a Beam resource hint, e.g.
``"type:nvidia-l4;count:1;install-nvidia-driver"``) so Dataflow places the
stage on GPU workers.

Where the model comes from: a Hub id, or a ``gs://`` / ``s3://`` folder that
each worker copies once (per process, through Beam's filesystems) into a local
cache; a folder on this machine only works with a runner whose workers run
here, and is refused for any other (the spec declares it as a local path). A
tokenizer given on its own goes through ``tokenizer.load`` (a local one
travels with the stage as bytes); without one, the model folder's
``tokenizer.json`` is used.

Columns: ``score_loss`` (mean token loss in nats over the first
``max_tokens`` tokens) and ``score_ppl`` (its exponential). With ``max_ppl``
set, documents above it are removed with reason ``perplexity``; empty
documents get NaN scores and are kept.
"""

from __future__ import annotations

import functools
import hashlib
import math
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from apache_beam.io.filesystems import FileSystems
from pydantic import Field

from pipeline import store
from pipeline.stages.base import Resources, StageConfig, StageContext, StageSpec, Verdict
from tokenizer.load import TokenizerRef, tokenizer_ref

STAGE = "score"


class ScoreConfig(StageConfig):
    model: str = (
        "bigcode/gpt_bigcode-santacoder"  # Hub id, gs:// or s3:// folder, or a local folder (local runs)
    )
    tokenizer: str | None = None  # default: --tokenizer, else the model folder's own
    max_tokens: int = 512
    batch_size: int | None = Field(None, gt=0)  # null: 32 on a GPU, 8 on CPU (model.score.default_batch_size)
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


class ScoreJudge:
    """Loads a ``model.score.Scorer`` in ``setup`` (once per worker process, or per machine when shared)
    and scores batches in ``judge``; the scorer only reads the model, so the process's threads share it."""

    def __init__(
        self,
        model: str,
        tokenizer: TokenizerRef | None,
        max_tokens: int,
        batch_size: int | None,
        max_ppl: float | None = None,
        device: str = "auto",
        share_model: bool | None = None,
    ):
        self.model = model
        self.tokenizer = tokenizer
        self.max_tokens = max_tokens
        self.batch_size = batch_size
        self.max_ppl = max_ppl
        self.device = device
        self.share_model = share_model
        self.scorer: Any = None

    def load(self) -> Any:
        """The scorer: the model folder fetched from its store when remote, the tokenizer loaded."""
        from model.configs import load_model
        from model.score import Scorer
        from model.tokens import TextCodec, load_codec

        model_dir = str(fetch_model_dir(self.model)) if store.is_remote(self.model) else self.model
        codec = TextCodec(self.tokenizer.load()) if self.tokenizer else load_codec(model_dir)
        return Scorer(load_model(model_dir, self.device), codec)

    def shared_across_processes(self) -> bool:
        """Asked on the worker: one copy per GPU machine, since GPU memory holds one model, not one per process."""
        if self.share_model is not None:
            return self.share_model
        from model.configs import resolve_device

        return resolve_device(self.device).type == "cuda"

    def setup(self) -> None:
        if self.scorer is not None:
            return
        if self.batch_size is None:
            from model.configs import resolve_device
            from model.score import default_batch_size

            self.batch_size = default_batch_size(resolve_device(self.device))
        if not self.shared_across_processes():
            self.scorer = self.load()
            return
        from apache_beam.utils.multi_process_shared import MultiProcessShared

        key = repr((self.model, self.tokenizer, self.device))
        tag = f"stackcurate_score_{hashlib.sha256(key.encode()).hexdigest()[:16]}"
        self.scorer = MultiProcessShared(
            self.load, tag=tag, always_proxy=True
        ).acquire()  # a proxy: calls only

    def judge(self, docs: Sequence[dict]) -> list[Verdict]:
        texts = [doc.get("content") or "" for doc in docs]
        verdicts = []
        for score in self.scorer.score(texts, self.max_tokens, self.batch_size):
            loss, ppl = float(score.loss), float(score.ppl)
            scores = {"score_loss": loss, "score_ppl": ppl}
            if self.max_ppl is not None and not math.isnan(ppl) and ppl > self.max_ppl:
                detail = {"score_ppl": ppl, "score_loss": loss, "max_ppl": self.max_ppl}
                verdicts.append(Verdict(keep=False, reason="perplexity", detail=detail, scores=scores))
            else:
                verdicts.append(Verdict(scores=scores))
        return verdicts


def make_judge(config: ScoreConfig, ctx: StageContext) -> Callable[[], ScoreJudge]:
    spec = config.tokenizer or ctx.tokenizer
    return functools.partial(
        ScoreJudge,
        config.model,
        tokenizer_ref(spec) if spec else None,
        config.max_tokens,
        config.batch_size,
        config.max_ppl,
        config.device,
        config.share_model,
    )


def resources(config: ScoreConfig) -> Resources:
    """The GPU hint, and the model folder when it is one of this machine's (workers must run here)."""
    return Resources(
        accelerator=config.accelerator, local_paths=() if store.is_remote(config.model) else (config.model,)
    )


SPEC = StageSpec(
    name=STAGE,
    config=ScoreConfig,
    make_judge=make_judge,
    columns={"score_loss": "float64", "score_ppl": "float64"},
    resources=resources,
)
