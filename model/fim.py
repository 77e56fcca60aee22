"""Fill-in-the-middle, as SantaCoder was trained (bigcode-project/Megatron-LM, ``gpt_dataset.py``).

Why a faithful port: the ablation compares data, so the training objective
must be SantaCoder's. Per training sample (``seq_len + 1`` tokens):

* split the sample on EOD tokens; every non-empty segment, and the segment
  after the last EOD (even when empty, as in Megatron), is permuted on its own;
* ``permute``: with probability ``fim_rate`` decode the segment to characters,
  draw two uniform positions in ``[0, len(text)]`` (sorted; equal positions
  give an empty middle), re-tokenize prefix / middle / suffix, then with
  probability ``fim_spm_rate`` use SPM order
  ``<fim-prefix> <fim-suffix> suffix <fim-middle> prefix middle``,
  else PSM ``<fim-prefix> prefix <fim-suffix> suffix <fim-middle> middle``;
* rejoin with EOD, truncate or pad with ``<fim-pad>`` to the original length.

The random draws come in Megatron's order (bernoulli, two positions,
bernoulli) from a ``numpy.random.RandomState``. One difference: the state is
seeded per sample (seed, sample index) instead of one stream per dataset, so a
resumed run sees exactly the samples an uninterrupted one would.
"""

from __future__ import annotations

import numpy as np

from model.tokens import TextCodec

FIM_RATE = 0.5
FIM_SPM_RATE = 0.5


def permute(
    segment: np.ndarray, rng: np.random.RandomState, codec: TextCodec, fim_rate: float, fim_spm_rate: float
) -> np.ndarray:
    """One segment (no EOD inside) in PSM / SPM layout with probability ``fim_rate``, else unchanged."""
    if not rng.binomial(1, fim_rate):
        return segment
    text = codec.decode(segment)
    start, end = sorted(int(b) for b in rng.randint(low=0, high=len(text) + 1, size=2))
    prefix = np.array(codec.encode(text[:start]), dtype=np.int64)
    middle = np.array(codec.encode(text[start:end]), dtype=np.int64)
    suffix = np.array(codec.encode(text[end:]), dtype=np.int64)
    ids = codec.special
    if rng.binomial(1, fim_spm_rate):
        parts = [[ids.prefix, ids.suffix], suffix, [ids.middle], prefix, middle]
    else:
        parts = [[ids.prefix], prefix, [ids.suffix], suffix, [ids.middle], middle]
    return np.concatenate([np.asarray(p, dtype=np.int64) for p in parts])


def apply_fim(
    sample: np.ndarray,
    rng: np.random.RandomState,
    codec: TextCodec,
    fim_rate: float = FIM_RATE,
    fim_spm_rate: float = FIM_SPM_RATE,
) -> np.ndarray:
    """A training sample with FIM applied per document segment; same length as ``sample``."""
    sample = np.asarray(sample, dtype=np.int64)
    if fim_rate == 0:
        return sample
    eod = codec.special.eod
    breaks = np.flatnonzero(sample == eod)
    pieces: list[np.ndarray] = []
    start = 0
    for loc in breaks:
        if loc > start:
            pieces += [permute(sample[start:loc], rng, codec, fim_rate, fim_spm_rate), np.array([eod])]
        start = loc + 1
    pieces.append(permute(sample[start:], rng, codec, fim_rate, fim_spm_rate))
    out = np.concatenate(pieces).astype(np.int64)
    if len(out) > len(sample):
        return out[: len(sample)]
    if len(out) < len(sample):
        return np.concatenate([out, np.full(len(sample) - len(out), codec.special.pad, dtype=np.int64)])
    return out


def sample_rng(seed: int, index: int) -> np.random.RandomState:
    """The FIM random state of one sample: a pure function of (seed, sample index)."""
    return np.random.RandomState(np.random.SeedSequence([seed, index]).generate_state(1)[0])
