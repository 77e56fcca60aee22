"""FIM layouts exactly as SantaCoder's Megatron fork builds them."""

from __future__ import annotations

import numpy as np

from model.fim import apply_fim, permute, sample_rng


class FixedDraws:
    """A stand-in for ``RandomState`` that returns chosen draws and records the calls."""

    def __init__(self, bernoullis, boundaries):
        self.bernoullis = list(bernoullis)
        self.boundaries = list(boundaries)
        self.calls = []

    def binomial(self, n, p):
        self.calls.append(("binomial", p))
        return self.bernoullis.pop(0)

    def randint(self, low, high, size):
        self.calls.append(("randint", low, high, size))
        return np.array(self.boundaries.pop(0))


def ids(codec, text):
    return codec.encode(text)


def test_psm_layout_and_draw_order(codec):
    text = "def add(a, b):\n    return a + b\n"
    rng = FixedDraws([1, 0], [(15, 4)])  # unsorted on purpose: Megatron sorts the two positions
    out = permute(np.array(ids(codec, text)), rng, codec, 0.5, 0.5)
    s = codec.special
    expected = [
        s.prefix,
        *ids(codec, text[:4]),
        s.suffix,
        *ids(codec, text[15:]),
        s.middle,
        *ids(codec, text[4:15]),
    ]
    assert out.tolist() == expected
    assert rng.calls == [("binomial", 0.5), ("randint", 0, len(text) + 1, 2), ("binomial", 0.5)]


def test_spm_layout(codec):
    text = "x = 1\ny = 2\n"
    out = permute(np.array(ids(codec, text)), FixedDraws([1, 1], [(2, 8)]), codec, 0.5, 0.5)
    s = codec.special
    expected = [
        s.prefix,
        s.suffix,
        *ids(codec, text[8:]),
        s.middle,
        *ids(codec, text[:2]),
        *ids(codec, text[2:8]),
    ]
    assert out.tolist() == expected


def test_no_fim_leaves_segment_and_draws_once(codec):
    segment = np.array(ids(codec, "print('hi')\n"))
    rng = FixedDraws([0], [])
    assert permute(segment, rng, codec, 0.5, 0.5) is segment
    assert rng.calls == [("binomial", 0.5)]


def test_empty_middle_and_edges(codec):
    text = "abc"
    s = codec.special
    out = permute(np.array(ids(codec, text)), FixedDraws([1, 0], [(0, 0)]), codec, 1, 0)
    assert out.tolist() == [s.prefix, s.suffix, *ids(codec, text), s.middle]
    out = permute(np.array(ids(codec, text)), FixedDraws([1, 0], [(3, 3)]), codec, 1, 0)
    assert out.tolist() == [s.prefix, *ids(codec, text), s.suffix, s.middle]


def test_sample_split_on_eod_padded_to_length(codec):
    s = codec.special
    a, b = ids(codec, "a = 1\n"), ids(codec, "b = 22\n")
    sample = np.array([*a, s.eod, *b, s.eod, s.eod] + b[:2])
    # segment a: FIM PSM at (1, 3); segment b: no FIM; empty segment between the EODs is skipped
    # (its EOD is dropped, as in Megatron); tail b[:2]: no FIM.
    rng = FixedDraws([1, 0, 0, 0], [(1, 3)])
    out = apply_fim(sample, rng, codec)
    text_a = "a = 1\n"
    fim_a = [
        s.prefix,
        *ids(codec, text_a[:1]),
        s.suffix,
        *ids(codec, text_a[3:]),
        s.middle,
        *ids(codec, text_a[1:3]),
    ]
    body = [*fim_a, s.eod, *b, s.eod, *b[:2]]
    assert len(out) == len(sample)
    if len(body) <= len(sample):
        assert out.tolist() == body + [s.pad] * (len(sample) - len(body))
    else:
        assert out.tolist() == body[: len(sample)]
    assert len(rng.calls) == 5  # 3 segments: one bernoulli each, plus randint + bernoulli for the FIM one


def test_truncates_when_longer(codec):
    s = codec.special
    sample = np.array(ids(codec, "return value\n"))
    out = apply_fim(sample, FixedDraws([1, 1], [(3, 7)]), codec)
    assert len(out) == len(sample)
    assert out[:2].tolist() == [s.prefix, s.suffix]


def test_rates_with_real_rng(codec):
    """fim_rate 0.5 and spm 0.5: about half the segments permuted, half of those SPM."""
    s = codec.special
    segment = np.array(ids(codec, "for i in range(10):\n    total += i\n"))
    fim = spm = 0
    n = 2000
    for i in range(n):
        out = permute(segment, sample_rng(7, i), codec, 0.5, 0.5)
        if out is not segment:
            fim += 1
            spm += int(out[1] == s.suffix)
    assert abs(fim / n - 0.5) < 0.04
    assert abs(spm / fim - 0.5) < 0.05


def test_real_rng_reproduces_megatron_draw_sequence(codec):
    text = "while x:\n    x -= 1\n"
    segment = np.array(ids(codec, text))
    seed = 3
    while not np.random.RandomState(seed).binomial(1, 0.5):
        seed += 1
    ref = np.random.RandomState(seed)
    assert ref.binomial(1, 0.5)
    lo, hi = sorted(ref.randint(low=0, high=len(text) + 1, size=2))
    spm = ref.binomial(1, 0.5)
    out = permute(segment, np.random.RandomState(seed), codec, 0.5, 0.5).tolist()
    s = codec.special
    if spm:
        expected = [
            s.prefix,
            s.suffix,
            *ids(codec, text[hi:]),
            s.middle,
            *ids(codec, text[:lo]),
            *ids(codec, text[lo:hi]),
        ]
    else:
        expected = [
            s.prefix,
            *ids(codec, text[:lo]),
            s.suffix,
            *ids(codec, text[hi:]),
            s.middle,
            *ids(codec, text[lo:hi]),
        ]
    assert out == expected


def test_fim_rate_zero_is_identity(codec):
    sample = np.array(ids(codec, "x = 1\n") + [codec.special.eod])
    assert apply_fim(sample, sample_rng(0, 0), codec, fim_rate=0).tolist() == sample.tolist()
