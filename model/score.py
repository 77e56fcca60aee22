"""Per-document model loss and perplexity: the pure core of the ``score`` stage.

Why: a code model's loss on a file is a data-quality signal (very high
perplexity flags generated, minified or garbled files); the scores are kept
as columns so thresholds can be re-decided without recomputing.

Each document is scored on its first ``max_tokens`` tokens, after an EOD
token (the document separator the model was trained with), so every one of
those tokens is predicted. Documents are sorted by length and batched with
right padding, which keeps padding small; bf16 autocast on a GPU, fp32 on CPU.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from model.tokens import TextCodec

# Documents per forward pass unless configured. On a GPU 8 leaves half of it idle: the 1.1B SantaCoder
# model on an H200 (bf16, 512 tokens, bench/model.py) scored 80k tokens/s at 8, 159k at 32, 162k at 128
# (the 47M "small": 112k, 426k, 494k). On CPU larger batches only add padding and memory.
GPU_BATCH_SIZE = 32
CPU_BATCH_SIZE = 8


def default_batch_size(device: torch.device) -> int:
    """The batch size a scorer on ``device`` uses when none is configured."""
    return GPU_BATCH_SIZE if device.type == "cuda" else CPU_BATCH_SIZE


@dataclass(frozen=True)
class DocScore:
    loss: float  # mean token cross-entropy, nats
    ppl: float  # exp(loss)
    tokens: int  # tokens scored


def _batch_nll(
    model: torch.nn.Module, rows: list[list[int]], pad_id: int, device: torch.device
) -> list[torch.Tensor]:
    """Per-row token losses (nats) of right-padded rows; row ``i`` yields ``len(rows[i]) - 1`` values."""
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = torch.tensor(row, dtype=torch.long)
        mask[i, : len(row)] = 1
    ids, mask = ids.to(device), mask.to(device)
    with torch.no_grad(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
        body, head = getattr(model, "transformer", None), getattr(model, "lm_head", None)
        if body is None or head is None:  # any other causal LM: full logits at once
            logits = model(input_ids=ids, attention_mask=mask).logits
            rows_logits = [logits[i, : len(row) - 1] for i, row in enumerate(rows)]
        else:  # GPTBigCode: the vocabulary projection one row at a time keeps memory at one row's logits
            hidden = body(input_ids=ids, attention_mask=mask).last_hidden_state
            rows_logits = (head(hidden[i, : len(row) - 1]) for i, row in enumerate(rows))
        return [
            F.cross_entropy(row_logits.float(), ids[i, 1 : len(row)], reduction="none").cpu()
            for i, (row, row_logits) in enumerate(zip(rows, rows_logits, strict=True))
        ]


def token_losses(
    model: torch.nn.Module, sequences: Sequence[list[int]], pad_id: int, batch_size: int = 8
) -> list[torch.Tensor]:
    """Token losses of each sequence (its first token is context only), batched by length."""
    device = next(model.parameters()).device
    order = sorted(range(len(sequences)), key=lambda i: len(sequences[i]))
    out: list[torch.Tensor | None] = [None] * len(sequences)
    for start in range(0, len(order), batch_size):
        chunk = [i for i in order[start : start + batch_size]]
        scorable = [i for i in chunk if len(sequences[i]) > 1]
        for i in chunk:
            if len(sequences[i]) <= 1:
                out[i] = torch.zeros(0)
        if scorable:
            for i, losses in zip(
                scorable,
                _batch_nll(model, [list(sequences[i]) for i in scorable], pad_id, device),
                strict=True,
            ):
                out[i] = losses
    return out  # type: ignore[return-value]


def score_texts(
    model: torch.nn.Module, codec: TextCodec, texts: Sequence[str], max_tokens: int = 512, batch_size: int = 8
) -> list[DocScore]:
    """Mean token loss and perplexity of each text over its first ``max_tokens`` tokens."""
    eod = codec.special.eod
    limit = min(max_tokens, model.config.n_positions - 1)
    sequences = [[eod] + ids[:limit] for ids in codec.encode_batch(list(texts))]
    scores = []
    for losses in token_losses(model, sequences, eod, batch_size):
        if len(losses) == 0:
            scores.append(DocScore(math.nan, math.nan, 0))
            continue
        loss = float(losses.double().mean())
        scores.append(DocScore(loss, math.exp(loss), len(losses)))
    return scores


class Scorer:
    """A loaded model and tokenizer behind one method, the form Beam's RunInference shares.

    Shared across the SDK processes of a GPU worker, the scorer lives in one
    process and the others hold a proxy to it: a proxy forwards method calls
    (arguments and results pickled), not attribute reads, so callers use only
    :meth:`score`. Inference only reads the model, so threads may call it at once.
    """

    def __init__(self, model: torch.nn.Module, codec: TextCodec):
        self.model = model
        self.codec = codec

    def score(self, texts: Sequence[str], max_tokens: int = 512, batch_size: int = 8) -> list[DocScore]:
        return score_texts(self.model, self.codec, list(texts), max_tokens, batch_size)
