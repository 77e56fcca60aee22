"""MinHash signatures: equal to the plain-Python oracle, deterministic, and unbiased estimators of Jaccard."""

from __future__ import annotations

import random
import re
from pathlib import Path

import numpy as np
import pytest

from dedup.minhash import (
    MinHashParams,
    distinct_keys,
    jaccard,
    reference_signature,
    shingle_keys,
    signatures,
    signatures_of_keys,
    text_shingle_keys,
    token_hashes,
    tokenize,
)

PIECES = ["def", "x", "_y1", "return", "élan", "😀", "naïve", "0x1F", "a_b", "if", "for", "Foo", "bar9"]
SEPARATORS = [" ", "\n", "(", ")", ".", ", ", "->", "\t", "é", "—", "::", "\r\n"]


def random_text(rng: random.Random, tokens: int) -> str:
    return "".join(rng.choice(PIECES) + rng.choice(SEPARATORS) for _ in range(tokens))


@pytest.mark.parametrize("ngram", [1, 3, 5])
def test_signatures_equal_plain_python_reference(ngram: int) -> None:
    rng = random.Random(ngram)
    params = MinHashParams(ngram=ngram, num_perm=64, seed=7)
    texts = [random_text(rng, rng.randrange(ngram, 120)) for _ in range(25)]
    texts = [t for t in texts if len(tokenize(t)) >= ngram]
    fast = signatures(texts, params)  # many small docs in one kernel call
    assert fast.dtype == np.uint32 and fast.shape == (len(texts), 64)
    for text, row in zip(texts, fast, strict=True):
        assert row.tolist() == reference_signature(text, params)


def test_large_document_and_empty_batch_equal_reference() -> None:
    params = MinHashParams(ngram=5, num_perm=16, seed=1)
    text = random_text(random.Random(3), 3000)
    short = random_text(random.Random(4), 6)
    both = signatures([text, short], params)
    assert both[0].tolist() == reference_signature(text, params)
    assert both[1].tolist() == reference_signature(short, params)
    assert signatures([], params).shape == (0, 16)


def test_tokens_are_ascii_word_runs_like_the_regex_split() -> None:
    text = "naïve_x=foo.bar(1, 2)\n\t😀é_b"
    expected = [t for t in re.split(r"[^A-Za-z_0-9]", text) if t]
    assert tokenize(text) == expected == ["na", "ve_x", "foo", "bar", "1", "2", "_b"]
    assert len(token_hashes(text, 0)) == len(expected)


def test_token_hash_depends_on_token_not_position() -> None:
    hashes = token_hashes("alpha beta alpha (beta) alph alphaa", 5)
    assert hashes[0] == hashes[2] and hashes[1] == hashes[3]
    assert len(set(hashes.tolist())) == 4


def test_signature_is_pinned_across_runs_and_platforms() -> None:
    params = MinHashParams(ngram=1, num_perm=4, seed=42)
    # Pinned: a change here changes every signature and breaks comparability with earlier runs.
    assert signatures(["def foo(bar): return bar + 1"], params)[0].tolist() == reference_signature(
        "def foo(bar): return bar + 1", params
    )
    assert signatures(["def foo(bar): return bar + 1"], params)[0].tolist() == PINNED


PINNED = [614225183, 820217460, 533032600, 497946626]


def test_seed_and_order_matter() -> None:
    a, b = "one two three four five six", "six five four three two one"
    p = MinHashParams(ngram=2, num_perm=32, seed=0)
    assert not np.array_equal(signatures([a], p), signatures([b], p))
    assert not np.array_equal(
        signatures([a], p), signatures([a], MinHashParams(ngram=2, num_perm=32, seed=1))
    )
    # unigrams: same set of tokens -> same signature
    p1 = MinHashParams(ngram=1, num_perm=32, seed=0)
    assert np.array_equal(signatures([a], p1), signatures([b], p1))


def test_shingle_keys_are_a_set_and_jaccard_is_exact() -> None:
    p = MinHashParams(ngram=2, num_perm=8)
    keys = text_shingle_keys("a b a b a b c", p)  # 2-grams: {a b, b a, b c}
    all_keys = shingle_keys(token_hashes("a b a b a b c", p.seed), 2, distinct=False)
    assert list(keys) == [all_keys[0], all_keys[1], all_keys[5]]  # first occurrences, in order
    assert np.all(keys & np.uint64(1))
    other = text_shingle_keys("a b a b x", p)  # {a b, b a, b x}
    assert jaccard(keys, other) == pytest.approx(2 / 4)
    assert len(shingle_keys(token_hashes("too few", 0), 5)) == 0
    with pytest.raises(ValueError):
        signatures_of_keys([keys, keys[:0]], p)


def test_distinct_keys_is_the_set_in_first_occurrence_order() -> None:
    """Against a plain dict on real token streams (the stdlib's own sources) and on adversarial keys
    that all land on one slot (the probe wraps around the table)."""
    paths = sorted(Path(np.__file__).parent.glob("**/*.py"))[:300]
    for path in paths:
        keys = shingle_keys(token_hashes(path.read_text(errors="replace"), 0), 1, distinct=False)
        assert list(distinct_keys(keys)) == list(dict.fromkeys(keys.tolist()))
    # 83 keys: a table of 256 slots; every key hashes to the last slot, so probes wrap around
    same_slot = (
        (np.arange(39, dtype=np.uint64) * np.uint64(256) + np.uint64(255)) << np.uint64(1)
    ) | np.uint64(1)
    keys = np.concatenate([same_slot[::-1], same_slot, same_slot[:5]])
    assert list(distinct_keys(keys)) == list(same_slot[::-1])
    assert len(distinct_keys(np.empty(0, dtype=np.uint64))) == 0


def test_estimated_jaccard_is_unbiased_with_binomial_spread() -> None:
    rng = np.random.default_rng(0)
    params = MinHashParams(ngram=5, num_perm=256, seed=3)
    for target in (0.5, 0.7, 0.85):
        estimates = []
        for _ in range(150):
            shared = rng.integers(0, 2**63, 400, dtype=np.uint64) | np.uint64(1)
            only = int(round(400 * (1 - target) / target / 2))
            a = np.unique(
                np.concatenate([shared, rng.integers(0, 2**63, only, dtype=np.uint64) | np.uint64(1)])
            )
            b = np.unique(
                np.concatenate([shared, rng.integers(0, 2**63, only, dtype=np.uint64) | np.uint64(1)])
            )
            sig = signatures_of_keys([a, b], params)
            estimates.append((float(np.mean(sig[0] == sig[1])), jaccard(a, b)))
        errors = np.array([e - j for e, j in estimates])
        expected_sd = np.sqrt(target * (1 - target) / 256)
        assert abs(errors.mean()) < 0.006, (target, errors.mean())
        assert 0.75 * expected_sd < errors.std() < 1.3 * expected_sd, (target, errors.std(), expected_sd)


def test_kernels_compile_without_a_writable_cache_dir(tmp_path) -> None:
    """A locked-down worker (no writable __pycache__, no user cache dir) gets the same signatures, uncached.

    Files stand where numba would create its cache directories: that blocks them even for root.
    """
    import os
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    package = tmp_path / "dedup"
    package.mkdir()
    shutil.copy(Path(__file__).parents[2] / "dedup" / "minhash.py", package / "minhash.py")
    (package / "__init__.py").write_text("")
    (package / "__pycache__").write_text("not a directory")
    (tmp_path / "cache").write_text("not a directory")
    script = (
        "from dedup import minhash as m\n"
        "p = m.MinHashParams(ngram=2, num_perm=8, seed=3)\n"
        "text = 'def foo(bar): return bar + 1'\n"
        "assert m.signatures([text], p)[0].tolist() == m.reference_signature(text, p)\n"
        "print(type(m._signature_kernel._cache).__name__)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_")}
    # the repo root for cli, which minhash imports (dedup itself is found in tmp_path first)
    root = Path(__file__).parents[2]
    env.update(
        XDG_CACHE_HOME=str(tmp_path / "cache"),
        PYTHONPATH=os.pathsep.join([str(tmp_path), str(root)]),
        PYTHONDONTWRITEBYTECODE="1",
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "NullCache"


def test_our_kernels_skip_numbas_blas_probe_and_np_dot_still_works() -> None:
    """In a fresh process that imports our kernels' module: loading them, or any kernel first, does not
    import scipy.linalg (numba's BLAS probe, ~0.1 s), and a kernel that calls ``np.dot`` compiles and runs
    afterwards (numba imports scipy.linalg for it then)."""
    import subprocess
    import sys

    script = (
        "import sys\n"
        "import numba, numpy as np\n"
        "from dedup.minhash import load_kernels\n"
        "print(numba.njit(lambda x: x + 1)(1))\n"  # another kernel loads numba's NumPy support first
        "load_kernels()\n"
        "print('scipy.linalg' in sys.modules)\n"
        "dot = numba.njit(lambda a, b: np.dot(a, b))\n"
        "print(dot(np.arange(3.0), np.arange(3.0)))\n"
    )
    root = Path(__file__).parents[2]
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=root, capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == ["2", "False", "5.0"]


def test_kernels_load_numba_at_their_first_call_and_call_each_other_across_modules(tmp_path) -> None:
    """Importing modules that define kernels loads no numba (a launcher builds graphs naming them and runs
    none); the first call of any compiles them all, and a kernel calling another, of its module or imported
    by name from another, runs compiled. Afterwards the modules name numba's dispatchers, and a kernel
    defined then is compiled at once."""
    import subprocess
    import sys

    (tmp_path / "kernels_a.py").write_text(
        "from dedup.minhash import compiled\n"
        "@compiled\n"
        "def double(x):\n"
        "    return 2 * x\n"
        "@compiled\n"
        "def quadruple(x):\n"
        "    return double(double(x))\n"
    )
    (tmp_path / "kernels_b.py").write_text(
        "from dedup.minhash import compiled\n"
        "from kernels_a import quadruple\n"
        "@compiled\n"
        "def octuple(x):\n"
        "    return 2 * quadruple(x)\n"
    )
    script = (
        "import sys\n"
        "import kernels_a, kernels_b\n"
        "print('numba' in sys.modules)\n"
        "from concurrent.futures import ThreadPoolExecutor\n"
        "with ThreadPoolExecutor(8) as pool:\n"  # first calls from several threads at once
        "    got = list(pool.map(lambda i: (kernels_b.octuple, kernels_a.double)[i % 2](i), range(16)))\n"
        "assert got == [(8 if i % 2 == 0 else 2) * i for i in range(16)], got\n"
        "print(kernels_b.octuple(3), kernels_a.double(5))\n"
        "print('numba' in sys.modules)\n"
        "print(*sorted({type(f).__name__ for f in (kernels_a.double, kernels_a.quadruple, kernels_b.quadruple,"
        " kernels_b.octuple)}))\n"
        "from dedup.minhash import compiled\n"
        "print(type(compiled(lambda x: x)).__name__)\n"
    )
    import os

    root = Path(__file__).parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(root)])}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == ["False", "24", "10", "True", "CPUDispatcher", "CPUDispatcher"]


def test_signatures_equal_the_direct_64_bit_formula_for_every_key_count() -> None:
    """The kernel takes keys four at a time, then one at a time: every count from 1 to 40 (and long sets)
    against numpy's ``top32(a * x mod 2^64)`` over all keys, with keys using all 64 bits."""
    params = MinHashParams(ngram=5, num_perm=256, seed=7)
    a_lo, a_hi = params.multiplier_halves
    a = (a_hi.astype(np.uint64) << np.uint64(32)) | a_lo.astype(np.uint64)
    rng = np.random.default_rng(5)
    sizes = [*range(1, 41), 1000, 4097]
    sets = [rng.integers(0, 2**64 - 1, size=n, dtype=np.uint64, endpoint=True) | np.uint64(1) for n in sizes]
    expected = np.array(
        [((a[None, :] * keys[:, None]) >> np.uint64(32)).astype(np.uint32).min(axis=0) for keys in sets]
    )
    assert np.array_equal(signatures_of_keys(sets, params), expected)
