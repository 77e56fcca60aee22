"""The reference model's named sizes: plain data, so a command line can list them without importing torch."""

from __future__ import annotations

from typing import Any

# Shapes per named size. ``santacoder-1b`` is the paper's 1.1B model
# (bigcode/gpt_bigcode-santacoder: 24 layers, 16 heads, 2048 hidden, 8192 MLP,
# 2048 positions, vocabulary 49,152 BPE + 5 specials padded to 49,280).
# The small sizes train without dropout: ablation runs see each token about once.
NAMED_CONFIGS: dict[str, dict[str, Any]] = {
    "tiny": dict(n_layer=2, n_head=4, n_embd=128, n_positions=512, dropout=0.0, vocab_multiple=8),
    "small": dict(n_layer=8, n_head=8, n_embd=512, n_positions=1024, dropout=0.0, vocab_multiple=128),
    "santacoder-1b": dict(
        n_layer=24, n_head=16, n_embd=2048, n_inner=8192, n_positions=2048, dropout=0.1, vocab_multiple=128
    ),
}
