"""Training samples from tokenized documents, packed the Megatron way, stateless by index.

Why stateless: sample ``i`` is a pure function of (documents, seq_len, seed,
i), so a run resumed at step ``k`` reads exactly what an uninterrupted run
would, with no iterator state to save. Layout as in Megatron's GPTDataset:
documents are shuffled per epoch and concatenated (each ending with EOD), the
stream is cut into samples of ``seq_len + 1`` tokens that overlap by one token
(input and shifted target), and the sample order is shuffled.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from model.fim import FIM_RATE, FIM_SPM_RATE, apply_fim, sample_rng
from model.tokens import TextCodec


class PackedSamples:
    """``num_samples`` samples of ``seq_len + 1`` tokens over ``docs`` (arrays of token ids)."""

    def __init__(self, docs: Sequence[np.ndarray], seq_len: int, num_samples: int, seed: int, eod: int):
        if len(docs) == 0:
            raise ValueError("no training documents")
        self.docs = docs
        self.seq_len = seq_len
        self.eod = eod
        lengths = np.array([len(docs[i]) for i in range(len(docs))], dtype=np.int64)
        self.needs_eod = np.array(
            [len(docs[i]) == 0 or int(docs[i][-1]) != eod for i in range(len(docs))], dtype=bool
        )
        sizes = lengths + self.needs_eod
        tokens_per_epoch = int(sizes.sum())
        epochs = 1
        while (epochs * tokens_per_epoch - 1) // seq_len < num_samples:
            epochs += 1
        self.epochs = epochs
        self.doc_order = np.concatenate(
            [np.random.default_rng([seed, epoch]).permutation(len(docs)) for epoch in range(epochs)]
        )
        self.ends = np.cumsum(sizes[self.doc_order])
        total = int((epochs * tokens_per_epoch - 1) // seq_len)
        self.order = np.random.default_rng([seed, 1 << 20]).permutation(total)[:num_samples]

    def __len__(self) -> int:
        return len(self.order)

    def _document(self, position: int) -> np.ndarray:
        index = int(self.doc_order[position])
        tokens = np.asarray(self.docs[index], dtype=np.int64)
        return np.append(tokens, self.eod) if self.needs_eod[index] else tokens

    def __getitem__(self, i: int) -> np.ndarray:
        start = int(self.order[i]) * self.seq_len
        stop = start + self.seq_len + 1
        first = int(np.searchsorted(self.ends, start, side="right"))
        pieces = []
        position = first
        while True:
            doc_start = int(self.ends[position - 1]) if position > 0 else 0
            doc = self._document(position)
            pieces.append(doc[max(0, start - doc_start) : stop - doc_start])
            if int(self.ends[position]) >= stop:
                break
            position += 1
        return np.concatenate(pieces)


def training_batch(
    samples: PackedSamples,
    step: int,
    batch_size: int,
    codec: TextCodec,
    seed: int,
    fim_rate: float = FIM_RATE,
    fim_spm_rate: float = FIM_SPM_RATE,
) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and targets of one step: FIM applied per sample; ``<fim-pad>`` targets ignored (-100)."""
    rows = []
    for i in range(step * batch_size, (step + 1) * batch_size):
        rows.append(apply_fim(samples[i], sample_rng(seed, i), codec, fim_rate, fim_spm_rate))
    batch = np.stack(rows)
    inputs, targets = batch[:, :-1].copy(), batch[:, 1:].copy()
    targets[targets == codec.special.pad] = -100
    return inputs, targets
