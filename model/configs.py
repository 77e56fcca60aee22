"""Named SantaCoder-architecture model sizes, built on ``transformers``' GPTBigCode.

Why GPTBigCode: it is the SantaCoder architecture (GPT-2 decoder with
multi-query attention) as shipped in ``transformers``, so real SantaCoder-family
checkpoints (``bigcode/gpt_bigcode-santacoder``) and the models we train load
the same way, with ``from_pretrained``.
"""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import GPTBigCodeConfig, GPTBigCodeForCausalLM

from model.sizes import NAMED_CONFIGS

SANTACODER_VOCAB_SIZE = 49280


def padded_vocab_size(vocab_size: int, multiple: int) -> int:
    """Round the embedding table up (Megatron pads to a multiple of 128 for GPU efficiency)."""
    return -(-vocab_size // multiple) * multiple


def model_config(
    name: str, vocab_size: int, eos_token_id: int, n_positions: int | None = None
) -> GPTBigCodeConfig:
    """The ``GPTBigCodeConfig`` of a named size for a tokenizer of ``vocab_size`` tokens."""
    if name not in NAMED_CONFIGS:
        raise ValueError(f"unknown model config {name!r}; known: {', '.join(NAMED_CONFIGS)}")
    shape = dict(NAMED_CONFIGS[name])
    dropout = shape.pop("dropout")
    multiple = shape.pop("vocab_multiple")
    if n_positions is not None:
        shape["n_positions"] = n_positions
    return GPTBigCodeConfig(
        vocab_size=padded_vocab_size(vocab_size, multiple),
        multi_query=True,
        activation_function="gelu_pytorch_tanh",
        resid_pdrop=dropout,
        embd_pdrop=dropout,
        attn_pdrop=dropout,
        bos_token_id=eos_token_id,
        eos_token_id=eos_token_id,
        pad_token_id=eos_token_id,
        **shape,
    )


def build_model(config: GPTBigCodeConfig, seed: int) -> GPTBigCodeForCausalLM:
    """A freshly initialised model; the same seed gives the same weights."""
    torch.manual_seed(seed)
    return GPTBigCodeForCausalLM(config)


def count_parameters(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def resolve_device(device: str = "auto") -> torch.device:
    """``auto`` means CUDA when present, else CPU."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def load_model(path_or_id: str | Path, device: str = "auto") -> GPTBigCodeForCausalLM:
    """Load a checkpoint (ours or a Hub id such as ``bigcode/gpt_bigcode-santacoder``) for inference.

    Weights stay fp32 (CPU) or are cast to bf16 on a GPU, the precision the
    scoring stage runs in.
    """
    target = resolve_device(device)
    dtype = torch.bfloat16 if target.type == "cuda" else torch.float32
    model = GPTBigCodeForCausalLM.from_pretrained(str(path_or_id), dtype=dtype)
    model.to(target)
    model.eval()
    return model
